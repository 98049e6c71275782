"""Webhook endpoints and the sending of deliveries (the worker's side).

A delivery is claimed by a compare-and-set on its ``next_attempt_at`` (a lease as long as the
request may take), sent outside any transaction, and its attempt recorded after: a slow
endpoint holds no lock and no transaction, and two workers never send one delivery at once.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from standardwebhooks import Webhook

from reactivation.webhooks import outbox, rules
from reactivation.webhooks.models import EVENT_TYPES, Attempt, Delivery, Endpoint, OutboxEvent

ERR_NO_EVENTS = _("Choose at least one event.")
ERR_UNKNOWN_EVENT = _("Unknown event.")
USER_AGENT = "ReactivationCRM-Webhooks/1"
SEND_BATCH = 100


class WebhookError(Exception):
    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


def _check_events(events: list[str]) -> list[str]:
    if not events:
        raise WebhookError(ERR_NO_EVENTS)
    if any(event not in EVENT_TYPES for event in events):
        raise WebhookError(ERR_UNKNOWN_EVENT)
    return [event for event in EVENT_TYPES if event in events]


@transaction.atomic
def endpoint_create(*, name: str, url: str, events: list[str], created_by: Any = None) -> Endpoint:
    """A new endpoint with a fresh secret (``endpoint.secret``: show it once)."""
    return Endpoint.objects.create(
        name=name,
        url=url,
        events=_check_events(events),
        secret=rules.secret_generate(),
        created_by=created_by,
    )


@transaction.atomic
def endpoint_update(
    *, endpoint: Endpoint, name: str, url: str, events: list[str], active: bool
) -> Endpoint:
    endpoint.name, endpoint.url, endpoint.active = name, url, active
    endpoint.events = _check_events(events)
    endpoint.save(update_fields=["name", "url", "events", "active"])
    return endpoint


@transaction.atomic
def endpoint_deactivate(*, endpoint: Endpoint) -> Endpoint:
    """No new events; deliveries still pending to it are given up (failed)."""
    Endpoint.objects.filter(pk=endpoint.pk).update(active=False)
    outbox.subscribers_changed()
    Delivery.objects.filter(endpoint=endpoint, state=Delivery.State.PENDING).update(
        state=Delivery.State.FAILED, finished_at=timezone.now(), next_attempt_at=None
    )
    endpoint.refresh_from_db()
    return endpoint


@transaction.atomic
def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    """Send a delivery again now, whatever became of it (attempts go on being recorded)."""
    from reactivation.webhooks import tasks

    Delivery.objects.filter(pk=delivery.pk).update(
        state=Delivery.State.PENDING, next_attempt_at=timezone.now(), finished_at=None
    )
    transaction.on_commit(lambda: tasks.webhooks_send_deliveries.delay([delivery.pk]))
    delivery.refresh_from_db()
    return delivery


@dataclass
class Sent:
    status_code: int | None
    error: str
    duration_ms: int
    retry_after: float | None = None


def _timeout() -> float:
    return float(settings.WEBHOOK_TIMEOUT_SECONDS)


def signed_headers(*, secret: str, msg_id: str, when: dt.datetime, body: str) -> dict[str, str]:
    """The Standard Webhooks headers for one request."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, when, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def _post(url: str, headers: dict[str, str], body: str) -> Sent:
    started = time.monotonic()
    try:
        response = requests.post(
            url,
            data=body.encode(),
            headers=headers,
            timeout=_timeout(),
            allow_redirects=False,  # a moved endpoint is the admin's to update, not to follow
        )
    except requests.RequestException as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        kind = "timeout" if isinstance(exc, requests.Timeout) else "connection error"
        return Sent(None, f"{kind}: {exc}"[:1000], elapsed)
    elapsed = int((time.monotonic() - started) * 1000)
    retry_after = rules.retry_after_seconds(response.headers.get("Retry-After"))
    return Sent(response.status_code, "", elapsed, retry_after)


def _claim(delivery_id: int, now: dt.datetime) -> bool:
    """Take the delivery if it is pending and due: its next attempt moves past the request's
    time, so another worker (or the sweep) leaves it alone while it is sent."""
    lease = now + dt.timedelta(seconds=_timeout() + 30)
    return bool(
        Delivery.objects.filter(
            pk=delivery_id, state=Delivery.State.PENDING, next_attempt_at__lte=now
        ).update(next_attempt_at=lease)
    )


def delivery_attempt(*, delivery_id: int) -> Attempt | None:
    """Send one delivery once, if it is due; record the attempt and what comes next. Steps:

    1. claim it (``_claim``); a delivery gone, finished or not yet due is left (None);
    2. sign and post the event's payload, outside any transaction, with a short timeout;
    3. 2xx: delivered; no answer, 408, 429, 5xx: tried again after an exponential wait, until
       ``WEBHOOK_MAX_ATTEMPTS``; any other answer: failed at once.
    """
    now = timezone.now()
    if not _claim(delivery_id, now):
        return None
    delivery = Delivery.objects.select_related("event", "endpoint").filter(pk=delivery_id).first()
    if delivery is None:
        return None
    event, endpoint = delivery.event, delivery.endpoint
    body = json.dumps(event.payload, ensure_ascii=False, separators=(",", ":"))
    headers = signed_headers(secret=endpoint.secret, msg_id=event.msg_id, when=now, body=body)
    sent = _post(endpoint.url, headers, body)
    number = delivery.attempts + 1
    finished = timezone.now()
    next_at = None
    if rules.is_success(sent.status_code):
        state = Delivery.State.SUCCEEDED
    elif rules.should_retry(sent.status_code) and number < settings.WEBHOOK_MAX_ATTEMPTS:
        state = Delivery.State.PENDING
        wait = rules.backoff_seconds(
            number, base=settings.WEBHOOK_RETRY_BASE_SECONDS, cap=settings.WEBHOOK_RETRY_MAX_SECONDS
        )
        if sent.retry_after is not None:  # a 429 or 503 that says when: not sooner than that
            wait = min(max(wait, sent.retry_after), settings.WEBHOOK_RETRY_MAX_SECONDS)
        next_at = finished + dt.timedelta(seconds=wait)
    else:
        state = Delivery.State.FAILED
    error = sent.error or ("" if rules.is_success(sent.status_code) else f"HTTP {sent.status_code}")
    with transaction.atomic():
        attempt = Attempt.objects.create(
            delivery_id=delivery_id,
            number=number,
            started_at=now,
            status_code=sent.status_code,
            error=error,
            duration_ms=sent.duration_ms,
            next_attempt_at=next_at,
        )
        Delivery.objects.filter(pk=delivery_id).update(
            state=state,
            attempts=number,
            next_attempt_at=next_at,
            last_status_code=sent.status_code,
            last_error=error,
            finished_at=None if state == Delivery.State.PENDING else finished,
        )
    return attempt


def deliveries_send(*, delivery_ids: list[int]) -> int:
    """Attempt each of the deliveries that is due; returns the attempts made."""
    return sum(delivery_attempt(delivery_id=pk) is not None for pk in delivery_ids)


def deliveries_send_due(*, limit: int = SEND_BATCH) -> int:
    """The sweep (beat, every minute): attempt the pending deliveries whose time has come."""
    ids = list(
        Delivery.objects.filter(state=Delivery.State.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    return deliveries_send(delivery_ids=ids)


PURGE_CHUNK = 1000


def outbox_purge(*, now: dt.datetime | None = None, chunk: int = PURGE_CHUNK) -> int:
    """Delete up to ``chunk`` events older than ``WEBHOOK_KEEP_DAYS`` whose deliveries have all
    ended (delivered or failed), with their deliveries and attempts; returns the events
    deleted. The sweep calls it each minute, so a backlog goes in small steps."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.WEBHOOK_KEEP_DAYS)
    ids = list(
        OutboxEvent.objects.filter(created_at__lt=cutoff)
        .exclude(deliveries__state=Delivery.State.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)[:chunk]
    )
    if not ids:
        return 0
    with transaction.atomic():
        Attempt.objects.filter(delivery__event_id__in=ids).delete()
        Delivery.objects.filter(event_id__in=ids).delete()
        return OutboxEvent.objects.filter(pk__in=ids).delete()[0]
