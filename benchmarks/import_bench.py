"""Import benchmark: a semicolon / decimal-comma / Windows-1251 transactions file into PostgreSQL.

Figures, each beside its baseline measured in the same run:

1. ``import_seconds``: ``transactions_import`` of N rows into empty tables, statuses current at
   the end, against a raw ``COPY`` of the same file into a bare table of text columns;
   beside it ``floor_seconds``: only writing the same N rows, already typed, into the real
   ``clients_transaction`` with its indexes, unique identity and foreign keys (``floor``), the
   part of the import any importer pays, against the same raw ``COPY``;
2. ``peak_rss_mb``: the importing process's peak memory for N and for 2N rows (each in a fresh
   process), whose ratio shows whether memory grows with the file;
3. ``orm_loop_seconds``: the usual way (per-row ``get_or_create`` of client and transaction) on
   a 10,000-row sample, extrapolated to N, against the product's import of N.

    .venv/bin/python benchmarks/run.py import [--transactions N] [--clients C] [--repeat R]

It TRUNCATEs the client and transaction tables of the database in DATABASE_URL.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = 10_000
HEADER = "Код клиента;Дата продажи;Сумма;Маржа;Комментарий\r\n"


def make_file(path: Path, rows: int, clients: int, seed: int = 1) -> None:
    """Rows as a Russian accounting export writes them: ``K0000123;05.08.2024;4 443,99;...``."""
    rnd = random.Random(seed)
    start = dt.date(2023, 1, 1)
    with open(path, "w", encoding="cp1251", newline="") as handle:
        handle.write(HEADER)
        lines = []
        for _ in range(rows):
            amount = rnd.randrange(100, 500_000) / 100
            if rnd.random() < 0.02:
                amount = -amount  # a return
            day = start + dt.timedelta(days=rnd.randrange(1000))
            text = f"{amount:,.2f}".replace(",", " ").replace(".", ",")
            margin = f"{amount * 0.3:.2f}".replace(".", ",")
            lines.append(f"K{rnd.randrange(clients):07d};{day:%d.%m.%Y};{text};{margin};заказ\r\n")
            if len(lines) >= 50_000:
                handle.writelines(lines)
                lines.clear()
        handle.writelines(lines)


def _reset() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE clients_transaction, clients_client RESTART IDENTITY CASCADE")
        cursor.execute("VACUUM ANALYZE clients_transaction")
        cursor.execute("VACUUM ANALYZE clients_client")


def raw_copy(path: Path) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw_copy")
        cursor.execute("CREATE TABLE bench_raw_copy (a text, b text, c text, d text, e text)")
        started = time.perf_counter()
        sql = "COPY bench_raw_copy FROM STDIN WITH (FORMAT csv, DELIMITER ';', HEADER true, ENCODING 'WIN1251')"
        with cursor.copy(sql) as copy, open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_raw_copy")
    return elapsed


def product_import(path: Path, phases: dict[str, float] | None = None) -> tuple[float, dict]:
    """Import ``path`` into empty tables; with ``phases``, also time each phase into it."""
    from clients import services

    _reset()
    with _timed_phases(phases if phases is not None else {}):
        started = time.perf_counter()
        result = services.transactions_import(path=path)
        elapsed = time.perf_counter() - started
    assert result.ok, result.report.errors[:5]
    return elapsed, result.counts


@contextlib.contextmanager
def _timed_phases(phases: dict[str, float]):
    """Seconds spent in each phase of an import (wrapping the service's own steps):
    ``read`` (the file into staging: the PostgreSQL fast path, or the Python reader),
    ``write`` (clients and transactions), ``refresh_clients`` (clients.stats, inside the
    write transaction) and ``commit`` (where the deferred foreign-key checks run)."""
    from django.db import connection

    from clients import services
    from clients.importing import writes

    def timed(name, function):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - started

        return wrapper

    saved = {name: getattr(services, name) for name in ("_read_fast", "_read", "write")}
    saved_refresh, saved_commit = writes.refresh_clients, connection.commit
    services._read_fast = timed("read", saved["_read_fast"])
    services._read = timed("read", saved["_read"])
    services.write = timed("write_total", saved["write"])
    writes.refresh_clients = timed("refresh_clients", saved_refresh)
    connection.commit = timed("commit", saved_commit)
    try:
        yield phases
    finally:
        for name, function in saved.items():
            setattr(services, name, function)
        writes.refresh_clients, connection.commit = saved_refresh, saved_commit
        if "write_total" in phases:
            total = phases.pop("write_total")
            phases["write"] = total - phases.get("refresh_clients", 0.0) - phases.get("commit", 0.0)


def floor() -> dict[str, float]:
    """Seconds to write the rows of the import just run, already typed, into the real
    ``clients_transaction`` and check their foreign keys: the table's own cost of the load.

    The rows (client id, identity, date, amount, margin... as the import stored them, in the
    import's order) are first read into memory; then, in one transaction, the table is emptied
    (``TRUNCATE``, as before the import), the rows are sent by ``COPY`` from memory, the
    deferred foreign-key checks are run by ``SET CONSTRAINTS ALL IMMEDIATE``, and everything is
    rolled back, leaving the import's rows and its clients as they were.
    """
    from django.db import connection, transaction

    columns = "client_id, identity, external_id, date, amount, margin, promo_code, created_at, import_job_id"
    with connection.cursor() as cursor:
        with cursor.copy(
            f"COPY (SELECT {columns} FROM clients_transaction ORDER BY id) TO STDOUT"  # noqa: S608
        ) as copy:
            buffer = io.BytesIO()
            for chunk in copy:
                buffer.write(chunk)
        data = buffer.getbuffer()
        with transaction.atomic():
            cursor.execute("TRUNCATE clients_transaction CASCADE")
            started = time.perf_counter()
            with cursor.copy(f"COPY clients_transaction ({columns}) FROM STDIN") as copy:
                for offset in range(0, len(data), 1 << 20):
                    copy.write(data[offset : offset + (1 << 20)])
            written = time.perf_counter()
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            checked = time.perf_counter()
            transaction.set_rollback(True)
    return {"copy": written - started, "foreign_keys": checked - written}


def orm_loop(path: Path) -> float:
    """The usual way: one get_or_create per client and per transaction, then the stats."""
    from django.db import transaction

    from clients.importing.values import parse_date, parse_decimal
    from clients.models import Client, Transaction
    from clients.stats import refresh_clients

    _reset()
    started = time.perf_counter()
    with transaction.atomic(), open(path, encoding="cp1251") as handle:
        next(handle)
        seen: set[int] = set()
        for number, line in enumerate(handle):
            if number >= SAMPLE:
                break
            client_id, day, amount, margin, _note = line.rstrip("\r\n").split(";")
            client, _ = Client.objects.get_or_create(external_id=client_id, defaults={"name": ""})
            date, value = parse_date(day), parse_decimal(amount)
            Transaction.objects.get_or_create(
                identity=f"k:{client_id}|{date}|{value:.2f}|1",
                defaults={
                    "client": client,
                    "date": date,
                    "amount": value,
                    "margin": parse_decimal(margin),
                },
            )
            seen.add(client.pk)
        refresh_clients(client_ids=seen, as_of=dt.date.today())
    return time.perf_counter() - started


def peak_memory(path: Path) -> float:
    """Peak RSS (MB) of a fresh process importing ``path``."""
    code = (
        f"import os, sys, django; sys.path.insert(0, {str(ROOT)!r});"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'reactivation.settings'); django.setup();"
        "from benchmarks.import_bench import peak_rss_mb, product_import;"
        f"product_import(__import__('pathlib').Path({str(path)!r})); print(peak_rss_mb())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=os.environ
    )
    return float(out.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    """This process's own peak RSS in MB. Linux's ``VmHWM`` belongs to the process's memory
    since its ``exec``; ``ru_maxrss`` would also carry the peak of the parent it was forked
    from (which holds the floor's rows in memory)."""
    import resource

    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rounded(phases: dict[str, float]) -> dict[str, float]:
    return {name: round(value, 2) for name, value in phases.items()}


def _ratio(value: float, baseline: float) -> float:
    return round(value / baseline, 2) if baseline else float("inf")


def main(args) -> Iterable[dict]:
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("The import benchmark needs PostgreSQL: set DATABASE_URL.")
    rows = args.transactions or 1_000_000
    clients = args.clients or max(1, rows // 20)
    repeat = args.repeat or 1
    log = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr, flush=True))
    with tempfile.TemporaryDirectory() as tmp:
        path, double = Path(tmp) / "sales.csv", Path(tmp) / "sales2.csv"
        log(f"writing {rows:,} rows ...")
        make_file(path, rows, clients)
        copies, imports, counts, phases, floors = [], [], {}, [], []
        for run in range(repeat):
            copies.append(raw_copy(path))
            log(f"raw COPY {copies[-1]:.2f}s")
            phases.append({})
            seconds, counts = product_import(path, phases[-1])
            imports.append(seconds)
            log(f"import {seconds:.2f}s {counts} {_rounded(phases[-1])} (run {run + 1})")
            floors.append(floor())
            log(f"floor {sum(floors[-1].values()):.2f}s {_rounded(floors[-1])}")
        copy_s, import_s = statistics.median(copies), statistics.median(imports)
        yield {
            "figure": "import_seconds",
            "rows": rows,
            "clients": clients,
            "value": round(import_s, 2),
            "baseline": "raw COPY of the same file into a bare text table",
            "baseline_value": round(copy_s, 2),
            "ratio": _ratio(import_s, copy_s),
            "limit": 8.0,
            "rows_per_second": round(rows / import_s),
            "counts": counts,
            "runs": repeat,
            "raw_copy_runs": [round(x, 2) for x in copies],
            "import_runs": [round(x, 2) for x in imports],
            # Median seconds per phase (see _timed_phases).
            "phases": {
                name: round(statistics.median(p.get(name, 0.0) for p in phases), 2)
                for name in ("read", "write", "refresh_clients", "commit")
            },
        }
        floor_s = statistics.median(sum(f.values()) for f in floors)
        yield {
            "figure": "floor_seconds",
            "rows": rows,
            "value": round(floor_s, 2),
            "baseline": "raw COPY of the same file into a bare text table",
            "baseline_value": round(copy_s, 2),
            "ratio": _ratio(floor_s, copy_s),
            "import_ratio": _ratio(import_s, floor_s),
            "what": "COPY of the import's rows, typed, into clients_transaction (five indexes, "
            "unique identity) and its foreign-key checks, then rolled back",
            "floor_runs": [round(sum(f.values()), 2) for f in floors],
            # Median seconds per part.
            "parts": {
                name: round(statistics.median(f[name] for f in floors), 2)
                for name in ("copy", "foreign_keys")
            },
        }
        orm_s = orm_loop(path) * rows / SAMPLE
        log(f"ORM loop extrapolated {orm_s:.1f}s")
        yield {
            "figure": "orm_loop_seconds",
            "rows": rows,
            "value": round(import_s, 2),
            "baseline": f"per-row get_or_create on a {SAMPLE:,}-row sample, extrapolated",
            "baseline_value": round(orm_s, 1),
            "ratio": _ratio(import_s, orm_s),
        }
        log("peak memory, N and 2N rows ...")
        small = peak_memory(path)
        make_file(double, rows * 2, clients * 2, seed=2)
        large = peak_memory(double)
        yield {
            "figure": "peak_rss_mb",
            "rows": rows * 2,
            "value": round(large, 1),
            "baseline": f"peak RSS importing {rows:,} rows",
            "baseline_value": round(small, 1),
            "ratio": _ratio(large, small),
            "limit": 1.15,
        }
        _reset()


if __name__ == "__main__":  # pragma: no cover - run through benchmarks/run.py
    print(json.dumps({"error": "run: .venv/bin/python benchmarks/run.py import"}))
