from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from reactivation.messaging.models import Channel, ConsentSource, Purpose
from reactivation.messaging.services import consent_record
from reactivation.services.offers import offer_issue
from tests.factories import CaseFactory, ClientFactory, OfferTemplateFactory

MSK = ZoneInfo("Europe/Moscow")
# Noon in Moscow on a weekday: outside the default quiet hours (21-9).
NOON = dt.datetime(2026, 11, 10, 12, 0, tzinfo=MSK)
TODAY = NOON.date()


@pytest.fixture(autouse=True)
def _messaging_settings(settings):
    settings.TIME_ZONE = "Europe/Moscow"
    settings.SMS_PROVIDER = "console"
    settings.MESSAGES_QUIET_HOURS = "21-9"
    settings.MESSAGES_CAP = 2
    settings.MESSAGES_CAP_DAYS = 7
    settings.MESSAGES_PUBLIC_URL = "https://crm.example.com"
    settings.TELEGRAM_BOT_TOKEN = ""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def case(alice):
    client = ClientFactory(
        name="Иван Петров", phone="+79161234567", email="ivan@example.com", manager=alice
    )
    return CaseFactory(client=client, assigned_to=alice, opened_on=TODAY)


@pytest.fixture
def offer(case, alice):
    return offer_issue(
        case=case, template=OfferTemplateFactory(name="Скидка 10%"), by=alice, today=TODAY
    )


def grant(client, channel=Channel.SMS, purpose=Purpose.ADVERTISING, at=None, **kwargs):
    return consent_record(
        client=client,
        channel=channel,
        purpose=purpose,
        granted=kwargs.pop("granted", True),
        source=kwargs.pop("source", ConsentSource.CALL),
        text_version=kwargs.pop("text_version", "v1"),
        at=at or NOON - dt.timedelta(days=1),
        **kwargs,
    )


def reached_call(case, at=None):
    """A reached call on the case: what a service message (the code asked for) follows."""
    from calls.models import Call

    return Call.objects.create(
        case=case,
        client=case.client,
        manager=case.assigned_to,
        called_at=at or NOON,
        outcome="reached",
    )
