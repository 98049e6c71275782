"""The owner's figures for a year (``manage.py metrics``) against a bare scan of the same rows.

    .venv/bin/python benchmarks/run.py metrics [--clients N] [--transactions M] [--repeat R]

One synthetic base (default 100,000 clients and 1M transactions, ``benchmarks/synth.py``, with
its cases, some held out as control) is loaded into the DATABASE_URL database (it is emptied). Then,
``repeat`` times each, in the same run:

- ``figures``: ``period_figures`` for the twelve months to the base's last day with the monthly
  split, as the dashboard computes them (customers, retention, churn, purchases per year, LTV,
  the MBG/NBD fits and forecast, the uplift, both revenue-left estimates);
- ``command``: ``manage.py metrics --from ... --to ... --json`` in-process (the same without the
  monthly split);
- ``read``: the one read the figures make, the (client, purchase day) pairs up to that day,
  fetched into numpy (``PurchaseLog.load``), to show where the time goes;
- the baseline, ``bare_scan``: one aggregate over the same transactions (``COUNT(*)``,
  ``COUNT(DISTINCT client_id)``, ``SUM(amount)`` of the rows up to that day), the least any
  figure read from the transactions must cost.

Reported: the median of each, and the ratios to the bare scan.
"""

from __future__ import annotations

import datetime as dt
import io
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

DEFAULT_CLIENTS = 100_000
DEFAULT_TRANSACTIONS = 1_000_000


def _log(args: Any, message: str) -> None:
    if not args.json:
        print(message, file=sys.stderr, flush=True)


def _median_ms(run: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1), result


def _bare_scan(as_of: dt.date) -> tuple:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*), COUNT(DISTINCT client_id), SUM(amount) FROM clients_transaction "
            "WHERE date <= %s",
            [as_of],
        )
        return cursor.fetchone()


def main(args: Any) -> Iterable[dict[str, Any]]:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from benchmarks.synth import load_synthetic_base
    from reactivation.selectors.customers import PurchaseLog
    from reactivation.selectors.dashboard_figures import period_figures

    if connection.vendor != "postgresql":
        raise SystemExit("The metrics benchmark needs PostgreSQL: set DATABASE_URL.")
    clients = args.clients or DEFAULT_CLIENTS
    transactions = args.transactions or DEFAULT_TRANSACTIONS
    repeat = args.repeat or 5
    _log(args, f"loading {clients:,} clients, {transactions:,} transactions ...")
    summary = load_synthetic_base(
        clients=clients,
        transactions=transactions,
        seed=1,
        cases=min(40_000, max(100, clients // 5)),
        progress=lambda m: _log(args, "  " + m),
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    end = summary.as_of
    start = end - dt.timedelta(days=364)
    _log(args, f"  loaded in {summary.seconds:.0f} s; measuring the year {start} to {end} ...")

    bare_ms, bare = _median_ms(lambda: _bare_scan(end), repeat)
    read_ms, log = _median_ms(lambda: PurchaseLog.load(until=end), repeat)
    figures_ms, figures = _median_ms(
        lambda: period_figures(start=start, end=end, by_month=True), repeat
    )
    command_ms, _out = _median_ms(
        lambda: call_command(
            "metrics",
            "--from",
            start.isoformat(),
            "--to",
            end.isoformat(),
            "--json",
            stdout=io.StringIO(),
        ),
        repeat,
    )
    yield {
        "measurement": "metrics_year",
        "date": dt.date.today().isoformat(),
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "clients": clients,
        "transactions": summary.transactions,
        "purchase_days": log.days.size,
        "cases": summary.cases,
        "repeat": repeat,
        "bare_scan_ms": bare_ms,
        "read_ms": read_ms,
        "figures_ms": figures_ms,
        "command_ms": command_ms,
        "figures_to_bare_scan": round(figures_ms / max(bare_ms, 0.01), 2),
        "command_to_bare_scan": round(command_ms / max(bare_ms, 0.01), 2),
        "read_to_bare_scan": round(read_ms / max(bare_ms, 0.01), 2),
        "rows_scanned": bare[0],
        "figures": figures.as_json(),
    }
