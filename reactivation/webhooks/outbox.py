"""Writing events to the outbox, inside the caller's transaction.

Every writer here is called by the service that makes the change, in its transaction: the
event commits with the change or not at all. Writers take sets (ids, or the changes of a
chunk) and write set-wise: one read of the rows, one insert of the events, one of the
deliveries, whatever the number. With no active endpoint subscribed to the event, nothing is
written. After commit the worker is asked to send (``transaction.on_commit``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from clients.models import Client, ImportJob
from reactivation.models import Case, Offer
from reactivation.webhooks import models as m
from reactivation.webhooks.models import Delivery, Endpoint, OutboxEvent

BATCH = 2000


def _iso(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


SUBSCRIBERS_KEY = "webhooks:subscribers"
SUBSCRIBERS_TTL = 300


def _read_subscribers() -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for pk, events in Endpoint.objects.filter(active=True).values_list("pk", "events"):
        for event in events or []:
            found.setdefault(event, []).append(pk)
    return found


def subscribers_changed() -> None:
    """Forget the cached subscriptions (an endpoint was saved or deleted)."""
    cache.delete(SUBSCRIBERS_KEY)


def _subscribers(event_type: str) -> bool:
    """Whether any active endpoint may want the event: the cheap gate every hook passes first,
    cached so that a change with no subscriber costs no query. ``record`` reads the endpoints
    themselves before it writes, so a stale entry can cost a query, never a wrong row."""
    found = cache.get(SUBSCRIBERS_KEY)
    if found is None:
        found = _read_subscribers()
        cache.set(SUBSCRIBERS_KEY, found, SUBSCRIBERS_TTL)
    return bool(found.get(event_type))


def record(event_type: str, items: Iterable[tuple[str, dict]]) -> int:
    """Write one event per ``(subject, data)`` and a delivery per subscribed endpoint; returns
    the events written (a subject already announced for a once-only event is skipped)."""
    endpoint_ids = _read_subscribers().get(event_type, [])
    if not endpoint_ids:
        return 0
    now = timezone.now()
    events = [
        OutboxEvent(
            msg_id=f"msg_{uuid.uuid4().hex}",
            event_type=event_type,
            subject=subject,
            payload={"type": event_type, "timestamp": now.isoformat(), "data": data},
            created_at=now,
        )
        for subject, data in items
    ]
    if not events:
        return 0
    # ignore_conflicts: a replayed step's events already exist and are not sent twice. The
    # rows are read back by their message ids (ignore_conflicts returns no keys).
    OutboxEvent.objects.bulk_create(events, batch_size=BATCH, ignore_conflicts=True)
    event_ids: list[int] = []
    msg_ids = [e.msg_id for e in events]
    for start in range(0, len(msg_ids), BATCH):
        event_ids += OutboxEvent.objects.filter(
            msg_id__in=msg_ids[start : start + BATCH]
        ).values_list("pk", flat=True)
    deliveries = [
        Delivery(event_id=event_id, endpoint_id=endpoint_id, created_at=now, next_attempt_at=now)
        for event_id in event_ids
        for endpoint_id in endpoint_ids
    ]
    Delivery.objects.bulk_create(deliveries, batch_size=BATCH, ignore_conflicts=True)
    if event_ids:
        transaction.on_commit(lambda: _send_after_commit(event_ids))
    return len(event_ids)


def _send_after_commit(event_ids: list[int]) -> None:
    from reactivation.webhooks import tasks  # the worker's side: enqueue only, never send here

    for start in range(0, len(event_ids), tasks.EVENTS_PER_TASK):
        tasks.webhooks_send_events.delay(event_ids[start : start + tasks.EVENTS_PER_TASK])


# --- The events -------------------------------------------------------------------------------------


def _case_rows(case_ids: Sequence[int], **filters: Any) -> list[dict]:
    return list(
        Case.objects.filter(pk__in=list(case_ids), **filters)
        .order_by("pk")
        .values(
            "pk",
            "client__external_id",
            "status",
            "is_control",
            "opened_on",
            "closed_on",
            "assigned_to__username",
            "won_transaction__external_id",
        )
    )


def _case_data(row: dict) -> dict:
    return {
        "id": row["pk"],
        "client": row["client__external_id"],
        "status": row["status"],
        "control": row["is_control"],
        "opened_on": _iso(row["opened_on"]),
        "closed_on": _iso(row["closed_on"]),
        "manager": row["assigned_to__username"],
        "transaction": row["won_transaction__external_id"] or None,
    }


def cases_opened(*, case_ids: Sequence[int]) -> int:
    """``case.opened`` for each of the cases."""
    if not case_ids or not _subscribers(m.CASE_OPENED):
        return 0
    return record(m.CASE_OPENED, ((f"case:{r['pk']}", _case_data(r)) for r in _case_rows(case_ids)))


def cases_opened_on(*, client_ids: Sequence[int], opened_on: dt.date) -> int:
    """``case.opened`` for the cases the gate has just opened for these clients on that day."""
    if not client_ids or not _subscribers(m.CASE_OPENED):
        return 0
    ids = Case.objects.filter(
        client_id__in=list(client_ids), opened_on=opened_on, status=Case.Status.OPEN
    ).values_list("pk", flat=True)
    return cases_opened(case_ids=list(ids))


def cases_closed(*, case_ids: Sequence[int]) -> int:
    """``case.closed`` for those of the cases that are closed now (an id still open is left)."""
    if not case_ids or not _subscribers(m.CASE_CLOSED):
        return 0
    rows = [r for r in _case_rows(case_ids) if r["status"] != Case.Status.OPEN]
    return record(m.CASE_CLOSED, ((f"case:{r['pk']}", _case_data(r)) for r in rows))


def case_closed(case: Any) -> Any:
    """``case.closed`` for one case; returns the case (so a service can return through it)."""
    if case is not None:
        cases_closed(case_ids=[case.pk])
    return case


def _offer_data(row: dict) -> dict:
    return {
        "code": row["code"],
        "client": row["client__external_id"],
        "case": row["case_id"],
        "kind": row["kind"],
        "value": str(row["value"]),
        "status": row["status"],
        "issued_on": _iso(row["issued_on"]),
        "expires_on": _iso(row["expires_on"]),
        "redeemed_on": _iso(row["redeemed_on"]),
        "transaction": row["transaction__external_id"] or None,
    }


def _offers(event_type: str, offer_ids: Sequence[int], **filters: Any) -> int:
    if not offer_ids or not _subscribers(event_type):
        return 0
    rows = (
        Offer.objects.filter(pk__in=list(offer_ids), **filters)
        .order_by("pk")
        .values(
            "pk",
            "code",
            "client__external_id",
            "case_id",
            "kind",
            "value",
            "status",
            "issued_on",
            "expires_on",
            "redeemed_on",
            "transaction__external_id",
        )
    )
    return record(event_type, ((f"offer:{r['pk']}", _offer_data(r)) for r in rows))


def offer_issued(offer: Any) -> Any:
    """``offer.issued`` for a new offer; returns the offer."""
    _offers(m.OFFER_ISSUED, [offer.pk])
    return offer


def offers_redeemed(*, offer_ids: Sequence[int]) -> int:
    """``offer.redeemed`` for those of the offers that are redeemed now."""
    return _offers(m.OFFER_REDEEMED, offer_ids, status="redeemed")


def offer_redeemed(offer: Any) -> Any:
    offers_redeemed(offer_ids=[offer.pk])
    return offer


def statuses_changed(*, changes: Sequence[tuple[int, str, str]], as_of: dt.date) -> int:
    """``client.status_changed`` for each ``(client_id, old, new)`` whose status really moved."""
    moved = [(pk, old, new) for pk, old, new in changes if old != new]
    if not moved or not _subscribers(m.CLIENT_STATUS_CHANGED):
        return 0
    external = {}
    ids = [pk for pk, _old, _new in moved]
    for start in range(0, len(ids), BATCH):
        external.update(
            Client.objects.filter(pk__in=ids[start : start + BATCH]).values_list(
                "pk", "external_id"
            )
        )
    day = as_of.isoformat()
    return record(
        m.CLIENT_STATUS_CHANGED,
        (
            (
                f"client:{pk}:{day}",
                {
                    "client": external.get(pk),
                    "from": old or "none",
                    "to": new or "none",
                    "as_of": day,
                },
            )
            for pk, old, new in moved
        ),
    )


def import_finished(*, job_id: int) -> bool:
    """``import.finished`` for an import job that has ended (done or failed), not a preview.
    Returns True, so that a caller may chain it after its own check."""
    if not _subscribers(m.IMPORT_FINISHED):
        return True
    job = (
        ImportJob.objects.filter(pk=job_id)
        .values(
            "pk", "kind", "state", "original_name", "counts", "error_count", "options", "attempts"
        )
        .first()
    )
    if job is None or job["options"].get("stage") != "import":
        return True
    if job["state"] not in (ImportJob.State.DONE, ImportJob.State.FAILED):
        return True
    data = {
        "job": job["pk"],
        "kind": job["kind"],
        "state": job["state"],
        "file": job["original_name"],
        "counts": job["counts"] or {},
        "bad_rows": job["error_count"],
    }
    record(m.IMPORT_FINISHED, [(f"import:{job['pk']}:{job['attempts']}", data)])
    return True
