"""The backtest at scale, against a bare scan of the same rows in the same run.

    .venv/bin/python benchmarks/run.py backtest [--clients N] [--transactions M] [--repeat R]

A synthetic base (default 100k clients, 1M transactions, 5,000 cases) is loaded into the
DATABASE_URL database (it is emptied). The backtest of the whole base (``backtest(as_of=D,
days=60)``, D 120 days before the load date, the default 7-day window) is timed ``repeat`` times
after a warm-up: its one GROUP BY over the purchases, a fit of each segment's MBG/NBD model on
the summaries as of D, the rule and the model on every client, the flagged clients' cases and
calls, and the two AUCs. The baseline is a bare scan of the same rows (every purchase line,
``count`` and ``sum``, no grouping) and, for where the time goes, the backtest's GROUP BY alone.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from typing import Any

DEFAULT_CLIENTS = 100_000
DEFAULT_TRANSACTIONS = 1_000_000
DEFAULT_CASES = 5_000
HORIZON_DAYS = 60
LOOKBACK_DAYS = 120


def _log(args: Any, message: str) -> None:
    if not args.json:
        print(message, file=sys.stderr, flush=True)


def _timed(function, repeat: int) -> tuple[float, Any]:
    function()  # warm-up: caches and the planner's statistics
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(args: Any) -> list[dict]:
    from django.db import connection

    from benchmarks.synth import load_synthetic_base
    from reactivation.backtest import backtest

    clients = args.clients or DEFAULT_CLIENTS
    transactions = args.transactions or DEFAULT_TRANSACTIONS
    repeat = args.repeat or 3
    _log(args, f"loading {clients:,} clients and {transactions:,} transactions")
    summary = load_synthetic_base(
        clients=clients,
        transactions=transactions,
        cases=DEFAULT_CASES,
        progress=lambda message: _log(args, message),
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE clients_transaction")
    as_of = summary.as_of - dt.timedelta(days=LOOKBACK_DAYS)

    def bare_scan():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*), sum(amount) FROM clients_transaction WHERE amount > 0")
            return cursor.fetchone()

    def group_by():
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT t.client_id, c.segment_id, MIN(t.date) FILTER (WHERE t.date <= %s),
                       MAX(t.date) FILTER (WHERE t.date <= %s),
                       COUNT(DISTINCT t.date) FILTER (WHERE t.date <= %s),
                       MIN(t.date) FILTER (WHERE t.date > %s)
                FROM clients_transaction t JOIN clients_client c ON c.id = t.client_id
                WHERE t.amount > 0 GROUP BY t.client_id, c.segment_id
                """,
                [as_of] * 4,
            )
            return len(cursor.fetchall())

    def run():
        return backtest(as_of=as_of, days=HORIZON_DAYS)

    _log(args, f"timing the backtest as of {as_of} ({repeat} runs)")
    seconds, result = _timed(run, repeat)
    _log(args, "timing the bare scan and the GROUP BY alone")
    bare_seconds, scanned = _timed(bare_scan, repeat)
    group_seconds, _rows = _timed(group_by, repeat)
    return [
        {
            "measure": "backtest",
            "clients": clients,
            "transactions": transactions,
            "purchase_lines": scanned[0],
            "as_of": as_of.isoformat(),
            "horizon_days": HORIZON_DAYS,
            "window_days": result.window,
            "figures": {
                **result.as_json(),
                "clients": result.clients,
                "modelled": result.modelled,
                "bought_again_after_contact": result.bought_again_after_contact,
                "returned_later": result.returned_later,
                "auc_expected": result.auc_expected,
            },
            "seconds": round(seconds, 3),
            "baseline": "bare scan of the same purchase rows (count, sum)",
            "baseline_seconds": round(bare_seconds, 3),
            "ratio": round(seconds / bare_seconds, 2),
            "group_by_seconds": round(group_seconds, 3),
            "ratio_to_group_by": round(seconds / group_seconds, 2),
            "repeat": repeat,
        }
    ]
