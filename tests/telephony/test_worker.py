"""The webhook through the broker: the answer goes back with the event stored, and a real Celery
worker makes the call from it afterwards."""

from __future__ import annotations

import pytest

from reactivation.telephony.models import PhoneCall, PhoneEvent
from tests.telephony.conftest import (
    ZADARMA_KEY,
    ZADARMA_SECRET,
    hook_url,
    make_account,
    zadarma_signature,
)
from tests.worker import start_worker, stop_worker, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_event_is_answered_at_once_and_processed_by_a_worker(broker, client):
    account = make_account("zadarma", key=ZADARMA_KEY, secret=ZADARMA_SECRET)
    form = {
        "event": "NOTIFY_END",
        "call_start": "2026-12-04 10:00:00",
        "pbx_call_id": "w-1",
        "caller_id": "79161234567",
        "called_did": "74951112233",
        "duration": "12",
        "disposition": "answered",
        "is_recorded": "0",
    }
    response = client.post(hook_url(account), data=form, HTTP_SIGNATURE=zadarma_signature(form))
    assert response.status_code == 200
    event = PhoneEvent.objects.get()
    assert event.processed_at is None and not PhoneCall.objects.exists()
    worker = start_worker()
    try:
        wait_for(lambda: PhoneCall.objects.filter(result="answered", duration=12).exists())
    finally:
        stop_worker(worker)
    event.refresh_from_db()
    assert event.processed_at is not None
