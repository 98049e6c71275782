"""Background imports: thin Celery wrappers over ``clients.services``.

Each run task takes the ImportJob id and calls ``import_job_run``, which claims the job (a
second delivery of a finished job does nothing; a redelivery after the worker died starts the
job again) and records progress and outcome on the row the page polls. While the dead run's
database session is still finishing, the run lock is held: the task tries again a little later.
The watchdog runs every minute from beat.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from clients import services


def _run(task, job_id: int, *, dry_run: bool) -> None:
    try:
        services.import_job_run(job_id=job_id, dry_run=dry_run)
    except services.JobBusy as exc:
        if task.request.is_eager:
            return  # in-process: nothing else can be running it; the watchdog decides
        raise task.retry(
            exc=exc,
            countdown=services.BUSY_RETRY_SECONDS,
            max_retries=settings.IMPORT_JOB_TIME_LIMIT // services.BUSY_RETRY_SECONDS + 1,
        ) from exc


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def import_preview(self, job_id: int) -> None:
    _run(self, job_id, dry_run=True)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def import_run(self, job_id: int) -> None:
    _run(self, job_id, dry_run=False)


@shared_task(name="clients.import_watchdog")
def import_watchdog() -> int:
    return services.import_jobs_watch()
