"""The manager's pages at scale: my week, the pool and the case page.

    .venv/bin/python benchmarks/run.py pages [--clients N] [--transactions M] [--repeat R]

Two synthetic bases are loaded one after the other into the DATABASE_URL database (it is
emptied): the baseline (10k clients, 100k transactions, 500 open cases) and the scale base
(default 1M clients, 10M transactions, 50k open cases). On each, one manager's pages are served
in-process through Django's test client (the whole server side: middleware, session, queries,
templates) ``repeat`` times after a warm-up; the case page walks through different cases of
that manager's week. For each page it reports the median and p95 server time and the number
of SQL queries on both bases, the ratio of the p95s, and whether the query count stayed the
same whatever the rows shown.
"""

from __future__ import annotations

import datetime as dt
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


def _measure(client: Any, urls: list[str], repeat: int) -> dict[str, Any]:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    for url in urls[: min(len(urls), 5)]:  # warm-up: templates, plans, caches
        assert client.get(url, secure=True).status_code == 200, url
    times: list[float] = []
    queries: list[int] = []
    for n in range(repeat):
        url = urls[n % len(urls)]
        started = time.perf_counter()
        response = client.get(url, secure=True)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, url
        reset_queries()
    for url in urls[: min(len(urls), 10)]:
        with CaptureQueriesContext(connection) as captured:
            client.get(url, secure=True)
        queries.append(len(captured.captured_queries))
    return {
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(_p95(times), 2),
        "queries": queries,
        "requests": repeat,
    }


def _pages(repeat: int, as_of: dt.date) -> dict[str, dict[str, Any]]:
    from django.contrib.auth import get_user_model
    from django.db.models import Count
    from django.test import Client

    from reactivation.models import Case
    from reactivation.selectors.queue import queue_list

    User = get_user_model()
    row = (
        Case.objects.filter(status="open", assigned_to__isnull=False)
        .values("assigned_to")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    manager = User.objects.get(pk=row["assigned_to"])
    client = Client()
    client.force_login(manager, backend="django.contrib.auth.backends.ModelBackend")
    week = queue_list(user=manager, filters=None, today=as_of).queryset
    case_ids = list(week.values_list("pk", flat=True)[:50])
    return {
        "queue": {"open_cases_of_manager": row["n"], **_measure(client, ["/queue/"], repeat)},
        "queue_filtered": _measure(
            client, ["/queue/?status=", "/queue/?offer=none", "/queue/?page=2"], repeat
        ),
        "pool": _measure(client, ["/queue/pool/"], repeat),
        "case": _measure(client, [f"/cases/{pk}/" for pk in case_ids], repeat),
    }


def main(args: Any) -> Iterable[dict]:
    from django.conf import settings
    from django.utils import timezone

    from benchmarks.synth import load_synthetic_base

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    repeat = args.repeat or 100
    scale = dict(SCALE)
    if args.clients:
        scale["clients"] = args.clients
        scale["open_cases"] = max(BASELINE["open_cases"], args.clients // 20)
    if args.transactions:
        scale["transactions"] = args.transactions
    as_of = timezone.localdate()
    measured: dict[str, dict[str, Any]] = {}
    sizes = {"baseline": BASELINE, "scale": scale}
    for label, size in sizes.items():
        if not args.json:
            print(f"[pages] loading the {label} base: {size}", file=sys.stderr, flush=True)
        # The loader opens about half of ``cases`` (lost clients) and closes the rest in the past.
        summary = load_synthetic_base(
            clients=size["clients"],
            transactions=size["transactions"],
            cases=2 * size["open_cases"],
            seed=1,
            as_of=as_of,
        )
        _seed_activity(as_of)
        if not args.json:
            print(f"[pages] loaded in {summary.seconds}s; measuring", file=sys.stderr, flush=True)
        measured[label] = {"size": size, "pages": _pages(repeat, as_of)}
    for page in measured["baseline"]["pages"]:
        base = measured["baseline"]["pages"][page]
        big = measured["scale"]["pages"][page]
        yield {
            "page": page,
            "baseline": {**measured["baseline"]["size"], **base},
            "scale": {**measured["scale"]["size"], **big},
            "p95_ratio": round(big["p95_ms"] / base["p95_ms"], 2) if base["p95_ms"] else None,
            "median_ratio": round(big["median_ms"] / base["median_ms"], 2)
            if base["median_ms"]
            else None,
            # The same URLs (the n-th case of the week for the case page) run as many queries
            # on both bases.
            "queries_constant": base["queries"] == big["queries"],
            "target": "p95 ratio <= 1.5, scale p95 < 50 ms, constant queries",
        }
