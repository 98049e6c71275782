"""Keeping each client's purchase statistics current (the write path's second half).

A client's statistics are the aggregates of their transactions (first and last purchase day,
purchase days = distinct days with a positive amount, revenue and margin over every line,
returns included) and, from those and the segment's policy, the cycle, the status and
``due_on`` for a date. They live in ``clients_clientstats`` (``ClientStats``), one narrow row per
client. Everything here is set-based SQL that runs on PostgreSQL and SQLite alike (a few dialect
fragments differ), so its cost is one statement per chunk of clients:

- ``refresh_clients(client_ids=..., as_of=...)``: the write path. Callers run it inside the same
  ``transaction.atomic()`` as the writes that made it necessary. One ``INSERT ... ON CONFLICT DO
  UPDATE`` per chunk of clients computes the aggregates and the status together, writes only
  rows whose values changed, and creates the row of a client that has none.
- ``rebuild_stats(as_of=...)``: the same for every client at once, counting only transactions
  up to ``as_of``. On PostgreSQL it writes a fresh table and swaps it in (see
  ``_rebuild_postgres``): far cheaper than rewriting every row in place, which leaves a dead
  version of each row and an entry in every index behind.
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

from clients.models import Client, ClientStats
from clients.tally import recount_later
from reactivation import rules
from reactivation.planner import planner_settings

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
            "fence": "OFFSET 0",
        }
    return {
        "days": "CAST(julianday({a}) - julianday({b}) AS integer)",
        "add_days": "date({date}, '+' || CAST({days} AS integer) || ' days')",
        "greatest": "MAX",
        "least": "MIN",
        "distinct": "IS NOT",
        "ids": "IN ({marks})",
        "fence": "LIMIT -1 OFFSET 0",
    }


# Every segment's effective policy (its own, else the default one), keyed by segment id with 0
# for clients without a segment, so the join stays an equality. The cycle's prior is the fitted
# one (strength r, typical gap alpha / r of the segment's fit; the clients without a segment keep
# theirs on the default policy; the strength capped) unless the policy pins the typed values, as
# ``reactivation.rules.prior_in_use`` says.
_FITTED = "{pin} <> 'typed' AND {m}.model_r > 0 AND {m}.model_alpha > 0"
_CAPPED = (
    f"CASE WHEN {{m}}.model_r > {rules.MAX_FITTED_PRIOR_STRENGTH!r} "
    f"THEN {rules.MAX_FITTED_PRIOR_STRENGTH!r} ELSE {{m}}.model_r END"
)
POLICY_CTE = f"""
pol AS (
    SELECT s.id AS seg,
           COALESCE(p.sleeping_after, d.sleeping_after) AS sleeping_after,
           COALESCE(p.flag_after, d.flag_after) AS flag_after,
           CASE WHEN {_FITTED.format(pin="COALESCE(p.cycle_prior, d.cycle_prior)", m="s")}
                THEN s.model_alpha / s.model_r
                ELSE COALESCE(p.default_cycle_days, d.default_cycle_days) END AS default_cycle,
           CASE WHEN {_FITTED.format(pin="COALESCE(p.cycle_prior, d.cycle_prior)", m="s")}
                THEN {_CAPPED.format(m="s")}
                ELSE COALESCE(p.prior_strength, d.prior_strength) END AS prior_strength,
           COALESCE(p.min_cycle_days, d.min_cycle_days) AS min_cycle,
           COALESCE(p.max_cycle_days, d.max_cycle_days) AS max_cycle
    FROM clients_segment s
    LEFT JOIN reactivation_policy p ON p.segment_id = s.id
    CROSS JOIN reactivation_policy d
    WHERE d.segment_id IS NULL
    UNION ALL
    SELECT 0, d.sleeping_after, d.flag_after,
           CASE WHEN {_FITTED.format(pin="d.cycle_prior", m="d")}
                THEN d.model_alpha / d.model_r ELSE d.default_cycle_days END,
           CASE WHEN {_FITTED.format(pin="d.cycle_prior", m="d")}
                THEN {_CAPPED.format(m="d")} ELSE d.prior_strength END,
           d.min_cycle_days, d.max_cycle_days
    FROM reactivation_policy d
    WHERE d.segment_id IS NULL
)
"""


def _status_select(source: str, d: dict[str, str]) -> str:
    """SELECT id, the aggregates and the cycle, status and due_on computed from ``source`` (a
    relation with id, segment_id, first_on, last_on, days, revenue, margin) for as_of = %(as_of)s.

    The ``OFFSET 0`` fences keep each level a subquery of its own, so the cycle and the days since are
    computed once per client instead of once per place the outer levels use them.

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
    SELECT z.id, z.segment_id, z.first_on, z.last_on, z.days, z.revenue, z.margin, z.cycle,
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
            SELECT x.id, x.segment_id, x.first_on, x.last_on, x.days, x.revenue, x.margin,
                   pol.sleeping_after, pol.flag_after,
                   CASE WHEN x.days > 0 THEN
                       {d["greatest"]}(pol.min_cycle, {d["least"]}(pol.max_cycle,
                           (pol.default_cycle * pol.prior_strength + {span})
                           / (pol.prior_strength + x.days - 1)))
                   END AS cycle
            FROM ({source}) x
            JOIN pol ON pol.seg = COALESCE(x.segment_id, 0)
            {d["fence"]}
        ) y
        {d["fence"]}
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
    ("segment_id", "segment_id"),
]
STATUS_COLUMNS = [("cycle_days", "cycle"), ("status", "status"), ("due_on", "due_on")]
STATS_TABLE = ClientStats._meta.db_table


def _upsert_sql(select: str, d: dict[str, str], columns: list[tuple[str, str]]) -> str:
    """Write ``columns`` of each row of ``select`` into its client's statistics row, creating
    the row where there is none; a row whose values are all unchanged is not rewritten."""
    names = ", ".join(column for column, _source in columns)
    sources = ", ".join(f"n.{source}" for _column, source in columns)
    sets = ", ".join(f"{column} = excluded.{column}" for column, _source in columns)
    changed = " OR ".join(
        f"{STATS_TABLE}.{column} {d['distinct']} excluded.{column}" for column, _source in columns
    )
    # "WHERE 1 = 1" keeps SQLite from reading ON CONFLICT as a join's ON.
    return f"""WITH {POLICY_CTE}
        INSERT INTO {STATS_TABLE} (client_id, {names})
        SELECT n.id, {sources} FROM ({select}) n WHERE 1 = 1
        ON CONFLICT (client_id) DO UPDATE SET {sets} WHERE {changed}"""


def _update_sql(
    select: str, d: dict[str, str], columns: list[tuple[str, str]], ids_filter: str = ""
) -> str:
    """Update ``columns`` of existing statistics rows from ``select`` where they changed.

    ``ids_filter`` (the chunk's ids) is applied to the target rows too: without it PostgreSQL
    joins the chunk to the whole table by a sequential scan, a cost that grows with the base.
    """
    sets = ", ".join(f"{column} = n.{source}" for column, source in columns)
    changed = " OR ".join(
        f"{STATS_TABLE}.{column} {d['distinct']} n.{source}" for column, source in columns
    )
    target = ids_filter.replace("{col}", f"{STATS_TABLE}.client_id")
    # SQLite's UPDATE ... FROM cannot alias the target table, so neither side does.
    return f"""WITH {POLICY_CTE} UPDATE {STATS_TABLE} SET {sets} FROM ({select}) n
        WHERE {STATS_TABLE}.client_id = n.id {target} AND ({changed})"""


def _aggregate_source(d: dict[str, str], *, ids_filter: str, until: bool) -> str:
    """Each selected client with the aggregates of their transactions (none: zeros/NULLs)."""
    date_filter = "AND t.date <= %(until)s" if until else ""
    if connection.vendor == "postgresql":
        # FILTER and sums of numeric(14, 2) (already exact to the cent) cost PostgreSQL less
        # than CASE inside each aggregate and a rounding.
        aggregates = """MIN(t.date) FILTER (WHERE t.amount > 0) AS first_on,
                   MAX(t.date) FILTER (WHERE t.amount > 0) AS last_on,
                   COUNT(DISTINCT t.date) FILTER (WHERE t.amount > 0) AS days,
                   SUM(t.amount) AS revenue,
                   COALESCE(SUM(t.margin), 0) AS margin"""
    else:
        aggregates = """MIN(CASE WHEN t.amount > 0 THEN t.date END) AS first_on,
                   MAX(CASE WHEN t.amount > 0 THEN t.date END) AS last_on,
                   COUNT(DISTINCT CASE WHEN t.amount > 0 THEN t.date END) AS days,
                   ROUND(SUM(t.amount), 2) AS revenue,
                   ROUND(COALESCE(SUM(t.margin), 0), 2) AS margin"""
    return f"""
        SELECT c0.id, c0.segment_id, a.first_on, a.last_on, COALESCE(a.days, 0) AS days,
               COALESCE(a.revenue, 0) AS revenue, COALESCE(a.margin, 0) AS margin
        FROM clients_client c0
        LEFT JOIN (
            SELECT t.client_id,
                   {aggregates}
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
            cursor.execute(_upsert_sql(_status_select(source, d), d, columns), params)
            return _rowcount(cursor)
        for chunk in _chunks(client_ids, CHUNK):
            source = _aggregate_source(
                d, ids_filter=_ids_clause(d, len(chunk)), until=until is not None
            )
            cursor.execute(
                _upsert_sql(_status_select(source, d), d, columns), {**params, **_ids_params(chunk)}
            )
            changed += _rowcount(cursor)
    return changed


def analyze_after_bulk_write(tables: Iterable[str], *, rows: int) -> list[str]:
    """Give PostgreSQL's planner the tables a bulk write has just loaded (returns those analysed).

    Autovacuum analyses a table only after a tenth of it has changed, and then only some time
    later: the statements right after a first load (the next import's checks, ``rebuild_stats``,
    the first nightly run) would be planned for an empty table, and a plan for no rows over a
    million takes minutes instead of seconds. A table is analysed when it never was, or when
    ``rows`` is at least a tenth of what the planner believes it holds; ANALYZE reads a sample
    of 30,000 rows, a fraction of a second at any size.
    """
    if connection.vendor != "postgresql" or rows <= 0:
        return []
    tables = list(tables)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE oid = ANY(%s::regclass[])", [tables]
        )
        believed = dict(cursor.fetchall())
        stale = [t for t in tables if believed.get(t, -1) < 0 or rows >= 0.1 * believed[t]]
        if stale:
            cursor.execute(f"ANALYZE {', '.join(stale)}")
    return stale


def rebuild_stats(*, as_of: dt.date) -> int:
    """Every client's statistics from their transactions up to ``as_of``. Returns the number of
    clients written (PostgreSQL writes them all; SQLite only the rows that changed)."""
    _ensure_default_policy()
    d = _dialect()
    source = _aggregate_source(d, ids_filter="", until=True)
    params = {"as_of": as_of, "until": as_of}
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The aggregate stays in memory; compiling the plan (JIT) costs more than it saves.
            with planner_settings(work_mem=REBUILD_WORK_MEM, jit="off"):
                return _rebuild_postgres(cursor, _status_select(source, d), params)
        cursor.execute(_upsert_sql(_status_select(source, d), d, STAT_COLUMNS), params)
        return _rowcount(cursor)


def _rebuild_postgres(cursor, select: str, params: dict) -> int:
    """Write the statistics into a fresh table and swap it in for the old one. Steps:

    1. lock the statistics table against writers (readers go on reading the old rows), so no
       refresh or nightly chunk lands in the old table while the new one is written;
    2. create the new table like the old one (columns, defaults, checks) and fill it with one
       ``INSERT ... SELECT``: no dead row versions, no index entries written row by row;
    3. add the primary key, the foreign key (``NOT VALID``: every row was just read from
       ``clients_client``) and the indexes under temporary names, and the status tally's
       triggers (``clients.tally``, which recounts after the swap);
    4. drop the old table and give the new one, its indexes and constraints the old names, so
       the schema is exactly what the migrations made; then let the planner see it (ANALYZE).

    Everything runs in the caller's transaction: a failure leaves the old table in place.
    """
    table, new = STATS_TABLE, f"{STATS_TABLE}_new"
    # The planner's row counts for the small policy tables (never analysed by autovacuum at
    # this size) decide whether a million clients are sorted to meet them or the four policy
    # rows are hashed: count them first.
    cursor.execute("ANALYZE clients_segment, reactivation_policy")
    # The rebuild reads every client and transaction: on a base loaded without an ANALYZE since
    # (reltuples -1), planned as empty tables, the aggregate took minutes instead of seconds.
    cursor.execute(
        "SELECT string_agg(relname::text, ', ') FROM pg_class "
        "WHERE relname IN ('clients_client', 'clients_transaction') AND reltuples < 0"
    )
    never = cursor.fetchone()[0]
    if never:
        cursor.execute(f"ANALYZE {never}")
    # 1.
    cursor.execute(f"LOCK TABLE {table} IN SHARE MODE")
    cursor.execute(
        """SELECT c.conname, c.contype, pg_get_constraintdef(c.oid) FROM pg_constraint c
           WHERE c.conrelid = %s::regclass AND c.contype IN ('p', 'f')""",
        [table],
    )
    keys = cursor.fetchall()
    cursor.execute(
        """SELECT i.indexname, i.indexdef FROM pg_indexes i
           WHERE i.tablename = %s AND i.schemaname = current_schema()
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
        [table],
    )
    indexes = cursor.fetchall()
    cursor.execute(
        "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger "
        "WHERE tgrelid = %s::regclass AND NOT tgisinternal",
        [table],
    )
    triggers = cursor.fetchall()
    # 2.
    cursor.execute(f"DROP TABLE IF EXISTS {new}")
    cursor.execute(f"CREATE TABLE {new} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    names = ", ".join(column for column, _source in STAT_COLUMNS)
    sources = ", ".join(f"n.{source}" for _column, source in STAT_COLUMNS)
    # The aggregate comes out in client order, as do the clients by their key: merged, the
    # million rows need no hash table (PostgreSQL, underestimating the groups, would build one).
    with planner_settings(enable_hashjoin="off"):
        cursor.execute(
            f"WITH {POLICY_CTE} INSERT INTO {new} (client_id, {names}) "
            f"SELECT n.id, {sources} FROM ({select}) n",
            params,
        )
        written = cursor.rowcount
    # 3.
    for name, kind, definition in sorted(keys, key=lambda key: key[1] != "p"):
        not_valid = " NOT VALID" if kind == "f" else ""
        cursor.execute(f"ALTER TABLE {new} ADD CONSTRAINT {name}_new {definition}{not_valid}")
    for name, definition in indexes:
        cursor.execute(
            definition.replace(f"INDEX {name} ON", f"INDEX {name}_new ON", 1).replace(
                f".{table} ", f".{new} ", 1
            )
        )
    # The triggers that keep the status tally go on the new table once it is filled; the
    # tally is recounted on its next read.
    for _name, definition in triggers:
        cursor.execute(definition.replace(f".{table} ", f".{new} ", 1))
    recount_later(cursor)
    # 4. Rows written earlier in the same transaction may still owe their deferred foreign key
    # checks, which would stop the DROP: run them now, then defer again (Django's default).
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    cursor.execute(f"DROP TABLE {table}")
    cursor.execute(f"ALTER TABLE {new} RENAME TO {table}")
    for name, _kind, _definition in keys:
        cursor.execute(f"ALTER TABLE {table} RENAME CONSTRAINT {name}_new TO {name}")
    for name, _definition in indexes:
        cursor.execute(f"ALTER INDEX {name}_new RENAME TO {name}")
    cursor.execute(f"ANALYZE {table}")
    return written


def _stored_source(*, ids_filter: str = "", relation: str = STATS_TABLE) -> str:
    """The stored aggregates of the statistics rows in ``relation`` (the table, or rows with
    its columns) that pass ``ids_filter``."""
    return f"""
        SELECT s0.client_id AS id, s0.segment_id, s0.first_purchase_on AS first_on,
               s0.last_purchase_on AS last_on, s0.purchase_days AS days,
               s0.revenue, s0.margin
        FROM {relation} s0
        WHERE 1 = 1 {ids_filter.replace("{col}", "s0.client_id")}
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
            ids_filter = _ids_clause(d, len(chunk))
            select = _status_select(_stored_source(ids_filter=ids_filter), d)
            cursor.execute(
                _update_sql(select, d, STATUS_COLUMNS, ids_filter),
                {"as_of": as_of, **_ids_params(chunk)},
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
        if connection.vendor == "postgresql":
            return _restatus_due_chunk_postgres(cursor, d, as_of, limit, skip_locked)
        cursor.execute(
            "SELECT client_id, status FROM clients_clientstats WHERE due_on <= %s"
            " ORDER BY due_on, client_id LIMIT %s",
            [as_of, limit],
        )
        old = dict(cursor.fetchall())
        if not old:
            return []
        ids = list(old)
        ids_filter = _ids_clause(d, len(ids))
        select = _status_select(_stored_source(ids_filter=ids_filter), d)
        # Every claimed row changes (its new due_on lies after as_of), so a rerun skips it.
        cursor.execute(
            _update_sql(select, d, STATUS_COLUMNS, ids_filter)
            + f" RETURNING {STATS_TABLE}.client_id, {STATS_TABLE}.status",
            {"as_of": as_of, **_ids_params(ids)},
        )
        new = {**old, **dict(cursor.fetchall())}
    return [(client_id, old[client_id], new[client_id]) for client_id in ids]


def _restatus_due_chunk_postgres(
    cursor, d: dict[str, str], as_of: dt.date, limit: int, skip_locked: bool
) -> list[tuple[int, str, str]]:
    """The claim and the re-status in one statement: the claimed rows (a CTE that locks them)
    are read once, and each comes back with its status before and after."""
    lock = "FOR UPDATE SKIP LOCKED" if skip_locked else "FOR UPDATE"
    # The claim reads each row's stored aggregates too: the status is computed from them
    # without looking the row up again.
    due = f"""due AS (
        SELECT client_id, status AS old_status, segment_id, first_purchase_on,
               last_purchase_on, purchase_days, revenue, margin
        FROM {STATS_TABLE}
        WHERE due_on <= %(as_of)s ORDER BY due_on LIMIT %(limit)s {lock})"""
    select = _status_select(_stored_source(relation="due"), d)
    sets = ", ".join(f"{column} = n.{source}" for column, source in STATUS_COLUMNS)
    # Every claimed row changes (its new due_on lies after as_of), so a rerun skips it.
    cursor.execute(
        f"""WITH {POLICY_CTE}, {due}
            UPDATE {STATS_TABLE} AS t SET {sets}
            FROM ({select}) n JOIN due ON due.client_id = n.id
            WHERE t.client_id = n.id
            RETURNING t.client_id, due.old_status, t.status""",
        {"as_of": as_of, "limit": limit},
    )
    return sorted(cursor.fetchall())


# --- The reference path: one client at a time in Python -------------------------------------


def refresh_clients_orm(*, client_ids: Iterable[int] | None, as_of: dt.date) -> int:
    """The same result as ``refresh_clients``, computed client by client with the ORM (the
    reference the tests hold the SQL to, and the benchmarks' baseline)."""
    from django.db.models import Count, Max, Min, Q, Sum

    from clients.models import Transaction
    from reactivation.policies import cycle_priors, policy_for_segments

    policies = policy_for_segments()
    priors = cycle_priors()
    queryset = Client.objects.select_related("stats").order_by("pk")
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
        prior = priors.get(client.segment_id) or priors[None]
        cycle = rules.cycle_days(
            purchase_days=agg["days"],
            span_days=(agg["last"] - agg["first"]).days if agg["days"] else 0,
            prior_strength=prior.prior_strength,
            default_cycle=prior.default_cycle,
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
        stored = client.statistics
        if stored._state.adding or any(
            getattr(stored, key) != value for key, value in values.items()
        ):
            ClientStats.objects.update_or_create(client=client, defaults=values)
            changed += 1
    return changed
