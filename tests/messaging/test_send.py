"""Sending an offer: refused sends write nothing; an accepted one is a queued row, delivered by
the task after commit, once, whatever the retries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from reactivation.messaging import services
from reactivation.messaging.errors import MessageRefused
from reactivation.messaging.models import Channel, ConsentSource, Message, Purpose
from reactivation.messaging.providers.base import (
    PermanentProviderError,
    ProviderResult,
    TransientProviderError,
)
from reactivation.messaging.providers.console import ConsoleProvider
from reactivation.messaging.tasks import message_deliver_task
from reactivation.models import Offer
from tests.factories import CaseFactory, ClientFactory, OfferTemplateFactory
from tests.messaging.conftest import NOON, grant, reached_call

pytestmark = pytest.mark.django_db


def send(case, channel=Channel.SMS, now=NOON, **kwargs):
    return services.message_send(case=case, channel=channel, by=case.assigned_to, now=now, **kwargs)


def refused(case, code, channel=Channel.SMS, now=NOON, **kwargs):
    with pytest.raises(MessageRefused) as error:
        send(case, channel=channel, now=now, **kwargs)
    assert error.value.code == code
    assert str(error.value.message)
    assert not Message.objects.exists()


class Recorder(ConsoleProvider):
    """Counts the calls to the provider; ``plan`` says what each call does."""

    calls: list = []
    plan: list = []

    def send(self, message):
        Recorder.calls.append(message.pk)
        step = Recorder.plan.pop(0) if Recorder.plan else "ok"
        if isinstance(step, Exception):
            raise step
        return ProviderResult(provider_id=f"rec-{message.pk}", status="sent")


@pytest.fixture
def recorder(monkeypatch):
    from reactivation.messaging import providers

    Recorder.calls, Recorder.plan = [], []
    monkeypatch.setitem(providers.PROVIDERS, "console", Recorder)
    return Recorder


# --- Refusals: nothing written --------------------------------------------------------------------
def test_no_advertising_without_consent(case, offer):
    refused(case, "no_consent")


def test_no_advertising_after_a_withdrawal(case, offer):
    grant(case.client, at=NOON - dt.timedelta(days=5))
    grant(
        case.client, granted=False, source=ConsentSource.STOP_REPLY, at=NOON - dt.timedelta(days=1)
    )
    refused(case, "withdrawn")


def test_no_message_to_a_suppressed_number(case, offer):
    grant(case.client, at=NOON - dt.timedelta(days=5))
    services.suppression_add(value="8 916 123 45 67", source=ConsentSource.UNSUBSCRIBE)
    refused(case, "suppressed")
    refused(case, "suppressed", purpose=Purpose.SERVICE)


def test_no_message_to_a_control_client(alice):
    client = ClientFactory(phone="+79161230000")
    case = CaseFactory(client=client, is_control=True, status="open")
    grant(client)
    refused(case, "control")


def test_no_message_to_a_do_not_contact_client(case, offer):
    grant(case.client)
    case.client.do_not_contact = True
    case.client.save()
    refused(case, "do_not_contact")


def test_no_message_without_an_address_or_an_offer(case):
    grant(case.client, channel=Channel.TELEGRAM)
    refused(case, "no_address", channel=Channel.TELEGRAM)
    grant(case.client)
    refused(case, "no_offer")


def test_quiet_hours_refuse_sms_at_night_in_the_business_timezone(case, offer, settings):
    grant(case.client)
    night = NOON.replace(hour=22)
    refused(case, "quiet_hours", now=night)
    refused(case, "quiet_hours", now=NOON.replace(hour=8, minute=59))
    assert send(case, now=NOON.replace(hour=9)).status == Message.Status.QUEUED
    settings.MESSAGES_QUIET_HOURS = ""
    assert send(case, now=night).pk


def test_quiet_hours_leave_email_alone(case, offer):
    grant(case.client, channel=Channel.EMAIL)
    assert send(case, channel=Channel.EMAIL, now=NOON.replace(hour=23)).channel == "email"


def test_a_service_message_needs_a_reached_call_on_the_case(case, offer):
    refused(case, "no_call", purpose=Purpose.SERVICE)  # no advertising consent needed, but a call
    from calls.models import Call

    Call.objects.create(
        case=case, client=case.client, manager=case.assigned_to, called_at=NOON, outcome="no_answer"
    )
    refused(case, "no_call", purpose=Purpose.SERVICE)
    reached_call(case, at=NOON - dt.timedelta(days=2))
    refused(case, "no_call", purpose=Purpose.SERVICE)
    reached_call(case, at=NOON - dt.timedelta(hours=1))
    assert send(case, purpose=Purpose.SERVICE).purpose == "service"


def test_the_frequency_cap_counts_per_client_per_channel(case, offer, settings):
    settings.MESSAGES_CAP = 2
    grant(case.client)
    grant(case.client, channel=Channel.EMAIL)
    send(case, now=NOON - dt.timedelta(days=8))  # outside the 7-day window
    send(case, now=NOON - dt.timedelta(days=3))
    send(case, now=NOON - dt.timedelta(hours=1))
    with pytest.raises(MessageRefused) as error:
        send(case)
    assert error.value.code == "cap"
    assert Message.objects.filter(channel="sms").count() == 3
    assert send(case, channel=Channel.EMAIL).channel == "email"  # another channel's own cap
    # A service message (the code the client asked for on a call) is not capped.
    reached_call(case, at=NOON - dt.timedelta(minutes=5))
    assert send(case, purpose=Purpose.SERVICE).purpose == "service"


def test_a_failed_message_does_not_count_against_the_cap(case, offer, settings):
    settings.MESSAGES_CAP = 1
    grant(case.client)
    first = send(case, now=NOON - dt.timedelta(hours=2))
    Message.objects.filter(pk=first.pk).update(status=Message.Status.FAILED)
    assert send(case).pk != first.pk


# --- An accepted send ------------------------------------------------------------------------------
def test_a_send_writes_the_row_and_delivers_after_commit(
    case, offer, recorder, django_capture_on_commit_callbacks
):
    grant(case.client)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = send(case, language="ru")
    assert recorder.calls == []  # nothing leaves before the commit
    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED
    assert (message.to, message.offer, message.provider, message.purpose) == (
        "+79161234567",
        offer,
        "console",
        "advertising",
    )
    assert offer.code in message.text
    assert message.sms_parts >= 2  # Cyrillic: 67 a part
    assert len(callbacks) == 1
    callbacks[0]()
    message.refresh_from_db()
    assert recorder.calls == [message.pk]
    assert (message.status, message.provider_id, message.attempts) == (
        "sent",
        f"rec-{message.pk}",
        1,
    )
    assert message.sent_at is not None


def test_the_message_text_carries_the_offer(case, offer):
    grant(case.client)
    message = send(case, language="ru")
    assert offer.code in message.text
    assert "24.11.2026" in message.text  # 14 days after the issue
    assert "/u/" in message.text  # the unsubscribe link
    reached_call(case)
    english = send(case, language="en", channel=Channel.SMS, purpose=Purpose.SERVICE)
    assert "with code" in english.text and english.language == "en"


def test_a_retried_task_sends_once(case, offer, recorder, django_capture_on_commit_callbacks):
    grant(case.client)
    with django_capture_on_commit_callbacks(execute=True):
        message = send(case)
    assert recorder.calls == [message.pk]
    # The broker delivers the task again (a worker died after the send, acks_late): no second send.
    message_deliver_task.apply(args=[message.pk])
    services.message_deliver(message_id=message.pk)
    assert recorder.calls == [message.pk]
    message.refresh_from_db()
    assert message.attempts == 1


def test_a_claimed_message_is_not_sent_by_a_second_worker(case, offer, recorder):
    grant(case.client)
    message = send(case)
    Message.objects.filter(pk=message.pk).update(status=Message.Status.QUEUED)
    # Another worker claimed it a moment ago and is calling the provider.
    Message.objects.filter(pk=message.pk).update(status=Message.Status.SENDING)
    recorder.calls.clear()
    assert services.message_deliver(message_id=message.pk) == "sending"
    assert recorder.calls == []


def test_transient_errors_are_retried_and_the_message_sent_once(
    case, offer, recorder, django_capture_on_commit_callbacks
):
    grant(case.client)
    recorder.plan = [
        TransientProviderError("HTTP 503"),
        TransientProviderError("network: Timeout"),
        "ok",
    ]
    with django_capture_on_commit_callbacks(execute=True):
        message = send(case)
    message.refresh_from_db()
    assert len(recorder.calls) == 3
    assert (message.status, message.attempts) == ("sent", 3)


def test_the_worker_task_retries_transient_errors_with_backoff_and_sends_once(
    case, offer, recorder
):
    from reactivation.celery import app

    grant(case.client)
    message = send(case)  # no commit in this test: the task is run as the worker would
    recorder.plan = [TransientProviderError("HTTP 503"), "ok"]
    previous = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False  # let apply() follow the retry as a worker would
    try:
        result = message_deliver_task.apply(args=[message.pk])
    finally:
        app.conf.task_eager_propagates = previous
    assert result.get() == "sent"
    assert recorder.calls == [message.pk, message.pk]
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)
    assert message_deliver_task.autoretry_for == (TransientProviderError,)
    assert message_deliver_task.retry_backoff and message_deliver_task.max_retries == 5


def test_a_permanent_error_fails_at_once_with_the_providers_reason(
    case, offer, recorder, django_capture_on_commit_callbacks
):
    grant(case.client)
    recorder.plan = [PermanentProviderError("SMS.ru 202: wrong number")]
    with django_capture_on_commit_callbacks(execute=True):
        message = send(case)
    message.refresh_from_db()
    assert len(recorder.calls) == 1
    assert (message.status, message.error) == ("failed", "SMS.ru 202: wrong number")


def test_transient_errors_past_the_retries_fail_the_message(
    case, offer, recorder, django_capture_on_commit_callbacks
):
    grant(case.client)
    recorder.plan = [TransientProviderError("HTTP 502")] * 10
    with django_capture_on_commit_callbacks(execute=True):
        message = send(case)
    message.refresh_from_db()
    assert len(recorder.calls) == 6  # the first try and five retries
    assert (message.status, message.error) == ("failed", "HTTP 502")


def test_offer_send_issues_and_sends_in_one_go(case, alice):
    grant(case.client)
    template = OfferTemplateFactory()
    message = services.offer_send(
        case=case, channel=Channel.SMS, by=alice, template=template, now=NOON
    )
    assert message.offer.template == template
    # With a live offer, its code is sent again rather than a second offer issued.
    again = services.offer_send(
        case=case, channel=Channel.SMS, by=alice, template=OfferTemplateFactory(), now=NOON
    )
    assert again.offer == message.offer
    assert Offer.objects.count() == 1


def test_a_refused_offer_send_issues_nothing(case, alice):
    with pytest.raises(MessageRefused):
        services.offer_send(
            case=case, channel=Channel.SMS, by=alice, template=OfferTemplateFactory(), now=NOON
        )
    assert not Offer.objects.exists() and not Message.objects.exists()


def test_the_send_panel_says_why_each_channel_is_refused(case, offer, alice):
    from reactivation.messaging.selectors import send_panel

    grant(case.client, channel=Channel.EMAIL)
    panel = send_panel(
        case=case, user=alice, now=timezone.make_aware(dt.datetime(2026, 11, 10, 12))
    )
    options = {o.channel: o for o in panel.options}
    assert options["email"].refusal == ""
    assert "not consented" in options["sms"].refusal
    assert "no address" in options["telegram"].refusal
    assert panel.channel == "email" and panel.can_send
    assert offer.code in panel.preview.text
