"""The pipeline through a real Celery worker process, with Redis as the broker and the test
PostgreSQL database: end to end, with a helper sharing the chunks, and a worker killed mid-run."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from clients.models import Client
from clients.stats import refresh_clients
from reactivation.celery import app
from reactivation.models import Case, PipelineRun
from tests.factories import ClientFactory, TransactionFactory

ROOT = Path(__file__).resolve().parents[2]
D = dt.date(2026, 11, 23)

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def lost_base(count: int) -> set[int]:
    ids = set()
    for _ in range(count):
        client = ClientFactory()
        TransactionFactory(client=client, date=D - dt.timedelta(days=91), amount=Decimal("2000"))
        ids.add(client.pk)
    refresh_clients(client_ids=None, as_of=D - dt.timedelta(days=1))
    return ids


def start_worker(concurrency: int = 1) -> subprocess.Popen:
    """A worker process on the test database (its name in DATABASE_URL) and the test's Redis."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "reactivation",
            "worker",
            "-l",
            "warning",
            "--pool",
            "prefork",
            "-c",
            str(concurrency),
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if app.control.ping(timeout=1):
            return worker
        assert worker.poll() is None, "the worker exited at start-up"
    stop_worker(worker)
    pytest.fail("the Celery worker did not start within 60 s")


def stop_worker(worker: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, sig)
        worker.wait(30)


def wait_for(predicate, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail("timed out")


@pytest.fixture
def broker():
    assert not settings.CELERY_TASK_ALWAYS_EAGER
    app.control.purge()
    yield app
    app.control.purge()


def run_state() -> tuple[str | None, dict]:
    run = PipelineRun.objects.filter(as_of=D).first()
    return (run.state, run.counts) if run else (None, {})


def test_a_worker_runs_the_pipeline_end_to_end_with_a_helper(broker):
    from reactivation.tasks import nightly_run_task

    ids = lost_base(40)
    worker = start_worker(concurrency=2)
    try:
        nightly_run_task.delay(D.isoformat(), chunk_size=3, helpers=1)
        wait_for(lambda: run_state()[0] == "done")
    finally:
        stop_worker(worker)

    assert set(Case.objects.values_list("client_id", flat=True)) == ids
    assert Case.objects.count() == 40
    assert run_state()[1]["cases_opened"] == 40
    assert not Client.objects.filter(stats__due_on__lte=D).exists()


def test_a_worker_killed_mid_run_and_the_rerun_leave_no_duplicates_and_no_gaps(broker):
    from reactivation.tasks import nightly_run_task

    ids = lost_base(150)
    worker = start_worker()
    try:
        nightly_run_task.delay(D.isoformat(), chunk_size=1)
        wait_for(lambda: run_state()[1].get("restatused", 0) >= 10)
    finally:
        stop_worker(worker, signal.SIGKILL)  # mid-run, no chance to clean up

    state, counts = run_state()
    assert state == "running"
    opened = Case.objects.count()
    assert 0 < opened < 150, "the kill must land mid-run"
    assert counts["cases_opened"] == opened  # the ledger counts only committed chunks
    assert Client.objects.filter(stats__due_on__lte=D).count() == 150 - counts["restatused"]

    worker = start_worker()
    try:
        nightly_run_task.delay(D.isoformat(), chunk_size=25)
        wait_for(lambda: run_state()[0] == "done")
    finally:
        stop_worker(worker)

    assert Case.objects.count() == 150
    assert set(Case.objects.values_list("client_id", flat=True)) == ids
    assert run_state()[1]["cases_opened"] == 150
    assert not Client.objects.filter(stats__due_on__lte=D).exists()
