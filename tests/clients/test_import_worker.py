"""Large imports through the real background path: Redis broker and a Celery worker, also one
killed mid-import."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.files.base import ContentFile

from clients.models import Client, ImportJob, Transaction
from clients.services import import_job_queue
from reactivation.celery import app
from tests.worker import start_worker as spawn_worker
from tests.worker import stop_worker

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


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


# --- A worker killed mid-import -------------------------------------------------------------
# A real worker process (prefork, as deployed) on the test database and Redis, killed with
# SIGKILL while it reads a file: the job must still end, within its time limit, with every row
# or none.

TIME_LIMIT = 600


def pool_children(worker: subprocess.Popen) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(worker.pid)], capture_output=True, text=True
    ).stdout
    return [int(pid) for pid in out.split()]


def running_mid_file(job: ImportJob, rows: int) -> ImportJob:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.state == ImportJob.State.RUNNING and 0 < job.processed_rows < rows:
            return job
        assert job.state in (ImportJob.State.QUEUED, ImportJob.State.RUNNING), job.state
        time.sleep(0.05)
    raise AssertionError(f"the import did not get under way: {job.state} {job.processed_rows}")


def ended(job: ImportJob, seconds: float, poll=None) -> ImportJob:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if poll:
            poll()
        job.refresh_from_db()
        if job.state in (ImportJob.State.DONE, ImportJob.State.FAILED):
            return job
        time.sleep(0.5)
    raise AssertionError(f"the job did not end: {job.state} {job.processed_rows}")


@pytest.fixture
def big_job(settings, tmp_path):
    """A transactions file the Python reader takes some seconds over (phones are parsed), queued
    for import, as after its preview."""
    settings.IMPORT_JOB_TIME_LIMIT = TIME_LIMIT
    app.control.purge()
    rows = 150_000
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("client;date;amount;phone\n")
        for i in range(rows):
            handle.write(
                f"C{i % 5000};{1 + i % 28:02d}.01.2026;{i},50;+7 912 {i % 10_000_000:07d}\n"
            )
    job = ImportJob.objects.create(
        kind="transactions",
        state=ImportJob.State.QUEUED,
        original_name="big.csv",
        options={"path": str(path), "stage": "import"},
    )
    yield job, rows
    app.control.purge()


@pytest.mark.postgres
def test_a_worker_killed_mid_import_is_restarted_through_the_watchdog(big_job, login, admin_user):
    """The whole worker dies: its message waits in Redis for the broker's visibility timeout
    (hours), so the watchdog, here run by the job page as it polls, starts the job again."""
    from clients.tasks import import_run

    job, rows = big_job
    worker = spawn_worker(env={"IMPORT_JOB_TIME_LIMIT": str(TIME_LIMIT)})
    try:
        import_run.delay(job.pk)
        job = running_mid_file(job, rows)
    finally:
        stop_worker(
            worker, signal.SIGKILL
        )  # SIGKILL to the master and its pool: no chance to clean up
    killed_at = time.monotonic()
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("running", 1)
    assert not Transaction.objects.exists() and not Client.objects.exists()  # nothing partial

    admin = login(admin_user)
    worker = spawn_worker(env={"IMPORT_JOB_TIME_LIMIT": str(TIME_LIMIT)})
    try:
        job = ended(job, TIME_LIMIT, poll=lambda: admin.get(f"/import/{job.pk}/"))
    finally:
        stop_worker(worker)
    assert time.monotonic() - killed_at < TIME_LIMIT
    assert (job.state, job.attempts, job.counts["created"]) == ("done", 2, rows)
    assert Transaction.objects.count() == rows
    assert Client.objects.count() == 5000


@pytest.mark.postgres
def test_a_task_redelivered_after_its_pool_process_died_restarts_the_job(big_job):
    """Only the pool process dies: the worker hands the message back (reject on worker lost),
    and the redelivered task, finding the job running with its run lock free, starts it again."""
    from clients.tasks import import_run

    job, rows = big_job
    worker = spawn_worker(env={"IMPORT_JOB_TIME_LIMIT": str(TIME_LIMIT)})
    try:
        import_run.delay(job.pk)
        job = running_mid_file(job, rows)
        children = pool_children(worker)
        assert len(children) == 1
        os.kill(children[0], signal.SIGKILL)
        job.refresh_from_db()
        assert not Transaction.objects.exists()
        job = ended(job, TIME_LIMIT)
    finally:
        stop_worker(worker)
    assert (job.state, job.attempts, job.counts["created"]) == ("done", 2, rows)
    assert Transaction.objects.count() == rows
