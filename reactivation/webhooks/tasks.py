"""Thin Celery wrappers: the worker sends, the product never waits for an endpoint."""

from __future__ import annotations

from celery import shared_task

from reactivation.webhooks import services
from reactivation.webhooks.models import Delivery

EVENTS_PER_TASK = 50


@shared_task(name="webhooks.send_events", acks_late=True)
def webhooks_send_events(event_ids: list[int]) -> int:
    ids = list(
        Delivery.objects.filter(event_id__in=event_ids, state=Delivery.State.PENDING).values_list(
            "pk", flat=True
        )
    )
    return services.deliveries_send(delivery_ids=ids)


@shared_task(name="webhooks.send_deliveries", acks_late=True)
def webhooks_send_deliveries(delivery_ids: list[int]) -> int:
    return services.deliveries_send(delivery_ids=delivery_ids)


@shared_task(name="webhooks.sweep", acks_late=True)
def webhooks_sweep() -> int:
    services.outbox_purge()
    return services.deliveries_send_due()
