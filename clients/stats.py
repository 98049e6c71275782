"""Keeping each client's purchase statistics current (the write path's second half).

A client's statistics are the aggregates of their transactions (first and last purchase day,
purchase days = distinct days with a positive amount, revenue and margin over every line,
returns included) and, from those and the segment's policy, the cycle, the status and
``due_on`` for a date. Everything here is set-based SQL that runs on PostgreSQL and SQLite
alike (a few dialect fragments differ), so its cost is one statement per chunk of clients:

- ``refresh_clients(client_ids=..., as_of=...)``: the write path. Callers run it inside the same
  ``transaction.atomic()`` as the writes that made it necessary. One ``UPDATE ... FROM`` per
  chunk of clients computes the aggregates and the status together and writes only rows whose
  values changed.
- ``rebuild_stats(as_of=...)``: the same for every client at once, counting only transactions
  up to ``as_of``; on PostgreSQL with a larger ``work_mem`` so the aggregate stays in memory.
- ``restatus_sql(...)``: cycle, status and ``due_on`` from the stored aggregates alone (the
  nightly run's re-status of due clients; see ``reactivation.services.pipeline``).

``refresh_clients_orm`` is the straightforward per-client loop kept as the reference the tests
compare the SQL with, and as the benchmark's baseline.
"""

# ruff: noqa: S608 - the SQL is assembled from constants in this module; values are parameters.
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from itertools import islice

from django.db import connection, transaction

from clients.models import Client
from reactivation import rules

CHUNK = 2000
# The full rebuild's aggregate (a sort for COUNT(DISTINCT)) fits in memory with this.
REBUILD_WORK_MEM = "256MB"


def _chunks(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    iterator = iter(ids)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _dialect() -> dict[str, str]:
    """The few expressions PostgreSQL and SQLite spell differently."""
    if connection.vendor == "postgresql":
        return {
            "days": "({a} - {b})",
            "add_days": "({date} + CAST({days} AS integer))",
            "greatest": "GREATEST",
            "least": "LEAST",
            "distinct": "IS DISTINCT FROM",
            "ids": "= ANY(%s)",
        }
    return {
        "days": "CAST(julianday({a}) - julianday({b}) AS integer)",
        "add_days": "date({date}, '+' || CAST({days} AS integer) || ' days')",
        "greatest": "MAX",
        "least": "MIN",
        "distinct": "IS NOT",
        "ids": "IN ({marks})",
    }


# Every segment's effective policy (its own, else the default one), keyed by segment id with 0
# for clients without a segment, so the join stays an equality.
POLICY_CTE = """
pol AS (
    SELECT s.id AS seg,
           COALESCE(p.sleeping_after, d.sleeping_after) AS sleeping_after,
           COALESCE(p.flag_after, d.flag_after) AS flag_after,
           COALESCE(p.default_cycle_days, d.default_cycle_days) AS default_cycle,
           COALESCE(p.prior_strength, d.prior_strength) AS prior_strength,
           COALESCE(p.min_cycle_days, d.min_cycle_days) AS min_cycle,
           COALESCE(p.max_cycle_days, d.max_cycle_days) AS max_cycle
    FROM clients_segment s
    LEFT JOIN reactivation_policy p ON p.segment_id = s.id
    CROSS JOIN reactivation_policy d
    WHERE d.segment_id IS NULL
    UNION ALL
    SELECT 0, d.sleeping_after, d.flag_after, d.default_cycle_days, d.prior_strength,
           d.min_cycle_days, d.max_cycle_days
    FROM reactivation_policy d
    WHERE d.segment_id IS NULL
)
"""


def _status_select(source: str, d: dict[str, str]) -> str:
    """SELECT id, the aggregates and the cycle, status and due_on computed from ``source`` (a
    relation with id, segment_id, first_on, last_on, days, revenue, margin) for as_of = %(as_of)s.

    The arithmetic follows ``reactivation.rules`` operation for operation (same floating-point
    results): cycle = clamp((default x r + span) / (r + n - 1)), active while
    d <= sleeping_after x cycle, lost once d > flag_after x cycle, due the day after the threshold.
    """
    span = d["days"].format(a="x.last_on", b="x.first_on")
    as_of = "CAST(%(as_of)s AS date)" if connection.vendor == "postgresql" else "%(as_of)s"
    since = d["days"].format(a=as_of, b="y.last_on")
    due_active = d["add_days"].format(
        date="z.last_on", days="floor(z.sleeping_after * z.cycle) + 1"
    )
    due_sleeping = d["add_days"].format(date="z.last_on", days="floor(z.flag_after * z.cycle) + 1")
    return f"""
    SELECT z.id, z.first_on, z.last_on, z.days, z.revenue, z.margin, z.cycle,
           CASE WHEN z.cycle IS NULL THEN 'none'
                WHEN z.since <= z.sleeping_after * z.cycle THEN 'active'
                WHEN z.since > z.flag_after * z.cycle THEN 'lost'
                ELSE 'sleeping' END AS status,
           CASE WHEN z.cycle IS NULL THEN NULL
                WHEN z.since <= z.sleeping_after * z.cycle THEN {due_active}
                WHEN z.since > z.flag_after * z.cycle THEN NULL
                ELSE {due_sleeping} END AS due_on
    FROM (
        SELECT y.*, {since} AS since
        FROM (
            SELECT x.id, x.first_on, x.last_on, x.days, x.revenue, x.margin,
                   pol.sleeping_after, pol.flag_after,
                   CASE WHEN x.days > 0 THEN
                       {d["greatest"]}(pol.min_cycle, {d["least"]}(pol.max_cycle,
                           (pol.default_cycle * pol.prior_strength + {span})
                           / (pol.prior_strength + x.days - 1)))
                   END AS cycle
            FROM ({source}) x
            JOIN pol ON pol.seg = COALESCE(x.segment_id, 0)
        ) y
    ) z
    """


STAT_COLUMNS = [
    ("first_purchase_on", "first_on"),
    ("last_purchase_on", "last_on"),
    ("purchase_days", "days"),
    ("revenue", "revenue"),
    ("margin", "margin"),
    ("cycle_days", "cycle"),
    ("status", "status"),
    ("due_on", "due_on"),
]
STATUS_COLUMNS = STAT_COLUMNS[5:]


def _update_sql(select: str, d: dict[str, str], columns: list[tuple[str, str]]) -> str:
    sets = ", ".join(f"{column} = n.{source}" for column, source in columns)
    changed = " OR ".join(f"c.{column} {d['distinct']} n.{source}" for column, source in columns)
    if connection.vendor == "postgresql":
        return f"WITH {POLICY_CTE} UPDATE clients_client AS c SET {sets} FROM ({select}) n WHERE c.id = n.id AND ({changed})"
    # SQLite's UPDATE ... FROM cannot alias the target table.
    changed = " OR ".join(
        f"clients_client.{column} {d['distinct']} n.{source}" for column, source in columns
    )
    return f"WITH {POLICY_CTE} UPDATE clients_client SET {sets} FROM ({select}) n WHERE clients_client.id = n.id AND ({changed})"


def _aggregate_source(d: dict[str, str], *, ids_filter: str, until: bool) -> str:
    """Each selected client with the aggregates of their transactions (none: zeros/NULLs)."""
    date_filter = "AND t.date <= %(until)s" if until else ""
    return f"""
        SELECT c0.id, c0.segment_id, a.first_on, a.last_on, COALESCE(a.days, 0) AS days,
               COALESCE(a.revenue, 0) AS revenue, COALESCE(a.margin, 0) AS margin
        FROM clients_client c0
        LEFT JOIN (
            SELECT t.client_id,
                   MIN(CASE WHEN t.amount > 0 THEN t.date END) AS first_on,
                   MAX(CASE WHEN t.amount > 0 THEN t.date END) AS last_on,
                   COUNT(DISTINCT CASE WHEN t.amount > 0 THEN t.date END) AS days,
                   ROUND(SUM(t.amount), 2) AS revenue,
                   ROUND(COALESCE(SUM(t.margin), 0), 2) AS margin
            FROM clients_transaction t
            WHERE 1 = 1 {ids_filter.replace("{col}", "t.client_id")} {date_filter}
            GROUP BY t.client_id
        ) a ON a.client_id = c0.id
        WHERE 1 = 1 {ids_filter.replace("{col}", "c0.id")}
    """


def _rowcount(cursor) -> int:
    """Rows changed by the last statement (Python's sqlite3 reports -1 for ``WITH ... UPDATE``)."""
    if cursor.rowcount >= 0:
        return cursor.rowcount
    cursor.execute("SELECT changes()")
    return cursor.fetchone()[0]


def _ensure_default_policy() -> None:
    from reactivation.policies import policy_for_segments

    policy_for_segments()


def _ids_clause(d: dict[str, str], count: int) -> str:
    if connection.vendor == "postgresql":
        return "AND {col} = ANY(%(ids)s)"
    return "AND {col} IN (" + ", ".join(f"%(id{i})s" for i in range(count)) + ")"


def _ids_params(ids: list[int]) -> dict:
    if connection.vendor == "postgresql":
        return {"ids": ids}
    return {f"id{i}": value for i, value in enumerate(ids)}


def refresh_clients(
    *, client_ids: Iterable[int] | None, as_of: dt.date, until: dt.date | None = None
) -> int:
    """Aggregates, cycle, status and ``due_on`` for the given clients (None: all), as of
    ``as_of``, counting all their transactions (or those up to ``until``, for a replay of the
    past). Returns the number of rows changed."""
    _ensure_default_policy()
    d = _dialect()
    columns = STAT_COLUMNS
    changed = 0
    params = {"as_of": as_of, "until": until}
    with connection.cursor() as cursor:
        if client_ids is None:
            source = _aggregate_source(d, ids_filter="", until=until is not None)
            cursor.execute(_update_sql(_status_select(source, d), d, columns), params)
            return _rowcount(cursor)
        for chunk in _chunks(client_ids, CHUNK):
            source = _aggregate_source(
                d, ids_filter=_ids_clause(d, len(chunk)), until=until is not None
            )
            cursor.execute(
                _update_sql(_status_select(source, d), d, columns), {**params, **_ids_params(chunk)}
            )
            changed += _rowcount(cursor)
    return changed


def rebuild_stats(*, as_of: dt.date) -> int:
    """Every client's statistics from their transactions up to ``as_of``, in one statement.
    Returns the number of rows changed (unchanged rows are not rewritten)."""
    _ensure_default_policy()
    d = _dialect()
    source = _aggregate_source(d, ids_filter="", until=True)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SET LOCAL work_mem = '{REBUILD_WORK_MEM}'")
        cursor.execute(
            _update_sql(_status_select(source, d), d, STAT_COLUMNS),
            {"as_of": as_of, "until": as_of},
        )
        return _rowcount(cursor)


def _stored_source(*, ids_filter: str, extra: str = "") -> str:
    return f"""
        SELECT c0.id, c0.segment_id, c0.first_purchase_on AS first_on,
               c0.last_purchase_on AS last_on, c0.purchase_days AS days,
               c0.revenue, c0.margin
        FROM clients_client c0
        WHERE 1 = 1 {ids_filter.replace("{col}", "c0.id")} {extra}
    """


def restatus_sql(*, client_ids: list[int] | None, as_of: dt.date) -> int:
    """Cycle, status and ``due_on`` from the stored aggregates (no transaction is read)."""
    _ensure_default_policy()
    d = _dialect()
    with connection.cursor() as cursor:
        if client_ids is None:
            select = _status_select(_stored_source(ids_filter=""), d)
            cursor.execute(_update_sql(select, d, STATUS_COLUMNS), {"as_of": as_of})
            return _rowcount(cursor)
        changed = 0
        for chunk in _chunks(client_ids, CHUNK):
            select = _status_select(_stored_source(ids_filter=_ids_clause(d, len(chunk))), d)
            cursor.execute(
                _update_sql(select, d, STATUS_COLUMNS), {"as_of": as_of, **_ids_params(chunk)}
            )
            changed += _rowcount(cursor)
        return changed


def restatus_due_chunk(
    *, as_of: dt.date, limit: int, skip_locked: bool = True
) -> list[tuple[int, str, str]]:
    """Re-status up to ``limit`` clients whose ``due_on`` has arrived; returns
    ``(client id, old status, new status)`` for each.

    On PostgreSQL the clients are claimed with ``FOR UPDATE SKIP LOCKED``, so several workers
    can each take a different chunk at the same time (``skip_locked=False`` waits for the
    others' rows instead: after they commit, those are no longer due); the caller holds the transaction open
    until it has also opened the newly lost clients' cases, so a worker that dies mid-chunk
    leaves nothing half done. SQLite has one writer at a time, which gives the same guarantee.
    """
    _ensure_default_policy()
    d = _dialect()
    with connection.cursor() as cursor:
        lock = ""
        if connection.vendor == "postgresql":
            lock = " FOR UPDATE SKIP LOCKED" if skip_locked else " FOR UPDATE"
        cursor.execute(
            "SELECT id, status FROM clients_client WHERE due_on <= %s ORDER BY due_on, id LIMIT %s"
            + lock,
            [as_of, limit],
        )
        old = dict(cursor.fetchall())
        if not old:
            return []
        ids = list(old)
        select = _status_select(_stored_source(ids_filter=_ids_clause(d, len(ids))), d)
        # Every claimed row changes (its new due_on lies after as_of), so a rerun skips it.
        cursor.execute(_update_sql(select, d, STATUS_COLUMNS), {"as_of": as_of, **_ids_params(ids)})
        cursor.execute(
            "SELECT id, status FROM clients_client WHERE id "
            + (
                "= ANY(%s)"
                if connection.vendor == "postgresql"
                else "IN (" + ", ".join(["%s"] * len(ids)) + ")"
            ),
            [ids] if connection.vendor == "postgresql" else ids,
        )
        new = dict(cursor.fetchall())
    return [(client_id, old[client_id], new[client_id]) for client_id in ids]


# --- The reference path: one client at a time in Python -------------------------------------


def refresh_clients_orm(*, client_ids: Iterable[int] | None, as_of: dt.date) -> int:
    """The same result as ``refresh_clients``, computed client by client with the ORM (the
    reference the tests hold the SQL to, and the benchmarks' baseline)."""
    from django.db.models import Count, Max, Min, Q, Sum

    from clients.models import Transaction
    from reactivation.policies import policy_for_segments

    policies = policy_for_segments()
    queryset = Client.objects.order_by("pk")
    if client_ids is not None:
        queryset = queryset.filter(pk__in=list(client_ids))
    changed = 0
    for client in queryset.iterator(chunk_size=CHUNK):
        purchases = Q(amount__gt=0)
        agg = Transaction.objects.filter(client=client).aggregate(
            first=Min("date", filter=purchases),
            last=Max("date", filter=purchases),
            days=Count("date", filter=purchases, distinct=True),
            revenue=Sum("amount"),
            margin=Sum("margin"),
        )
        policy = policies.get(client.segment_id) or policies[None]
        cycle = rules.cycle_days(
            purchase_days=agg["days"],
            span_days=(agg["last"] - agg["first"]).days if agg["days"] else 0,
            prior_strength=policy.prior_strength,
            default_cycle=policy.default_cycle_days,
            min_cycle=policy.min_cycle_days,
            max_cycle=policy.max_cycle_days,
        )
        status = rules.status_for(
            days_since=(as_of - agg["last"]).days if agg["last"] else None,
            cycle_days=cycle,
            sleeping_after=policy.sleeping_after,
            flag_after=policy.flag_after,
        )
        due = rules.due_on(
            last_purchase_on=agg["last"],
            cycle_days=cycle,
            sleeping_after=policy.sleeping_after,
            flag_after=policy.flag_after,
            as_of=as_of,
        )
        values = {
            "first_purchase_on": agg["first"],
            "last_purchase_on": agg["last"],
            "purchase_days": agg["days"],
            "revenue": agg["revenue"] or 0,
            "margin": agg["margin"] or 0,
            "cycle_days": cycle,
            "status": status,
            "due_on": due,
        }
        if any(getattr(client, key) != value for key, value in values.items()):
            Client.objects.filter(pk=client.pk).update(**values)
            changed += 1
    return changed
