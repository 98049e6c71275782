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


@shared_task(
    name="telephony.phone_recording_fetch",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(services.RecordingUnavailable, OperationalError),
    retry_backoff=60,
    max_retries=6,
)
def phone_recording_fetch(phone_call_id: int) -> bool:
    """Copy one call's recording under MEDIA_ROOT, then drop the copies past their retention."""
    call = services.recording_fetch(phone_call_id=phone_call_id)
    services.recordings_purge()
    return bool(call and call.recording_file)


@shared_task(name="telephony.phone_recordings_purge")
def phone_recordings_purge() -> int:
    return services.recordings_purge()
