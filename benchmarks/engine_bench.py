"""The engine at the scale of a real base: full rebuild, nightly run, model fit.

    DATABASE_URL=postgres://.../crm_bench .venv/bin/python benchmarks/run.py engine \\
        [--clients 1000000] [--transactions 10000000] [--repeat 3]

Loads a synthetic base (``benchmarks.synth``, by COPY) unless the database already holds one of
exactly that size, then measures, each beside its baseline from the same run (medians):

1. ``rebuild_stats`` of every client, with every row really rewritten, against a bare aggregate
   scan (GROUP BY client with count(DISTINCT day) over the same transactions, the faster of the
   planner's plan and a forced sequential scan). Target: at most 3x.
2. A nightly run (the pipeline itself, in-process) on a day when about 1% of clients change
   status, against a bare set-based UPDATE of those same due rows. Target: at most 10x; and the
   ratio measured at twice the base (``ENGINE_BENCH_SCALE_UP=1``, same number of changing
   clients) within 20% of it. Both run in a transaction that is rolled back, so every
   repetition sees the same rows. The run includes its last step, the retention snapshot,
   which is also timed alone to show its share. The nights before it ran in full (committed),
   as they would have.
3. Fitting the model on the whole base as one segment (query + fit) against one aggregate
   scan. Target: under 10x.
4. The per-client ORM loop on a 10k sample, extrapolated to the base: what a typical
   implementation would cost.

``ENGINE_BENCH_ONLY=rebuild`` stops after the first measurement; ``ENGINE_BENCH_ONLY=nightly``
measures only the nightly run (on a base whose statistics are current, as a run leaves them).
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable

from django.db import connection, transaction

DEFAULT_CLIENTS = 1_000_000
DEFAULT_TRANSACTIONS = 10_000_000
CHANGING_SHARE = 0.01
ORM_SAMPLE = 10_000

SCAN_SQL = """
SELECT count(*), sum(days) FROM (
    SELECT client_id, count(DISTINCT date) AS days, min(date), max(date)
    FROM clients_transaction WHERE amount > 0 GROUP BY client_id
) a
"""


class Rollback(Exception):
    pass


def _say(args, message: str) -> None:
    if not getattr(args, "json", False):
        print(f"[engine {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _median(times: list[float]) -> float:
    return round(statistics.median(times), 4)


def _rolled_back(action: Callable[[], object], before: Callable[[], object] | None = None) -> float:
    """Time ``action`` inside a transaction that is then rolled back (``before`` runs first in
    the same transaction, untimed)."""
    elapsed = 0.0
    try:
        with transaction.atomic():
            if before is not None:
                before()
            elapsed = _timed(action)
            raise Rollback
    except Rollback:
        pass
    return elapsed


def _execute(sql: str, params=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.description:
            cursor.fetchall()


def _scan_seconds() -> dict:
    """The bare aggregate scan: the planner's choice and a forced sequential scan."""
    with transaction.atomic():
        _execute("SET LOCAL work_mem = '256MB'")
        planner = _timed(lambda: _execute(SCAN_SQL))
        _execute("SET LOCAL enable_indexscan = off")
        _execute("SET LOCAL enable_indexonlyscan = off")
        _execute("SET LOCAL enable_bitmapscan = off")
        sequential = _timed(lambda: _execute(SCAN_SQL))
    return {"planner": planner, "sequential": sequential, "best": min(planner, sequential)}


def _counts() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM clients_client), (SELECT count(*) FROM clients_transaction)"
        )
        return cursor.fetchone()


def _ensure_base(args, clients: int, transactions: int, cases: int | None = None) -> dict:
    from benchmarks.synth import load_synthetic_base, summary_dict

    if _counts() == (clients, transactions) and not os.environ.get("ENGINE_BENCH_RELOAD"):
        _say(args, f"reusing the base of {clients:,} clients and {transactions:,} transactions")
        return {"reused": True}
    _say(args, f"loading {clients:,} clients and {transactions:,} transactions by COPY")
    summary = load_synthetic_base(
        clients=clients,
        transactions=transactions,
        seed=1,
        cases=clients // 50 if cases is None else cases,
        progress=lambda message: _say(args, message),
    )
    _execute("VACUUM ANALYZE clients_client")
    _execute("VACUUM ANALYZE clients_transaction")
    return summary_dict(summary)


def _as_of() -> dt.date:
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(date) FROM clients_transaction")
        return cursor.fetchone()[0]


def bench_rebuild(args, repeat: int, as_of: dt.date, clients: int) -> dict:
    from clients.stats import rebuild_stats

    scans, rebuilds, changed = [], [], 0
    for _ in range(repeat):
        scans.append(_scan_seconds())
        # Make every row stale (not timed), so the rebuild really rewrites all of them.
        _execute(
            "UPDATE clients_clientstats SET purchase_days = 0, cycle_days = NULL, status = 'none', due_on = NULL"
        )
        _execute("VACUUM clients_clientstats")
        _execute("CHECKPOINT")
        started = time.perf_counter()
        changed = rebuild_stats(as_of=as_of)
        rebuilds.append(time.perf_counter() - started)
        _execute("VACUUM ANALYZE clients_clientstats")
    scan = _median([s["best"] for s in scans])
    rebuild = _median(rebuilds)
    return {
        "measure": "rebuild_stats",
        "clients": clients,
        "rows_rewritten": changed,
        "seconds": rebuild,
        "baseline": "aggregate scan (faster of planner / sequential)",
        "baseline_seconds": scan,
        "baseline_planner_seconds": _median([s["planner"] for s in scans]),
        "baseline_sequential_seconds": _median([s["sequential"] for s in scans]),
        "ratio": round(rebuild / scan, 2),
        "target_ratio_max": 3.0,
    }


def _reset(args, as_of: dt.date) -> None:
    """Put the base back as it was loaded, whatever earlier runs of the benchmark committed: the
    statistics as of ``as_of``, the cases they opened gone and those they closed open again,
    no exclusions, snapshots or dashboard tables after it."""
    from clients.stats import rebuild_stats

    _say(args, f"resetting the base to {as_of} (rebuild_stats, not timed)")
    rebuild_stats(as_of=as_of)
    _execute("DELETE FROM reactivation_case WHERE opened_on > %s", [as_of])
    _execute(
        "UPDATE reactivation_case SET status = 'open', closed_on = NULL,"
        " won_transaction_id = NULL, credited_manager_id = NULL,"
        " credited_script_version_id = NULL, credited_reason_id = NULL WHERE closed_on > %s",
        [as_of],
    )
    _execute("DELETE FROM reactivation_queueexclusion WHERE as_of > %s", [as_of])
    for table in (
        "reactivation_pipelinerun",
        "reactivation_dailysnapshot",
        "reactivation_cohortactivity",
        "reactivation_valuesnapshot",
        "reactivation_casecohortdaily",
        "reactivation_managerdaily",
        "reactivation_reasondaily",
    ):
        _execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names


def _without_triggers() -> None:
    _execute("ALTER TABLE clients_clientstats DISABLE TRIGGER USER")


def _nightly_day(as_of: dt.date, clients: int) -> tuple[dt.date, int]:
    """The first day after ``as_of`` on which about 1% of the base falls due."""
    target = clients * CHANGING_SHARE
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT due_on, count(*) FROM clients_clientstats WHERE due_on > %s GROUP BY due_on ORDER BY due_on LIMIT 60",
            [as_of],
        )
        best = min(cursor.fetchall(), key=lambda row: abs(row[1] - target))
    return best


def bench_nightly(
    args, repeat: int, as_of: dt.date, clients: int, *, after_days: int | None = None, keep: int = 1
) -> dict:
    """The nightly run of the first day with about 1% of the base due (or of ``as_of`` +
    ``after_days``). ``keep`` > 1 leaves only every keep-th client able to change status in the
    window (the others' ``due_on`` is cleared, as for a client who will not change): twice the
    base with ``keep=2`` has the same changing clients as the base itself."""
    from reactivation.models import PipelineRun
    from reactivation.services import pipeline
    from reactivation.services.gate import FIGURES_KEY, measure_value_figures

    _reset(args, as_of)
    if after_days is None:
        day, due_that_day = _nightly_day(as_of, clients)
    else:
        day = as_of + dt.timedelta(days=after_days)
        due_that_day = None
    if keep > 1:
        _execute(
            "UPDATE clients_clientstats SET due_on = NULL WHERE due_on <= %s AND client_id %% %s <> 0",
            [day, keep],
        )
    # The nights before it ran already (committed): the run of ``day`` finds only its own due
    # rows and the churn measured within the week, as every night does.
    _execute("DELETE FROM reactivation_pipelinerun")
    previous = day - dt.timedelta(days=1)
    _say(args, f"running the nights up to {previous} (not timed)")
    for offset in range((previous - as_of).days):
        pipeline.nightly_run(as_of=as_of + dt.timedelta(days=offset + 1))
    PipelineRun.objects.update_or_create(
        as_of=previous,
        defaults={
            "state": "done",
            "counts": {FIGURES_KEY: measure_value_figures(as_of=previous)},
        },
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM clients_clientstats WHERE due_on <= %s", [day])
        due = cursor.fetchone()[0]
    _execute("VACUUM ANALYZE clients_clientstats")
    bare, runs, snapshots, counts = [], [], [], {}

    def bare_update():
        _execute(
            "UPDATE clients_clientstats SET status = 'lost', due_on = NULL WHERE due_on <= %s",
            [day],
        )

    def run():
        nonlocal counts
        counts = pipeline.nightly_run(as_of=day).counts

    def snapshot():
        from reactivation.services.snapshots import snapshot_write

        snapshot_write(as_of=day)

    for _ in range(repeat):
        # The bare UPDATE is the table's own cost: without the status tally's triggers, which
        # are the product's (the run pays for them).
        bare.append(_rolled_back(bare_update, before=_without_triggers))
        runs.append(_rolled_back(run))
        snapshots.append(_rolled_back(snapshot))
    run_seconds, bare_seconds = _median(runs), _median(bare)
    return {
        "measure": "nightly_run",
        "clients": clients,
        "as_of": day.isoformat(),
        "due_clients": due,
        "counts": {k: v for k, v in counts.items() if k != FIGURES_KEY},
        "seconds": run_seconds,
        "baseline": "bare UPDATE of the same due rows",
        "baseline_seconds": bare_seconds,
        "ratio": round(run_seconds / bare_seconds, 2),
        "target_ratio_max": 10.0,
        "of_which_snapshot_write_seconds": _median(snapshots),
        "note": f"{due_that_day} clients fall due on that day"
        if due_that_day is not None
        else f"{keep > 1 and f'one client in {keep} can change status; ' or ''}day {day}",
    }


def bench_fit(args, repeat: int, as_of: dt.date, clients: int) -> dict:
    from reactivation import bgnbd
    from reactivation.services.modelfit import segment_summaries

    scans, fits, fitted = [], [], None
    for _ in range(repeat):
        scans.append(_scan_seconds()["best"])
        started = time.perf_counter()
        x, t_x, T = segment_summaries(segment=None, until=as_of, every_client=True)
        fitted = bgnbd.fit(x, t_x, T)
        fits.append(time.perf_counter() - started)
    fit, scan = _median(fits), _median(scans)
    return {
        "measure": "fit_model",
        "clients": fitted.customers if fitted else 0,
        "params": fitted.params.__dict__ if fitted else None,
        "seconds": fit,
        "baseline": "aggregate scan",
        "baseline_seconds": scan,
        "ratio": round(fit / scan, 2),
        "target_ratio_max": 10.0,
    }


def bench_orm(args, as_of: dt.date, clients: int, rebuild_seconds: float | None) -> dict:
    from clients.models import Client
    from clients.stats import refresh_clients_orm

    ids = list(Client.objects.order_by("pk").values_list("pk", flat=True)[:ORM_SAMPLE])
    elapsed = 0.0
    try:
        with transaction.atomic():
            # Stale rows (not timed), so the loop writes every one, as the rebuild does.
            _execute(
                "UPDATE clients_clientstats SET status = 'none', due_on = NULL WHERE client_id <= %s",
                [ids[-1]],
            )
            elapsed = _timed(lambda: refresh_clients_orm(client_ids=ids, as_of=as_of))
            raise Rollback
    except Rollback:
        pass
    extrapolated = elapsed * clients / len(ids)
    return {
        "measure": "per_client_orm_loop",
        "sample": len(ids),
        "sample_seconds": round(elapsed, 2),
        "extrapolated_seconds": round(extrapolated, 1),
        "rebuild_stats_seconds": rebuild_seconds,
        "ratio_to_rebuild": round(extrapolated / rebuild_seconds, 1) if rebuild_seconds else None,
    }


def main(args) -> Iterable[dict]:
    if connection.vendor != "postgresql":
        raise SystemExit("The engine benchmark needs PostgreSQL: set DATABASE_URL.")
    clients = args.clients or DEFAULT_CLIENTS
    transactions = args.transactions or DEFAULT_TRANSACTIONS
    repeat = args.repeat or 3
    started = time.perf_counter()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    load = _ensure_base(args, clients, transactions)
    yield {
        "measure": "synthetic_base",
        "clients": clients,
        "transactions": transactions,
        **load,
        "seconds": round(time.perf_counter() - started, 1),
    }
    as_of = _as_of()
    only = os.environ.get("ENGINE_BENCH_ONLY")
    if only != "nightly":
        _say(args, "rebuild_stats against the aggregate scan")
        rebuild = bench_rebuild(args, repeat, as_of, clients)
        yield rebuild
        if only == "rebuild":
            return
        _say(args, "model fit on the whole base")
        yield bench_fit(args, max(1, repeat - 1), as_of, clients)
        _say(args, "per-client ORM loop on a sample")
        yield bench_orm(args, as_of, clients, rebuild["seconds"])
    _say(args, "nightly run against the bare UPDATE")
    nightly = bench_nightly(args, repeat, as_of, clients)
    yield nightly
    if os.environ.get("ENGINE_BENCH_SCALE_UP"):
        big = clients * 2
        # Twice the clients, the same open cases: the cases a night works on (won back,
        # expired) follow the clients who became lost, which this comparison holds equal.
        _ensure_base(args, big, transactions * 2, cases=clients // 50)
        # The same night with the same changing clients out of twice the base: every other
        # client is held still (the synthetic 2N base is the N base's distribution twice over).
        base_as_of = _as_of()
        scaled = bench_nightly(
            args,
            repeat,
            base_as_of,
            big,
            after_days=(dt.date.fromisoformat(nightly["as_of"]) - as_of).days,
            keep=2,
        )
        scaled["ratio_vs_base"] = round(scaled["ratio"] / nightly["ratio"], 2)
        scaled["target_ratio_vs_base_max"] = 1.2
        yield scaled
