"""The generic signed JSON webhook (Standard Webhooks signatures)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from reactivation.telephony.models import PhoneCall, PhoneEvent
from tests.telephony.conftest import generic_headers, hook_url

pytestmark = pytest.mark.django_db


def body(**values):
    data = {
        "type": "end",
        "call_id": "g-1",
        "direction": "inbound",
        "number": "+7 916 123-45-67",
        "extension": "101",
        "at": "2026-12-04T10:01:05",
        "started_at": "2026-12-04T10:00:00",
        "duration": 50,
        "result": "answered",
        "recording_url": "https://records.example.com/g-1.mp3",
    }
    data.update(values)
    return json.dumps(data)


def test_signed_event_makes_the_call(send, generic):
    payload = body()
    response = send(hook_url(generic), json_body=payload, headers=generic_headers(payload))
    assert response.status_code == 200
    call = PhoneCall.objects.get()
    assert call.number == "+79161234567"
    assert call.result == "answered"
    assert call.duration == 50
    assert call.recording_url == "https://records.example.com/g-1.mp3"
    # A time without an offset is read in the account's timezone (Moscow by default).
    assert call.started_at == dt.datetime(2026, 12, 4, 7, 0, tzinfo=dt.UTC)


def test_wrong_signature_is_403_and_stores_nothing(send, generic):
    payload = body()
    headers = generic_headers(payload, secret="whsec_" + "A" * 44)
    assert send(hook_url(generic), json_body=payload, headers=headers).status_code == 403
    assert PhoneEvent.objects.count() == PhoneCall.objects.count() == 0


def test_missing_signature_is_403(send, generic):
    assert send(hook_url(generic), json_body=body()).status_code == 403
    assert PhoneEvent.objects.count() == 0


def test_an_old_signed_message_is_refused(send, generic):
    payload = body()
    old = dt.datetime.now(tz=dt.UTC) - dt.timedelta(hours=1)
    headers = generic_headers(payload, when=old)
    assert send(hook_url(generic), json_body=payload, headers=headers).status_code == 403


def test_a_redelivered_message_is_stored_once(send, generic):
    payload = body()
    headers = generic_headers(payload, msg_id="msg_same")
    for _ in range(2):
        assert send(hook_url(generic), json_body=payload, headers=headers).status_code == 200
    assert PhoneEvent.objects.count() == 1


def test_end_before_start_keeps_the_end(send, generic):
    first = body()
    second = body(
        type="start", at="2026-12-04T10:00:00", duration=None, result=None, recording_url=None
    )
    send(hook_url(generic), json_body=first, headers=generic_headers(first))
    send(hook_url(generic), json_body=second, headers=generic_headers(second))
    call = PhoneCall.objects.get()
    assert call.result == "answered"
    assert call.duration == 50
    assert PhoneEvent.objects.count() == 2
