"""The pipeline through a real Celery worker process, with Redis as the broker and the test
PostgreSQL database: end to end, with a helper sharing the chunks, and a worker killed mid-run."""

from __future__ import annotations

import datetime as dt
import signal
from decimal import Decimal

import pytest

from clients.models import Client
from clients.stats import refresh_clients
from reactivation.models import Case, PipelineRun
from tests.factories import ClientFactory, TransactionFactory
from tests.worker import start_worker, stop_worker, wait_for

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
