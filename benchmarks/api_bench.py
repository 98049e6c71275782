"""API benchmark: a batch of transactions through the API's service against the same rows
through the file import, and the p95 of reading one client at two base sizes.

Figures, each beside its baseline measured in the same run:

1. ``batch_seconds``: ``POST /api/v1/transactions``' service (``transactions_record``) with
   10,000 purchases of existing clients into a base of ``--clients`` / ``--transactions``
   (default 100k / 1M), the clients' statistics and statuses current on return (checked),
   against ``transactions_import`` of a file with the same rows (the same clients, dates and
   amounts, under other ids) in the same base;
2. ``client_read_p95_ms``: the p95 of ``GET /api/v1/clients/{external_id}`` (through the WSGI
   stack, with a key) at ``--clients`` against a base of 10k clients / 100k transactions.

    .venv/bin/python benchmarks/run.py api [--clients N] [--transactions M] [--repeat R]

It empties the product tables of the database in DATABASE_URL (benchmarks/synth.py).
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

BATCH = 10_000
READS = 300
SMALL = (10_000, 100_000)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def _rows(clients: int, seed: int, prefix: str, day) -> list[dict]:
    rnd = random.Random(seed)
    return [
        {
            "id": f"{prefix}-{i}",
            "client": f"S{rnd.randrange(1, clients + 1):08d}",
            "date": day.isoformat(),
            "amount": f"{rnd.randrange(100, 500_000) / 100:.2f}",
        }
        for i in range(BATCH)
    ]


def _file(rows: list[dict], prefix: str) -> Path:
    handle = tempfile.NamedTemporaryFile(
        "w", suffix=".csv", delete=False, encoding="utf-8", newline=""
    )
    with handle:
        handle.write("id;client;date;amount\n")
        for row in rows:
            handle.write(f"{prefix}{row['id']};{row['client']};{row['date']};{row['amount']}\n")
    return Path(handle.name)


def _check_current(rows: list[dict], day) -> None:
    """Statuses current on return: every client of the batch bought on ``day`` and is active."""
    from clients.models import ClientStats

    names = {row["client"] for row in rows}
    stale = (
        ClientStats.objects.filter(client__external_id__in=names)
        .exclude(last_purchase_on=day, status="active")
        .count()
    )
    assert stale == 0, f"{stale} clients not current after the batch"


def _reads(clients: int) -> list[float]:
    from django.conf import settings
    from django.test import Client as HttpClient

    from reactivation.api.services import key_create

    settings.ALLOWED_HOSTS = ["*"]
    settings.API_RATE_LIMIT = "1000000/min"
    _key, secret = key_create(name=f"bench-{uuid.uuid4().hex[:8]}", role="admin")
    http = HttpClient(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    rnd = random.Random(7)
    for _ in range(20):  # warm the caches and the connection
        http.get(f"/api/v1/clients/S{rnd.randrange(1, clients + 1):08d}")
    times = []
    for _ in range(READS):
        path = f"/api/v1/clients/S{rnd.randrange(1, clients + 1):08d}"
        started = time.perf_counter()
        response = http.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return times


def main(args) -> Iterable[dict]:
    from django.utils import timezone

    from benchmarks.synth import load_synthetic_base
    from clients.services import transactions_import
    from reactivation.api.services import transactions_record

    clients = args.clients or 100_000
    transactions = args.transactions or 1_000_000
    repeat = args.repeat or 3
    today = timezone.localdate()

    _log(f"base {SMALL[0]:,} clients / {SMALL[1]:,} transactions ...")
    load_synthetic_base(clients=SMALL[0], transactions=SMALL[1], seed=1, as_of=today)
    small = _reads(SMALL[0])

    _log(f"base {clients:,} clients / {transactions:,} transactions ...")
    summary = load_synthetic_base(clients=clients, transactions=transactions, seed=1, as_of=today)
    _log(f"  loaded in {summary.seconds:.0f} s")
    big = _reads(clients)
    yield {
        "figure": "client_read_p95_ms",
        "clients": clients,
        "value": round(_p95(big), 2),
        "median": round(statistics.median(big), 2),
        "baseline_clients": SMALL[0],
        "baseline": round(_p95(small), 2),
        "baseline_median": round(statistics.median(small), 2),
        "ratio": round(_p95(big) / _p95(small), 2),
        "requests": READS,
    }

    api_times, file_times = [], []
    for run in range(repeat):
        rows = _rows(clients, seed=100 + run, prefix=f"API{run}", day=today)
        started = time.perf_counter()
        result = transactions_record(rows, today=today)
        api_times.append(time.perf_counter() - started)
        assert result.created == BATCH, result
        _check_current(rows, today)

        path = _file(rows, prefix="F")  # the same clients, dates and amounts, other ids
        started = time.perf_counter()
        imported = transactions_import(path=path)
        file_times.append(time.perf_counter() - started)
        path.unlink()
        assert imported.ok and imported.counts.get("created") == BATCH, imported.counts
        _check_current(rows, today)
        _log(f"  run {run + 1}: API {api_times[-1]:.2f} s, file {file_times[-1]:.2f} s")
    api, file = statistics.median(api_times), statistics.median(file_times)
    yield {
        "figure": "batch_seconds",
        "batch": BATCH,
        "clients": clients,
        "transactions": transactions,
        "value": round(api, 3),
        "runs": [round(t, 3) for t in api_times],
        "baseline": round(file, 3),
        "baseline_runs": [round(t, 3) for t in file_times],
        "ratio": round(api / file, 2),
    }
