"""Thin Celery wrappers over ``reactivation.telephony.services``."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from reactivation.telephony import services


@shared_task(
    name="telephony.phone_event_process",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def phone_event_process(event_id: int) -> int | None:
    """Process one stored phone event; a second run (or a gone event) does nothing."""
    call = services.event_process(event_id=event_id)
    return call.pk if call else None
