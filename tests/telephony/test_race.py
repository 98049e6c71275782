"""Events of one new call processed by several workers at once make one call."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from reactivation.telephony.adapters import CallEvent
from reactivation.telephony.models import PhoneCall, PhoneEvent
from reactivation.telephony.services import event_process
from tests.telephony.conftest import ZADARMA_KEY, ZADARMA_SECRET, make_account


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_events_of_a_new_call_make_one_call():
    account = make_account("zadarma", key=ZADARMA_KEY, secret=ZADARMA_SECRET)
    start = dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.UTC)
    kinds = [
        CallEvent(
            key=f"k-{n}",
            kind=kind,
            call_id="race-1",
            at=start + dt.timedelta(seconds=n),
            started_at=start,
            direction="inbound",
            number="+79161234567",
            duration=40 if kind == "end" else None,
            result="answered" if kind == "end" else "",
        )
        for n, kind in enumerate(["start", "answer", "end", "record", "start", "answer"])
    ]
    ids = [
        PhoneEvent.objects.create(
            account=account, key=e.key, kind=e.kind, call_id=e.call_id, data=e.as_dict()
        ).pk
        for e in kinds
    ]
    barrier = threading.Barrier(len(ids))
    errors = []

    def work(event_id):
        try:
            barrier.wait()
            event_process(event_id=event_id)
        except Exception as exc:  # noqa: BLE001 (the assertion below shows it)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    call = PhoneCall.objects.get()
    assert call.result == "answered" and call.duration == 40
    assert PhoneEvent.objects.filter(processed_at__isnull=True).count() == 0
    # A second delivery of the same work changes nothing.
    assert event_process(event_id=ids[0]) is None
