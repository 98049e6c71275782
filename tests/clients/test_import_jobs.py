"""Import jobs always end: a dead run is started again, a live one is left alone, the watchdog
fails what outlives its time limit, and the statistics are kept after a bulk write."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import psycopg
import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from clients import services, tasks
from clients.importing import errors, runlock
from clients.models import Client, ImportJob, Transaction
from clients.stats import rebuild_stats

pytestmark = pytest.mark.django_db

ROWS = "client;date;amount\n" + "".join(f"C{i};2026-02-01;{i}\n" for i in range(50))


def busy_job(tmp_path, *, state: str = "running", attempts: int = 1, stage: str = "import"):
    """A job as a worker left it: marked running (or queued) for ``stage``."""
    path = tmp_path / "sales.csv"
    path.write_text(ROWS)
    now = timezone.now()
    return ImportJob.objects.create(
        kind="transactions",
        state=state,
        attempts=attempts,
        started_at=now if state == "running" else None,
        queued_at=now,
        options={"path": str(path), "stage": stage},
    )


def other_session():
    """A second PostgreSQL session, as a live worker's would be."""
    db = connection.settings_dict
    return psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        autocommit=True,
    )


@contextmanager
def live_run(job: ImportJob) -> Iterator[None]:
    """Hold the job's run lock from another session, as a live worker does (PostgreSQL)."""
    if connection.vendor != "postgresql":
        yield
        return
    with other_session() as live:
        live.execute("SELECT pg_advisory_lock(%s, %s)", (runlock.LOCK_CLASS, job.pk))
        yield


@pytest.mark.postgres
def test_a_redelivered_task_starts_a_dead_run_again_from_the_start(tmp_path):
    job = busy_job(tmp_path)  # its worker died: nobody holds its run lock
    assert services.import_job_run(job_id=job.pk, dry_run=False) is not None
    job.refresh_from_db()
    assert (job.state, job.attempts, job.counts["created"]) == ("done", 2, 50)
    assert Transaction.objects.count() == 50


@pytest.mark.postgres
def test_a_live_run_is_left_alone_by_a_second_delivery_and_the_watchdog(tmp_path):
    job = busy_job(tmp_path)
    with live_run(job):
        with pytest.raises(services.JobBusy):
            services.import_job_run(job_id=job.pk, dry_run=False)
        assert services.import_jobs_watch() == 0
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("running", 1)
    assert not Transaction.objects.exists()


@pytest.mark.postgres
def test_a_job_that_died_every_time_is_failed_with_a_reason(settings, tmp_path):
    settings.IMPORT_JOB_MAX_ATTEMPTS = 3
    job = busy_job(tmp_path, attempts=3)
    assert services.import_job_run(job_id=job.pk, dry_run=False) is None
    job.refresh_from_db()
    assert job.state == "failed"
    assert job.options["file_error"] == {"code": errors.INTERRUPTED, "params": {"attempts": 3}}
    assert not Transaction.objects.exists()


@pytest.mark.postgres
def test_the_watchdog_queues_a_dead_run_again_and_it_completes(
    tmp_path, django_capture_on_commit_callbacks
):
    job = busy_job(tmp_path)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.import_jobs_watch() == 1
    job.refresh_from_db()
    assert (job.state, job.attempts, Transaction.objects.count()) == ("done", 2, 50)


def test_a_running_job_nobody_can_tell_dead_is_not_taken_over(tmp_path):
    """SQLite has no run lock to ask, so only the time limit ends a running job there; on
    PostgreSQL a held lock says the run is alive. Either way a second delivery does not start
    it again and the watchdog leaves it running."""
    job = busy_job(tmp_path)
    with live_run(job):
        if connection.vendor == "postgresql":
            with pytest.raises(services.JobBusy):
                services.import_job_run(job_id=job.pk, dry_run=False)
        else:
            assert services.import_job_run(job_id=job.pk, dry_run=False) is None
        assert services.import_jobs_watch() == 0
    job.refresh_from_db()
    assert job.state == "running"
    assert not Transaction.objects.exists()


def test_the_watchdog_fails_a_job_running_past_its_time_limit(
    settings, tmp_path, login, admin_user
):
    settings.IMPORT_JOB_TIME_LIMIT = 3600
    job = busy_job(tmp_path)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=61), tick=False):
        page = login(admin_user).get(f"/import/{job.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    job.refresh_from_db()
    assert job.state == "failed"
    assert job.options["file_error"] == {"code": errors.TIMED_OUT, "params": {"minutes": 60}}
    assert b"ran longer than 60 minutes and was stopped" in page.content
    assert b"hx-trigger" not in page.content  # no more polling


def test_the_watchdog_fails_a_job_no_worker_took(settings, tmp_path):
    settings.IMPORT_JOB_TIME_LIMIT = 3600
    job = busy_job(tmp_path, state="queued", attempts=0)
    assert services.import_jobs_watch() == 0
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=61), tick=False):
        assert services.import_jobs_watch() == 1
    job.refresh_from_db()
    assert (job.state, job.options["file_error"]["code"]) == ("failed", errors.NOT_STARTED)


def test_the_watchdog_task_is_in_the_beat_schedule():
    from reactivation.celery import app

    entries = {entry["task"]: entry for entry in app.conf.beat_schedule.values()}
    assert entries["clients.import_watchdog"]["schedule"] <= 60
    assert tasks.import_watchdog.name == "clients.import_watchdog"


def test_a_task_for_the_other_stage_leaves_the_job_alone(tmp_path):
    job = busy_job(tmp_path, state="queued", attempts=0, stage="import")
    assert services.import_job_run(job_id=job.pk, dry_run=True) is None  # a stale preview
    job.refresh_from_db()
    assert job.state == "queued"


def test_a_busy_job_makes_the_task_try_again_later(monkeypatch):
    def busy(**kwargs):
        raise services.JobBusy(1)

    monkeypatch.setattr(services, "import_job_run", busy)
    retried = {}

    def retry(**kwargs):
        retried.update(kwargs)
        return RuntimeError("retry")

    task = SimpleNamespace(request=SimpleNamespace(is_eager=False), retry=retry)
    with pytest.raises(RuntimeError, match="retry"):
        tasks._run(task, 1, dry_run=False)
    assert retried["countdown"] == services.BUSY_RETRY_SECONDS
    assert retried["max_retries"] > 1


# --- Statistics after a bulk write ----------------------------------------------------------


def believed_rows(table: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_import_leaves_the_loaded_tables_analyzed(tmp_path):
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE clients_transaction, clients_client CASCADE")
    assert believed_rows("clients_transaction") < 1
    path = tmp_path / "sales.csv"
    path.write_text(ROWS)
    call_command("import_transactions", str(path))
    assert believed_rows("clients_transaction") == 50
    assert believed_rows("clients_client") == 50
    assert believed_rows("clients_clientstats") == 50


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_rebuild_stats_analyzes_tables_loaded_without_statistics():
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE clients_transaction, clients_client CASCADE")
    Client.objects.bulk_create(Client(external_id=f"C{i}", name="") for i in range(200))
    assert believed_rows("clients_client") < 0  # loaded, never analyzed
    rebuild_stats(as_of=dt.date(2026, 3, 1))
    assert believed_rows("clients_client") == 200
    assert Client.objects.count() == 200


def test_a_run_the_watchdog_ended_meanwhile_writes_nothing(tmp_path):
    """The rows and the job's "done" commit in one transaction: a run that finds its job
    failed under it (past its time limit) rolls its writes back instead of leaving rows behind
    a failed job."""
    job = busy_job(tmp_path, state="queued", attempts=0)

    def watchdog_strikes(done: int, total: int) -> None:
        if done == total:
            services._job_fail(ImportJob.objects.get(pk=job.pk), errors.TIMED_OUT, minutes=1)

    services.import_job_run(job_id=job.pk, dry_run=False, progress=watchdog_strikes)
    job.refresh_from_db()
    assert (job.state, job.options["file_error"]["code"]) == ("failed", errors.TIMED_OUT)
    assert not Transaction.objects.exists() and not Client.objects.exists()


def test_a_job_whose_file_is_gone_fails_with_a_reason(tmp_path):
    job = busy_job(tmp_path, state="queued", attempts=0)
    (tmp_path / "sales.csv").unlink()
    services.import_job_run(job_id=job.pk, dry_run=False)
    job.refresh_from_db()
    assert (job.state, job.options["file_error"]["code"]) == ("failed", errors.INTERNAL)
    assert str(tmp_path) not in job.message


def test_the_workers_time_limit_fails_the_job_as_timed_out(monkeypatch, settings, tmp_path):
    from celery.exceptions import SoftTimeLimitExceeded

    def slow(**kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(services, "import_file", slow)
    settings.CELERY_TASK_SOFT_TIME_LIMIT = 3600
    job = busy_job(tmp_path, state="queued", attempts=0)
    services.import_job_run(job_id=job.pk, dry_run=False)
    job.refresh_from_db()
    assert job.state == "failed"
    assert job.options["file_error"] == {"code": errors.TIMED_OUT, "params": {"minutes": 60}}
