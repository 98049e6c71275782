"""Mango Office events through the webhook, signed as Mango signs them."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from reactivation.telephony.models import PhoneCall, PhoneEvent
from tests.telephony.conftest import MANGO_KEY, hook_url, mango_form

pytestmark = pytest.mark.django_db

T0 = int(dt.datetime(2026, 12, 4, 7, 0, tzinfo=dt.UTC).timestamp())


def appeared(seq=1):
    return {
        "entry_id": "MTA1NzU5MzoxMDE=",
        "call_id": "MToxMDA1NzU5Mzo1MDI6NjI1ODM4MzQ=",
        "timestamp": T0,
        "seq": seq,
        "call_state": "Appeared",
        "location": "abonent",
        "from": {"number": "79161234567"},
        "to": {
            "extension": "101",
            "number": "sip:101@vpbx.mangosip.ru",
            "line_number": "74951112233",
        },
    }


def summary(**extra):
    return {
        "entry_id": "MTA1NzU5MzoxMDE=",
        "call_direction": 1,
        "from": {"number": "79161234567"},
        "to": {"extension": "101", "number": "sip:101@vpbx.mangosip.ru"},
        "line_number": "74951112233",
        "create_time": T0,
        "forward_time": T0 + 2,
        "talk_time": T0 + 10,
        "end_time": T0 + 75,
        "entry_result": 1,
        "disconnect_reason": 1110,
        **extra,
    }


def test_signed_events_make_one_answered_call(send, mango):
    assert send(hook_url(mango, "events/call"), form=mango_form(appeared())).status_code == 200
    connected = {**appeared(seq=2), "call_state": "Connected", "timestamp": T0 + 10}
    assert send(hook_url(mango, "events/call"), form=mango_form(connected)).status_code == 200
    assert send(hook_url(mango, "events/summary"), form=mango_form(summary())).status_code == 200
    call = PhoneCall.objects.get()
    assert call.direction == "inbound"
    assert call.number == "+79161234567"
    assert call.extension == "101"
    assert call.result == "answered"
    assert call.duration == 65
    assert call.started_at == dt.datetime(2026, 12, 4, 7, 0, tzinfo=dt.UTC)
    assert call.answered_at == dt.datetime(2026, 12, 4, 7, 0, 10, tzinfo=dt.UTC)
    assert PhoneEvent.objects.count() == 3


def test_summary_alone_still_makes_the_call(send, mango):
    form = mango_form(summary(talk_time=0, entry_result=0))
    assert send(hook_url(mango, "events/summary"), form=form).status_code == 200
    call = PhoneCall.objects.get()
    assert call.result == "no_answer"
    assert call.duration == 0
    assert call.started_at == dt.datetime(2026, 12, 4, 7, 0, tzinfo=dt.UTC)


def test_a_leg_after_the_summary_keeps_the_result(send, mango):
    send(hook_url(mango, "events/summary"), form=mango_form(summary()))
    send(hook_url(mango, "events/call"), form=mango_form(appeared()))
    call = PhoneCall.objects.get()
    assert call.result == "answered"
    assert call.duration == 65


def test_a_repeated_event_is_stored_once(send, mango):
    form = mango_form(appeared())
    for _ in range(2):
        assert send(hook_url(mango, "events/call"), form=form).status_code == 200
    assert PhoneEvent.objects.count() == 1


@pytest.mark.parametrize(
    "change",
    [
        lambda f: {**f, "sign": "0" * 64},
        lambda f: {k: v for k, v in f.items() if k != "sign"},
        lambda f: {**f, "vpbx_api_key": "someone-else"},
        lambda f: {**f, "json": f["json"].replace("79161234567", "79990000000")},
    ],
    ids=["wrong sign", "no sign", "other key", "json changed"],
)
def test_a_bad_signature_is_403_and_stores_nothing(send, mango, caplog, change):
    with caplog.at_level(logging.WARNING, logger="reactivation.security"):
        response = send(hook_url(mango, "events/call"), form=change(mango_form(appeared())))
    assert response.status_code == 403
    assert PhoneEvent.objects.count() == 0
    assert PhoneCall.objects.count() == 0
    assert caplog.records


def test_signed_with_another_salt_is_refused(send, mango):
    form = mango_form(appeared(), key=MANGO_KEY, salt="another-salt")
    assert send(hook_url(mango, "events/call"), form=form).status_code == 403


def test_recording_event_keeps_the_recording(send, mango):
    send(hook_url(mango, "events/summary"), form=mango_form(summary()))
    rec = {
        "recording_id": "MToxMDA1NzU5MzoxNjI6MjQ1",
        "recording_state": "Completed",
        "seq": 3,
        "entry_id": "MTA1NzU5MzoxMDE=",
        "call_id": "MToxMDA1NzU5Mzo1MDI6NjI1ODM4MzQ=",
        "extension": "101",
        "timestamp": T0 + 80,
    }
    assert send(hook_url(mango, "events/recording"), form=mango_form(rec)).status_code == 200
    assert PhoneCall.objects.get().recording_ref == "MToxMDA1NzU5MzoxNjI6MjQ1"
