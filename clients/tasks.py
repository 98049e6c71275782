"""Background imports: thin Celery wrappers over ``clients.services.import_job_run``.

Each task takes the ImportJob id, claims the job (a second delivery finds it already running or
done and does nothing) and records progress and outcome on the row the page polls.
"""

from __future__ import annotations

from celery import shared_task

from clients import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def import_preview(job_id: int) -> None:
    services.import_job_run(job_id=job_id, dry_run=True)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def import_run(job_id: int) -> None:
    services.import_job_run(job_id=job_id, dry_run=False)
