"""Recordings copied under MEDIA_ROOT after the phone system's delay, kept for the retention."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command

from reactivation.telephony.models import PhoneCall
from reactivation.telephony.services import recording_fetch, recordings_purge
from tests.factories import CaseFactory, ClientFactory
from tests.telephony.conftest import (
    ZADARMA_KEY,
    ZADARMA_SECRET,
    hook_url,
    make_account,
    zadarma_signature,
)

pytestmark = pytest.mark.django_db

AUDIO = b"ID3\x03\x00copied-recording" * 50


@pytest.fixture
def kept(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.PHONE_RECORDING_RETENTION_DAYS = 30
    return tmp_path


@pytest.fixture
def provider(httpserver):
    httpserver.expect_request(
        "/v1/pbx/record/request/", query_string={"call_id": "rec-3"}
    ).respond_with_json({"status": "success", "link": httpserver.url_for("/files/rec-3.mp3")})
    httpserver.expect_request("/files/rec-3.mp3").respond_with_data(
        AUDIO, content_type="audio/mpeg"
    )
    return make_account(
        "zadarma", key=ZADARMA_KEY, secret=ZADARMA_SECRET, base_url=httpserver.url_for("/")
    )


def record_event(send, account):
    form = {"event": "NOTIFY_RECORD", "pbx_call_id": "p-3", "call_id_with_rec": "rec-3"}
    assert send(hook_url(account), form=form, signature=zadarma_signature(form)).status_code == 200


def test_a_recording_is_copied_once_it_is_reported(kept, provider, send, httpserver):
    record_event(send, provider)
    call = PhoneCall.objects.get()
    assert call.recording_file and call.recording_fetched_at
    assert Path(call.recording_file.path).read_bytes() == AUDIO
    assert str(Path(call.recording_file.path)).startswith(str(kept))
    requests_made = len(httpserver.log)
    assert recording_fetch(phone_call_id=call.pk).recording_file == call.recording_file
    assert len(httpserver.log) == requests_made  # a second run downloads nothing


def test_the_copy_plays_when_the_phone_system_no_longer_has_it(
    kept, provider, send, httpserver, login, alice
):
    record_event(send, provider)
    call = PhoneCall.objects.get()
    call.case = CaseFactory(client=ClientFactory(manager=alice), assigned_to=alice)
    call.save()
    httpserver.clear()  # the phone system forgot it
    response = login(alice).get(f"/phone/calls/{call.pk}/recording/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == AUDIO
    assert response["Content-Type"] == "audio/mpeg"


def test_copies_past_the_retention_are_deleted(kept, provider, send):
    with time_machine.travel(dt.datetime(2026, 11, 1, tzinfo=dt.UTC), tick=False):
        record_event(send, provider)
    call = PhoneCall.objects.get()
    path = Path(call.recording_file.path)
    assert recordings_purge(now=dt.datetime(2026, 11, 30, tzinfo=dt.UTC)) == 0
    assert path.exists()
    call_command("phone_recordings_purge")  # today is past 30 days after 1 November
    call.refresh_from_db()
    assert not path.exists()
    assert not call.recording_file and call.recording_ref == "rec-3"


def test_without_a_retention_nothing_is_copied(settings, tmp_path, provider, send, httpserver):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.PHONE_RECORDING_RETENTION_DAYS = 0
    record_event(send, provider)
    assert not PhoneCall.objects.get().recording_file
    assert httpserver.log == []
    assert list(tmp_path.iterdir()) == []


def test_beat_purges_recording_copies_once_a_day():
    from reactivation.celery import app

    entries = {entry["task"]: entry for entry in app.conf.beat_schedule.values()}
    schedule = entries["telephony.phone_recordings_purge"]["schedule"]
    assert (schedule.hour, schedule.minute) == ({4}, {30})
