"""The manager's pages at scale: my week, the pool and the case page.

    .venv/bin/python benchmarks/run.py pages [--clients N] [--transactions M] [--repeat R]

Two synthetic bases live side by side: the baseline (10k clients, 100k transactions, 500 open
cases) in ``<DATABASE_URL name>_base`` (created and migrated when missing) and the scale base
(default 1M clients, 10M transactions, 50k open cases) in the DATABASE_URL database. Both are
emptied and loaded (``PAGES_BENCH_REUSE=1`` keeps bases that already have the right number of
clients). On both, every third open assigned case gets a call-back date from a week ago to a
week ahead and every reached call a reason, so that each bucket of the week (call-backs today,
overdue, this week, later) and each filter has rows; this follows today's date and is redone on
a kept base. One manager's pages are then served in-process through Django's test client (the
whole server side: middleware, session, queries, templates), alternating between the two bases
request by request (each base on its own kept connection, as with persistent connections), so
that both see the same machine load; the case page walks through different cases of that
manager's week. For each page: the median and p95 server time and the
SQL query count on both bases, the ratio of the p95s, and whether the query count stayed the
same whatever the rows shown. Set ``REDIS_URL`` as production does: the sessions are read from
the cache.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Iterable
from typing import Any

BASELINE = {"clients": 10_000, "transactions": 100_000, "open_cases": 500}
SCALE = {"clients": 1_000_000, "transactions": 10_000_000, "open_cases": 50_000}
CALLS_PER_OPEN_CASE = 1


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def _seed_activity(as_of: dt.date) -> None:
    """Reasons, scripts and templates, and about one call per open case (set-wise), so the
    plan counters and the case page read real rows."""
    from django.db import connection

    from calls.seed import seed_catalogue

    seed_catalogue()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO calls_call (case_id, client_id, manager_id, called_at, outcome, answers, notes)
            SELECT c.id, c.client_id, c.assigned_to_id, %s::timestamptz - (c.id %% 72) * interval '1 hour',
                   CASE WHEN c.id %% 3 = 0 THEN 'reached' ELSE 'no_answer' END, '{}'::jsonb, ''
            FROM reactivation_case c
            WHERE c.status = 'open' AND c.assigned_to_id IS NOT NULL
            """,
            [dt.datetime.combine(as_of, dt.time(12), tzinfo=dt.UTC)],
        )
        cursor.execute("ANALYZE calls_call")


def _schedule_call_backs(as_of: dt.date) -> None:
    """Give every third open, assigned case a call-back date from a week ago to a week ahead
    (a fifteenth of them today), and a reason to every reached call (and to its case, as its
    latest reason), as a week of calling leaves them, so that every bucket of the week and
    every filter has rows. Set-wise and idempotent for a date; run on a kept base too, since
    the dates follow today."""
    from django.db import connection

    from calls.models import Reason

    reasons = list(Reason.objects.order_by("position", "id").values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE reactivation_case c
            SET next_call_on = v.next_call_on
            FROM (
                SELECT id, CASE WHEN id %% 3 = 0
                                THEN %s::date + ((id / 3) %% 15 - 7)::int END AS next_call_on
                FROM reactivation_case
                WHERE status = 'open' AND assigned_to_id IS NOT NULL AND NOT is_control
            ) v
            WHERE c.id = v.id AND c.next_call_on IS DISTINCT FROM v.next_call_on
            """,
            [as_of],
        )
        cursor.execute(
            """
            UPDATE calls_call SET reason_id = (%s::bigint[])[1 + id %% %s]
            WHERE outcome = 'reached' AND reason_id IS NULL
            """,
            [reasons, len(reasons)],
        )
        # As the call service keeps it: each case's reason is that of its latest call with one.
        cursor.execute(
            """
            UPDATE reactivation_case c SET last_reason_id = l.reason_id
            FROM (
                SELECT DISTINCT ON (case_id) case_id, reason_id
                FROM calls_call WHERE reason_id IS NOT NULL
                ORDER BY case_id, called_at DESC, id DESC
            ) l
            WHERE c.id = l.case_id AND c.last_reason_id IS DISTINCT FROM l.reason_id
            """
        )
        cursor.execute("VACUUM ANALYZE reactivation_case")
        cursor.execute("VACUUM ANALYZE calls_call")


def _use_database(name: str) -> None:
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = name


def _ensure_database(name: str) -> None:
    """Create (and migrate) the database ``name`` on the same server if it is missing."""
    import psycopg
    from django.core.management import call_command
    from django.db import connection
    from psycopg import sql

    settings = connection.settings_dict
    with psycopg.connect(
        dbname="postgres",
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        autocommit=True,
    ) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    _use_database(name)
    call_command("migrate", verbosity=0)


def _prepare(size: dict[str, int], as_of: dt.date, log: Any) -> dict[str, Any]:
    """Load the base (unless reusable) and log a manager in; returns what the timing needs."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count
    from django.test import Client

    from benchmarks.synth import load_synthetic_base
    from calls.models import Reason
    from clients.models import Client as Customer
    from clients.models import Segment
    from reactivation.models import Case
    from reactivation.selectors.queue import queue_list

    reuse = (
        os.environ.get("PAGES_BENCH_REUSE") == "1" and Customer.objects.count() == size["clients"]
    )
    if not reuse:
        log(f"loading {size}")
        # The loader opens about half of ``cases`` (lost clients) and closes the rest in the past.
        summary = load_synthetic_base(
            clients=size["clients"],
            transactions=size["transactions"],
            cases=2 * size["open_cases"],
            seed=1,
            as_of=as_of,
        )
        _seed_activity(as_of)
        log(f"loaded in {summary.seconds}s")
    _schedule_call_backs(as_of)
    row = (
        Case.objects.filter(status="open", assigned_to__isnull=False)
        .values("assigned_to")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    manager = get_user_model().objects.get(pk=row["assigned_to"])
    client = Client()
    client.force_login(manager, backend="django.contrib.auth.backends.ModelBackend")
    week = queue_list(user=manager, filters=None, today=as_of).queryset
    case_ids = list(week.values_list("pk", flat=True)[:50])
    segment = Segment.objects.order_by("pk").values_list("pk", flat=True).first()
    reason = Reason.objects.order_by("position", "pk").values_list("pk", flat=True).first()
    return {
        "client": client,
        "open_cases_of_manager": row["n"],
        "urls": {
            "queue": ["/queue/"],
            "queue_filtered": ["/queue/?status=", "/queue/?offer=none", "/queue/?page=2"],
            "queue_filtered_more": [
                "/queue/?abc_class=B",
                f"/queue/?segment={segment}",
                "/queue/?status=declined",
                "/queue/?page=3",
            ],
            "queue_reason": [f"/queue/?reason={reason}"],
            "pool": ["/queue/pool/"],
            "case": [f"/cases/{pk}/" for pk in case_ids],
        },
    }


def _query_counts(client: Any, urls: list[str]) -> list[int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for url in urls[:10]:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, secure=True).status_code == 200, url
        counts.append(len(captured.captured_queries))
    return counts


def main(args: Any) -> Iterable[dict]:
    from django.conf import settings
    from django.db import connection, connections, reset_queries
    from django.utils import timezone

    def log(message: str) -> None:
        if not args.json:
            print(f"[pages] {message}", file=sys.stderr, flush=True)

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    repeat = args.repeat or 100
    scale = dict(SCALE)
    if args.clients:
        scale["clients"] = args.clients
        scale["open_cases"] = max(BASELINE["open_cases"], args.clients // 20)
    if args.transactions:
        scale["transactions"] = args.transactions
    as_of = timezone.localdate()
    main_name = connection.settings_dict["NAME"]
    bases = {"baseline": (f"{main_name}_base", BASELINE), "scale": (main_name, scale)}
    prepared: dict[str, dict[str, Any]] = {}
    for label, (name, size) in bases.items():
        _ensure_database(name)
        prepared[label] = _prepare(size, as_of, lambda m, label=label: log(f"{label}: {m}"))
    pages = list(prepared["baseline"]["urls"])
    times: dict[str, dict[str, list[float]]] = {
        label: {page: [] for page in pages} for label in bases
    }
    log(f"measuring {repeat} rounds, alternating between the bases")
    # Each base keeps its own open connection, as a server with persistent connections
    # (CONN_MAX_AGE) does: switching swaps them, so no request pays for a new server process.
    _use_database(main_name)
    original = connections["default"]
    wrappers = {
        name: original.__class__({**original.settings_dict, "NAME": name}, alias="default")
        for name, _size in bases.values()
    }
    for round_number in range(-3, repeat):  # three warm-up rounds
        for label, (name, _size) in bases.items():
            connections["default"] = wrappers[name]
            connection.ensure_connection()
            client = prepared[label]["client"]
            for page in pages:
                urls = prepared[label]["urls"][page]
                url = urls[round_number % len(urls)]
                started = time.perf_counter()
                response = client.get(url, secure=True)
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, url
                if round_number >= 0:
                    times[label][page].append(elapsed)
            reset_queries()
    connections["default"] = original
    for wrapper in wrappers.values():
        wrapper.close()
    counts = {}
    for label, (name, _size) in bases.items():
        _use_database(name)
        counts[label] = {
            page: _query_counts(prepared[label]["client"], prepared[label]["urls"][page])
            for page in pages
        }
    _use_database(main_name)
    for page in pages:
        result: dict[str, Any] = {"page": page}
        for label, (_name, size) in bases.items():
            values = times[label][page]
            result[label] = {
                **size,
                "open_cases_of_manager": prepared[label]["open_cases_of_manager"],
                "median_ms": round(statistics.median(values), 2),
                "p95_ms": round(_p95(values), 2),
                "queries": counts[label][page],
                "requests": len(values),
            }
        base, big = result["baseline"], result["scale"]
        result["p95_ratio"] = round(big["p95_ms"] / base["p95_ms"], 2)
        result["median_ratio"] = round(big["median_ms"] / base["median_ms"], 2)
        # The same URLs (the n-th case of the week for the case page) run as many queries on
        # both bases.
        result["queries_constant"] = base["queries"] == big["queries"]
        result["target"] = "p95 ratio <= 1.5, scale p95 < 50 ms, constant queries"
        yield result
