"""Zadarma / Novofon notifications through the webhook, signed as Zadarma signs them."""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo

import pytest

from reactivation.telephony.models import PhoneCall, PhoneEvent
from tests.factories import ClientFactory
from tests.telephony.conftest import hook_url, zadarma_signature

pytestmark = pytest.mark.django_db

MOSCOW = zoneinfo.ZoneInfo("Europe/Moscow")


def start(call_id="in-1", caller="79161234567", at="2026-12-04 10:00:00"):
    return {
        "event": "NOTIFY_START",
        "call_start": at,
        "pbx_call_id": call_id,
        "caller_id": caller,
        "called_did": "74951112233",
    }


def end(call_id="in-1", caller="79161234567", at="2026-12-04 10:00:00", **extra):
    return {
        "event": "NOTIFY_END",
        "call_start": at,
        "pbx_call_id": call_id,
        "caller_id": caller,
        "called_did": "74951112233",
        "internal": "101",
        "duration": "65",
        "disposition": "answered",
        "status_code": "16",
        "is_recorded": "1",
        "call_id_with_rec": "rec-1",
        **extra,
    }


def test_signed_start_is_stored_and_makes_a_call(send, zadarma):
    form = start()
    response = send(hook_url(zadarma), form=form, signature=zadarma_signature(form))
    assert response.status_code == 200
    assert PhoneEvent.objects.count() == 1
    call = PhoneCall.objects.get()
    assert call.direction == "inbound"
    assert call.number == "+79161234567"
    assert call.result == PhoneCall.Result.IN_PROGRESS
    assert call.started_at == dt.datetime(2026, 12, 4, 10, 0, tzinfo=MOSCOW)
    assert PhoneEvent.objects.get().processed_at is not None


def test_event_times_are_read_in_the_accounts_timezone(send, zadarma):
    zadarma.timezone = "Asia/Yekaterinburg"
    zadarma.save()
    form = start()
    send(hook_url(zadarma), form=form, signature=zadarma_signature(form))
    started = PhoneCall.objects.get().started_at
    assert started == dt.datetime(2026, 12, 4, 5, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("signature", [None, "", "bm90IHRoZSBzaWduYXR1cmU="])
def test_missing_or_wrong_signature_is_403_and_stores_nothing(send, zadarma, caplog, signature):
    form = end()
    with caplog.at_level(logging.WARNING, logger="reactivation.security"):
        response = send(hook_url(zadarma), form=form, signature=signature)
    assert response.status_code == 403
    assert PhoneEvent.objects.count() == 0
    assert PhoneCall.objects.count() == 0
    assert any(
        "signature" in r.getMessage() for r in caplog.records if r.name == "reactivation.security"
    )


def test_signature_with_another_secret_is_refused(send, zadarma):
    form = end()
    response = send(hook_url(zadarma), form=form, signature=zadarma_signature(form, "other-secret"))
    assert response.status_code == 403
    assert PhoneCall.objects.count() == 0


def test_a_signed_field_changed_after_signing_is_refused(send, zadarma):
    form = end()
    signature = zadarma_signature(form)
    form["caller_id"] = "79990000000"
    assert send(hook_url(zadarma), form=form, signature=signature).status_code == 403
    assert PhoneEvent.objects.count() == 0


def test_wrong_token_is_403_and_stores_nothing(send, zadarma, caplog):
    form = end()
    with caplog.at_level(logging.WARNING, logger="reactivation.security"):
        response = send(
            "/hooks/phone/zadarma/not-the-token/", form=form, signature=zadarma_signature(form)
        )
    assert response.status_code == 403
    assert PhoneEvent.objects.count() == 0
    assert PhoneCall.objects.count() == 0
    assert any("token" in r.getMessage() for r in caplog.records)


def test_token_of_another_provider_is_refused(send, zadarma):
    form = end()
    url = f"/hooks/phone/mango/{zadarma.webhook_token}/"
    assert send(url, form=form, signature=zadarma_signature(form)).status_code == 403


def test_zd_echo_check_is_answered_with_its_value(client, zadarma):
    response = client.get(hook_url(zadarma), {"zd_echo": "abc123XYZ"})
    assert response.status_code == 200
    assert response.content == b"abc123XYZ"


def test_zd_echo_with_a_wrong_token_is_refused(client, zadarma):
    assert client.get("/hooks/phone/zadarma/wrong/", {"zd_echo": "abc"}).status_code == 403


def test_a_repeated_delivery_is_stored_once(send, zadarma):
    form = end()
    for _ in range(3):
        assert (
            send(hook_url(zadarma), form=form, signature=zadarma_signature(form)).status_code == 200
        )
    assert PhoneEvent.objects.count() == 1
    call = PhoneCall.objects.get()
    assert call.duration == 65


def test_end_without_start_still_makes_the_call(send, zadarma):
    form = end(disposition="no answer", duration="0", is_recorded="0")
    send(hook_url(zadarma), form=form, signature=zadarma_signature(form))
    call = PhoneCall.objects.get()
    assert call.result == PhoneCall.Result.NO_ANSWER
    assert call.started_at == dt.datetime(2026, 12, 4, 10, 0, tzinfo=MOSCOW)
    assert call.ended_at is not None
    assert call.recording_ref == ""


def test_start_after_end_does_not_undo_the_result(send, zadarma):
    first, second = end(), start()
    send(hook_url(zadarma), form=first, signature=zadarma_signature(first))
    send(hook_url(zadarma), form=second, signature=zadarma_signature(second))
    call = PhoneCall.objects.get()
    assert call.result == PhoneCall.Result.ANSWERED
    assert call.duration == 65
    assert call.recording_ref == "rec-1"
    assert PhoneEvent.objects.count() == 2


@pytest.mark.parametrize(
    ("disposition", "result"),
    [
        ("answered", "answered"),
        ("busy", "busy"),
        ("cancel", "cancelled"),
        ("no answer", "no_answer"),
        ("failed", "failed"),
        ("no money", "failed"),
    ],
)
def test_dispositions_become_results(send, zadarma, disposition, result):
    form = end(disposition=disposition)
    send(hook_url(zadarma), form=form, signature=zadarma_signature(form))
    assert PhoneCall.objects.get().result == result


def test_outbound_call_and_its_recording(send, zadarma, alice):
    from reactivation.telephony.services import extension_set

    extension_set(user=alice, extension="101")
    client = ClientFactory(phone="+79161234567")
    events = [
        {
            "event": "NOTIFY_OUT_START",
            "call_start": "2026-12-04 11:00:00",
            "pbx_call_id": "out-1",
            "internal": "101",
            "destination": "79161234567",
        },
        {
            "event": "NOTIFY_OUT_END",
            "call_start": "2026-12-04 11:00:00",
            "pbx_call_id": "out-1",
            "internal": "101",
            "destination": "79161234567",
            "caller_id": "74951112233",
            "duration": "30",
            "disposition": "answered",
            "status_code": "16",
            "is_recorded": "1",
            "call_id_with_rec": "1700000000.123",
        },
        {"event": "NOTIFY_RECORD", "pbx_call_id": "out-1", "call_id_with_rec": "1700000000.123"},
    ]
    for form in events:
        assert (
            send(hook_url(zadarma), form=form, signature=zadarma_signature(form)).status_code == 200
        )
    call = PhoneCall.objects.get()
    assert call.direction == "outbound"
    assert call.manager == alice
    assert call.client == client
    assert call.duration == 30
    assert call.recording_ref == "1700000000.123"


def test_environment_account_receives_with_its_token(send, settings, db):
    settings.PHONE_PROVIDER = "zadarma"
    settings.PHONE_API_KEY, settings.PHONE_API_SECRET = "env-key", "env-secret"
    settings.PHONE_WEBHOOK_TOKEN = "env-token-0123456789"
    form = start()
    url = "/hooks/phone/zadarma/env-token-0123456789/"
    assert send(url, form=form, signature=zadarma_signature(form, "env-secret")).status_code == 200
    assert PhoneCall.objects.get().account.from_environment
    assert send(url, form=form, signature=zadarma_signature(form, "other")).status_code == 403


def test_environment_without_a_token_accepts_nothing(send, settings, db):
    settings.PHONE_PROVIDER = "zadarma"
    settings.PHONE_API_SECRET, settings.PHONE_WEBHOOK_TOKEN = "env-secret", ""
    form = start()
    response = send(
        "/hooks/phone/zadarma/x/", form=form, signature=zadarma_signature(form, "env-secret")
    )
    assert response.status_code == 403


def test_a_failure_while_processing_keeps_the_event_for_later(send, zadarma, monkeypatch):
    from django.core.management import call_command

    from reactivation.telephony import services

    def broken(call, event):
        raise RuntimeError("a bug")

    monkeypatch.setattr(services, "_apply", broken)
    form = end()
    assert send(hook_url(zadarma), form=form, signature=zadarma_signature(form)).status_code == 200
    event = PhoneEvent.objects.get()
    assert event.processed_at is None and "a bug" in event.error
    assert PhoneCall.objects.count() == 0
    monkeypatch.undo()
    call_command("phone_events_process", "--older-than", "0")
    event.refresh_from_db()
    assert event.processed_at is not None and event.error == ""
    assert PhoneCall.objects.get().result == "answered"


def test_the_call_is_the_managers_who_picked_up(send, zadarma, alice, bob):
    from reactivation.telephony.services import extension_set

    extension_set(user=alice, extension="101")
    extension_set(user=bob, extension="102")
    rang = {**start(), "event": "NOTIFY_INTERNAL", "internal": "101"}
    answered = {
        "event": "NOTIFY_ANSWER",
        "call_start": "2026-12-04 10:00:00",
        "pbx_call_id": "in-1",
        "caller_id": "79161234567",
        "destination": "102",
        "internal": "102",
    }
    for form in (rang, answered):
        assert (
            send(hook_url(zadarma), form=form, signature=zadarma_signature(form)).status_code == 200
        )
    call = PhoneCall.objects.get()
    assert (call.extension, call.manager) == ("102", bob)
