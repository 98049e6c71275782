"""Thin Celery wrappers for the API room's scheduled work."""

from __future__ import annotations

from celery import shared_task

from reactivation.api import dropfolder


@shared_task(name="api.import_drop_folder", acks_late=True)
def import_drop_folder() -> dict:
    outcome = dropfolder.drop_folder_scan()
    return {"done": outcome.done, "failed": outcome.failed}
