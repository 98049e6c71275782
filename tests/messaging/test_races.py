"""Races, run for real on PostgreSQL: two workers delivering one message send it once; two
clicks past the cap send one message."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from reactivation.messaging import providers, services
from reactivation.messaging.errors import MessageRefused
from reactivation.messaging.models import Channel, Message, MessageTemplate
from reactivation.messaging.providers.base import ProviderResult
from reactivation.messaging.providers.console import ConsoleProvider
from reactivation.services.offers import offer_issue
from tests.factories import CaseFactory, ClientFactory, OfferTemplateFactory, UserFactory
from tests.messaging.conftest import NOON, TODAY, grant

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(target, count):
    barrier = threading.Barrier(count)
    results = []

    def run():
        try:
            barrier.wait()
            results.append(target())
        except Exception as error:  # noqa: BLE001 - the refusals are the outcome under test
            results.append(error)
        finally:
            connection.close()  # a kept connection would outlive the thread

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_workers_delivering_one_message_send_it_once(monkeypatch):
    calls = []

    class Slow(ConsoleProvider):
        def send(self, message):
            calls.append(message.pk)
            return ProviderResult(provider_id=f"p-{message.pk}")

    monkeypatch.setitem(providers.PROVIDERS, "console", Slow)
    manager = UserFactory(username="racer", role="manager")
    case = CaseFactory(client=ClientFactory(phone="+79160000001"), assigned_to=manager)
    message = Message.objects.create(
        case=case,
        client=case.client,
        channel="sms",
        purpose="advertising",
        to="+79160000001",
        text="x",
        provider="console",
    )
    results = run_together(lambda: services.message_deliver(message_id=message.pk), 6)
    assert calls == [message.pk]
    # The losers leave the row alone and report what it was when they looked.
    assert all(result in ("sending", "sent") for result in results)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)


def test_two_clicks_past_the_cap_send_one_message(settings):
    settings.MESSAGES_CAP = 1
    MessageTemplate.objects.get_or_create(
        offer_template=None, channel="sms", language="ru", defaults={"body": "{offer_code}"}
    )
    manager = UserFactory(username="clicker", role="manager")
    case = CaseFactory(
        client=ClientFactory(phone="+79160000002"), assigned_to=manager, opened_on=TODAY
    )
    offer_issue(case=case, template=OfferTemplateFactory(), by=manager, today=TODAY)
    grant(case.client)
    results = run_together(
        lambda: services.message_send(
            case=case, channel=Channel.SMS, by=manager, now=NOON, language="ru"
        ),
        4,
    )
    sent = [r for r in results if isinstance(r, Message)]
    refused = [r for r in results if isinstance(r, MessageRefused)]
    assert len(sent) == 1 and [r.code for r in refused] == ["cap"] * 3
    assert Message.objects.count() == 1
