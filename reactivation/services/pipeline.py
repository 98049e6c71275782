"""The nightly pipeline: one run per business date, in chunks, resumable, caught up in order.

``nightly_run(as_of=D)``:
1. Claim the run. The ledger (``PipelineRun``, unique per date) says whether D is done: then the
   call is a no-op. On PostgreSQL a session advisory lock per date makes a concurrent second
   run return at once (and frees itself if the process dies); on SQLite, which has one writer
   anyway, a heartbeat on the ledger row plays that part.
2. Re-status the clients whose ``due_on`` has arrived, chunk by chunk. Each chunk is one
   transaction that claims its clients (``FOR UPDATE SKIP LOCKED``), re-statuses them, opens
   the cases of the newly lost through the gate and adds its counts to the ledger, so a chunk
   is either wholly done or not at all: a killed worker leaves no half-opened queue, and the
   rerun finds exactly the clients still due. Helper tasks (``nightly_chunk``) can take chunks
   from other workers at the same time; the last pass waits for their locks.
3. Redeem offers by code, expire offers, close won-back cases, expire cases.
4. Write the day's retention snapshot (``reactivation.services.snapshots.snapshot_write``).
Each step after the first is idempotent and recorded in ``steps_done``; a resumed run skips the
steps already done. The run's cost follows the clients that change, not the base: step 2 is an
index range scan on ``due_on`` and the others touch offers and cases only.

``nightly_catch_up(until=D)`` runs every date missed since the last completed run (at most
``MAX_CATCH_UP_DAYS`` back), oldest first, then D.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from clients.stats import restatus_due_chunk
from reactivation.models import PipelineRun
from reactivation.services import gate, lifecycle
from reactivation.webhooks import outbox

CHUNK_SIZE = getattr(settings, "NIGHTLY_CHUNK_SIZE", 5000)
MAX_CATCH_UP_DAYS = 31
# A run whose heartbeat is older than this is taken to be dead (SQLite only; PostgreSQL knows
# from the advisory lock).
STALE_AFTER = dt.timedelta(minutes=15)
LOCK_NAMESPACE = 0x5EAC  # first key of pg_try_advisory_lock(namespace, date ordinal)

STEP_RESTATUS = "restatus"
STEP_OFFERS_REDEEM = "offers_redeem"
STEP_OFFERS_EXPIRE = "offers_expire"
STEP_CASES_WON = "cases_won_back"
STEP_CASES_EXPIRE = "cases_expire"
STEP_SNAPSHOT = "snapshot"
STEPS = [
    STEP_RESTATUS,
    STEP_OFFERS_REDEEM,
    STEP_OFFERS_EXPIRE,
    STEP_CASES_WON,
    STEP_CASES_EXPIRE,
    STEP_SNAPSHOT,
]

DONE, SKIPPED, BUSY = "done", "skipped", "busy"


@dataclass
class RunOutcome:
    as_of: dt.date
    outcome: str  # done, skipped (already done) or busy (another run holds it)
    counts: dict = field(default_factory=dict)


@contextlib.contextmanager
def _date_lock(as_of: dt.date) -> Iterator[bool]:
    """A session advisory lock for the date on PostgreSQL (True when we hold it); elsewhere
    always True (the ledger heartbeat decides)."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, as_of.toordinal()])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, as_of.toordinal()]
                )


def _claim(as_of: dt.date, *, exclusive: bool) -> PipelineRun | None:
    """Take the ledger row of ``as_of`` for this run, or None if it is done or (without the
    advisory lock) another live run holds it."""
    now = timezone.now()
    run, _created = PipelineRun.objects.get_or_create(as_of=as_of)
    if run.state == PipelineRun.State.DONE:
        return None
    claimable = PipelineRun.objects.filter(pk=run.pk).exclude(state=PipelineRun.State.DONE)
    if not exclusive:
        claimable = claimable.filter(
            Q(heartbeat_at__isnull=True)
            | Q(heartbeat_at__lt=now - STALE_AFTER)
            | Q(state=PipelineRun.State.FAILED)
        )
    if claimable.update(state=PipelineRun.State.RUNNING, heartbeat_at=now, error="") != 1:
        return None
    if run.started_at is None:
        PipelineRun.objects.filter(pk=run.pk).update(started_at=now)
    run.refresh_from_db()
    return run


def _add_counts(run_id: int, delta: dict) -> None:
    """Add to the ledger's counts inside the caller's transaction (row locked meanwhile)."""
    run = PipelineRun.objects.select_for_update().get(pk=run_id)
    counts = dict(run.counts)
    for key, value in delta.items():
        if isinstance(value, dict):
            inner = dict(counts.get(key, {}))
            for k, v in value.items():
                inner[k] = inner.get(k, 0) + v
            counts[key] = inner
        elif isinstance(value, int) and not isinstance(value, bool):
            counts[key] = counts.get(key, 0) + value  # counters add up; measures are replaced
        else:
            counts[key] = value
    run.counts = counts
    run.heartbeat_at = timezone.now()
    run.save(update_fields=["counts", "heartbeat_at"])


def restatus_chunks(
    *,
    as_of: dt.date,
    run_id: int,
    context: gate.GateContext,
    chunk_size: int = CHUNK_SIZE,
    wait: bool = False,
) -> int:
    """Take chunks of due clients until none is left; returns the clients re-statused.

    ``wait`` makes the claim wait for rows other workers hold (the final pass) instead of
    skipping them.
    """
    total = 0
    while True:
        with transaction.atomic():
            changes = restatus_due_chunk(as_of=as_of, limit=chunk_size, skip_locked=not wait)
            if not changes:
                return total
            outbox.statuses_changed(changes=changes, as_of=as_of)
            newly_lost = [
                client_id for client_id, old, new in changes if new == "lost" and old != "lost"
            ]
            result = gate.cases_open_for_lost(as_of=as_of, client_ids=newly_lost, context=context)
            _add_counts(
                run_id,
                {
                    "restatused": len(changes),
                    "newly_lost": len(newly_lost),
                    "cases_opened": result.opened,
                    "cases_control": result.control,
                    "excluded": result.excluded,
                },
            )
        total += len(changes)


def nightly_chunk(*, as_of: dt.date) -> int:
    """A helper's share of the re-status step of a run in progress (another worker's task)."""
    run = PipelineRun.objects.filter(as_of=as_of, state=PipelineRun.State.RUNNING).first()
    if run is None or STEP_RESTATUS in run.steps_done:
        return 0
    context = gate.gate_context(as_of=as_of, figures=run.counts.get(gate.FIGURES_KEY))
    return restatus_chunks(as_of=as_of, run_id=run.pk, context=context)


def _mark_step(run_id: int, step: str, counts: dict | None = None) -> None:
    with transaction.atomic():
        if counts:
            _add_counts(run_id, counts)
        run = PipelineRun.objects.select_for_update().get(pk=run_id)
        if step not in run.steps_done:
            run.steps_done = [*run.steps_done, step]
            run.heartbeat_at = timezone.now()
            run.save(update_fields=["steps_done", "heartbeat_at"])


def _snapshot(as_of: dt.date) -> dict:
    from reactivation.services.snapshots import figures_defaults_enqueue, snapshot_write

    snapshot_write(as_of=as_of)
    figures_defaults_enqueue(as_of=as_of)  # the dashboard's default views, off the requests
    return {}


def nightly_run(
    *, as_of: dt.date, chunk_size: int = CHUNK_SIZE, helpers: int = 0, snapshot: bool = True
) -> RunOutcome:
    """Run the pipeline for ``as_of`` (see the module docstring). ``helpers`` enqueues that many
    ``nightly_chunk`` tasks so other workers share the re-status step."""
    with _date_lock(as_of) as exclusive:
        if not exclusive:
            return RunOutcome(as_of, BUSY)
        run = _claim(as_of, exclusive=connection.vendor == "postgresql")
        if run is None:
            done = PipelineRun.objects.filter(as_of=as_of, state=PipelineRun.State.DONE).first()
            return RunOutcome(as_of, SKIPPED if done else BUSY, done.counts if done else {})
        try:
            _run_steps(run, chunk_size=chunk_size, helpers=helpers, snapshot=snapshot)
        except Exception as error:
            PipelineRun.objects.filter(pk=run.pk).update(
                state=PipelineRun.State.FAILED, error=repr(error)[:2000]
            )
            raise
        PipelineRun.objects.filter(pk=run.pk).update(
            state=PipelineRun.State.DONE, finished_at=timezone.now(), heartbeat_at=timezone.now()
        )
        run.refresh_from_db()
        return RunOutcome(as_of, DONE, run.counts)


def _run_steps(run: PipelineRun, *, chunk_size: int, helpers: int, snapshot: bool) -> None:
    as_of = run.as_of
    if STEP_RESTATUS not in run.steps_done:
        figures = run.counts.get(gate.FIGURES_KEY)
        if figures is None:
            figures = gate.value_figures(as_of=as_of)
            with transaction.atomic():
                _add_counts(run.pk, {gate.FIGURES_KEY: figures})
        context = gate.gate_context(as_of=as_of, figures=figures)
        if helpers:
            from reactivation.tasks import nightly_chunk_task

            for _ in range(helpers):
                nightly_chunk_task.delay(as_of.isoformat())
        restatus_chunks(as_of=as_of, run_id=run.pk, context=context, chunk_size=chunk_size)
        # Wait for chunks that helpers still hold, then take anything they left.
        restatus_chunks(
            as_of=as_of, run_id=run.pk, context=context, chunk_size=chunk_size, wait=True
        )
        _mark_step(run.pk, STEP_RESTATUS)
    steps = [
        (
            STEP_OFFERS_REDEEM,
            lambda: {"offers_redeemed": lifecycle.offers_redeem_by_code(as_of=as_of)},
        ),
        (STEP_OFFERS_EXPIRE, lambda: {"offers_expired": lifecycle.offers_expire(as_of=as_of)}),
        (
            STEP_CASES_WON,
            lambda: _counts(
                lifecycle.cases_close_won_back(as_of=as_of), "won_back", "control_returned"
            ),
        ),
        (
            STEP_CASES_EXPIRE,
            lambda: _counts(lifecycle.cases_expire(as_of=as_of), "cases_expired", "control_closed"),
        ),
    ]
    if snapshot:
        steps.append((STEP_SNAPSHOT, lambda: _snapshot(as_of)))
    for step, action in steps:
        if step in run.steps_done:
            continue
        with transaction.atomic():
            counts = action()
            _mark_step(run.pk, step, counts)


def _counts(counts: lifecycle.LifecycleCounts, *names: str) -> dict:
    return {name: getattr(counts, name) for name in names}


def missed_dates(*, until: dt.date) -> list[dt.date]:
    """Dates not yet done since the last completed run, oldest first, ending with ``until``."""
    window_start = until - dt.timedelta(days=MAX_CATCH_UP_DAYS)
    first_run = PipelineRun.objects.order_by("as_of").values_list("as_of", flat=True).first()
    if first_run is None:
        return [until]
    start = max(first_run, window_start)
    done = set(
        PipelineRun.objects.filter(
            as_of__gte=start, as_of__lte=until, state=PipelineRun.State.DONE
        ).values_list("as_of", flat=True)
    )
    days = (until - start).days
    return [
        start + dt.timedelta(days=i)
        for i in range(days + 1)
        if start + dt.timedelta(days=i) not in done
    ]


def nightly_catch_up(
    *, until: dt.date, chunk_size: int = CHUNK_SIZE, helpers: int = 0
) -> list[RunOutcome]:
    """Run every missed date up to ``until`` in order; stops at the first date another run holds."""
    outcomes = []
    for day in missed_dates(until=until):
        outcome = nightly_run(as_of=day, chunk_size=chunk_size, helpers=helpers)
        outcomes.append(outcome)
        if outcome.outcome == BUSY:
            break  # a later date must not run before this one
    return outcomes


def business_date_due(now: dt.datetime | None = None) -> dt.date:
    """The latest business date whose nightly run should have started by ``now``: today once
    ``BusinessSettings.nightly_at`` has passed in the business timezone, else yesterday."""
    from reactivation.models import BusinessSettings

    local = timezone.localtime(now or timezone.now())
    nightly_at = BusinessSettings.load().nightly_at
    today = local.date()
    return today if local.time() >= nightly_at else today - dt.timedelta(days=1)


def weekly_run(*, as_of: dt.date) -> dict:
    """The week's work, on the assignment day after that night's run: ABC classes, the model
    refits segments asked for, the dashboards' value table, a fresh measurement of the value figures (churn, purchases per year), then the
    week's case assignment. Runs once per date (recorded in the ledger row); each part is
    idempotent anyway."""
    from reactivation.services.abc import abc_recompute
    from reactivation.services.cases import cases_assign_week
    from reactivation.services.modelfit import models_refit

    run = PipelineRun.objects.filter(as_of=as_of).first()
    if run is not None and run.counts.get("weekly_done"):
        return {}
    counts: dict = {"abc": abc_recompute(as_of=as_of)}
    counts["refits"] = [fit.segment for fit in models_refit(until=as_of) if fit.ok]
    counts["values"] = _values_weekly(as_of)
    counts["assigned"] = cases_assign_week(as_of=as_of).total
    if run is not None:
        with transaction.atomic():
            _add_counts(
                run.pk,
                {"weekly_done": True, gate.FIGURES_KEY: gate.measure_value_figures(as_of=as_of)},
            )
    return counts


def _values_weekly(as_of: dt.date) -> int:
    """The dashboards' tables that read every client or a month of transactions: the value
    table (with this week's classes and models) and the running month of the cohort table
    recounted (a file imported late for past days shows there). Returns the value rows."""
    from reactivation.services.dashboard_cache import dashboard_changed
    from reactivation.services.snapshots import cohorts_refresh, month_start, value_snapshot_write

    with transaction.atomic():
        written = value_snapshot_write(as_of=as_of)
        cohorts_refresh(start=month_start(as_of), end=as_of)
        dashboard_changed()
    return written


def pipeline_replay(
    *,
    end: dt.date,
    days: int,
    snapshot: bool = False,
    each_day: Callable[[dt.date], object] | None = None,
) -> list[RunOutcome]:
    """Replay the last ``days`` days as if the engine had run every night (the demo, or a new
    install that imported its history):
    1. statistics, ABC classes and every segment's model as of the first day, from the
       transactions up to it;
    2. then for each following day: that day's buyers' statistics (as an import that evening
       would), the nightly run, the weekly work on the assignment day, and ``each_day`` (the
       demo's calls of that day), if given.
    """
    from clients.models import Transaction
    from clients.stats import rebuild_stats, refresh_clients
    from reactivation.models import BusinessSettings
    from reactivation.services.abc import abc_recompute
    from reactivation.services.modelfit import models_refit

    start = end - dt.timedelta(days=days)
    rebuild_stats(as_of=start)
    abc_recompute(as_of=start)
    models_refit(until=start, only_auto=False)
    weekday = BusinessSettings.load().assignment_weekday
    outcomes = []
    for offset in range(1, days + 1):
        day = start + dt.timedelta(days=offset)
        buyers = list(
            Transaction.objects.filter(date=day).values_list("client_id", flat=True).distinct()
        )
        refresh_clients(client_ids=buyers, as_of=day, until=day)
        outcome = nightly_run(as_of=day, snapshot=snapshot)
        outcomes.append(outcome)
        if day.weekday() == weekday:
            weekly_run(as_of=day)
        if each_day is not None:
            each_day(day)
    return outcomes
