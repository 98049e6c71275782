"""A large import through the real background path: Redis broker and a Celery worker."""

from __future__ import annotations

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.files.base import ContentFile

from clients.models import ImportJob, Transaction
from clients.services import import_job_queue
from reactivation.celery import app

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def wait_for(job: ImportJob, stage: str, seconds: float = 120) -> ImportJob:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.options.get("stage") == stage and job.state in (
            ImportJob.State.DONE,
            ImportJob.State.FAILED,
        ):
            return job
        time.sleep(0.2)
    raise AssertionError(f"the {stage} did not finish: {job.state} {job.processed_rows}")


def test_a_large_file_is_checked_and_imported_by_the_worker(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    rows = ["Клиент;Дата;Сумма"] + [
        f"C{i % 500};{1 + i % 28:02d}.01.2026;{i},50" for i in range(60_000)
    ]
    job = ImportJob(kind="transactions", original_name="big.csv")
    job.file.save("big.csv", ContentFile("\n".join(rows).encode("cp1251")), save=False)
    job.save()
    with start_worker(app, perform_ping_check=False, pool="solo", shutdown_timeout=30):
        import_job_queue(job=job, run=False)
        job = wait_for(job, "preview")
        assert (job.state, job.counts["created"]) == ("done", 60_000)
        assert not Transaction.objects.exists()
        import_job_queue(job=job, run=True)
        job = wait_for(job, "import")
    assert (job.state, job.processed_rows, job.total_rows) == ("done", 60_000, 60_000)
    assert Transaction.objects.count() == 60_000
