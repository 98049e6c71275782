"""Races in the nightly pipeline, run for real on PostgreSQL with several connections."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection

from clients.models import Client
from clients.stats import refresh_clients
from reactivation.models import Case, PipelineRun
from reactivation.services import gate, pipeline
from tests.factories import ClientFactory, TransactionFactory

D = dt.date(2026, 11, 23)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def lost_base(count: int) -> list[int]:
    """``count`` clients who become lost on D (sleeping the day before)."""
    ids = []
    for _ in range(count):
        client = ClientFactory()
        TransactionFactory(client=client, date=D - dt.timedelta(days=91), amount=Decimal("2000"))
        ids.append(client.pk)
    refresh_clients(client_ids=None, as_of=D - dt.timedelta(days=1))
    return ids


def run_in_threads(target, count: int) -> list:
    """Start ``count`` threads together (each with its own database connection)."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def body(index):
        try:
            barrier.wait()
            results[index] = target()
        except Exception as error:  # reported to the test below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def test_two_concurrent_nightly_runs_open_each_case_once():
    ids = lost_base(60)

    outcomes = run_in_threads(lambda: pipeline.nightly_run(as_of=D, chunk_size=7).outcome, 2)

    assert sorted(outcomes) in (["busy", "done"], ["done", "skipped"])
    assert Case.objects.count() == 60
    assert set(Case.objects.values_list("client_id", flat=True)) == set(ids)
    assert PipelineRun.objects.get(as_of=D).counts["cases_opened"] == 60


def test_helpers_sharing_the_chunks_leave_no_duplicates_and_no_gaps():
    ids = lost_base(90)
    run = PipelineRun.objects.create(as_of=D, state="running")
    context = gate.gate_context(as_of=D)

    taken = run_in_threads(
        lambda: pipeline.restatus_chunks(as_of=D, run_id=run.pk, context=context, chunk_size=5), 3
    )

    assert sum(taken) == 90
    assert not Client.objects.filter(stats__due_on__lte=D).exists()
    assert sorted(Case.objects.values_list("client_id", flat=True)) == sorted(ids)
    run.refresh_from_db()
    assert run.counts["restatused"] == 90 and run.counts["cases_opened"] == 90


def test_the_partial_unique_index_refuses_a_second_open_case():
    from django.db import IntegrityError

    client = ClientFactory()
    Case.objects.create(client=client, opened_on=D)
    with pytest.raises(IntegrityError):
        Case.objects.create(client=client, opened_on=D)
