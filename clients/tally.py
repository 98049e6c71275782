"""Clients per segment and status, read without counting the base (see ``StatusTally``).

``status_counts()`` gives ``{(segment_id, status): clients}``. On PostgreSQL it folds the signed
rows the triggers left into one row per pair and returns those, or counts afresh when a row
asks for it (after ``rebuild_stats``, and once after the migration). Either is a single
statement, so it sees the statistics and the rows their writers added at one instant: a
writer that has not committed yet has neither its change nor its row counted. An advisory
lock keeps two readers from folding the same rows at once. SQLite counts the clients.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import Count

from clients.models import Client, Status

# pg_advisory_xact_lock(namespace, key): the pipeline's runs use other namespaces.
TALLY_LOCK = (0x5EAC, -1)

RECOUNT_MARK_SQL = (
    "INSERT INTO clients_statustally (segment_id, status, clients, recount) "
    "VALUES (NULL, '', 0, true)"
)
# Either statement leaves one row per (segment, status) and returns those rows: the counts as
# of its own snapshot, concurrent writers' uncommitted rows left for the next read.
_RECOUNT_SQL = """
    WITH gone AS (DELETE FROM clients_statustally),
    counted AS (
        INSERT INTO clients_statustally (segment_id, status, clients, recount)
        SELECT segment_id, status, count(*), false FROM clients_clientstats
        GROUP BY segment_id, status
        RETURNING segment_id, status, clients
    )
    SELECT segment_id, status, clients FROM counted
"""
_FOLD_SQL = """
    WITH gone AS (
        DELETE FROM clients_statustally WHERE NOT recount
        RETURNING segment_id, status, clients
    ),
    folded AS (
        INSERT INTO clients_statustally (segment_id, status, clients, recount)
        SELECT segment_id, status, sum(clients), false FROM gone
        GROUP BY segment_id, status HAVING sum(clients) <> 0
        RETURNING segment_id, status, clients
    )
    SELECT segment_id, status, clients FROM folded
"""


def status_counts() -> dict[tuple[int | None, str], int]:
    """Clients per (segment id or None, status), for the pairs that have any."""
    if connection.vendor != "postgresql":
        rows = Client.objects.values("segment_id", "stats__status").annotate(n=Count("pk"))
        counts: dict[tuple[int | None, str], int] = {}
        for row in rows.order_by():
            key = (row["segment_id"], row["stats__status"] or Status.NONE)
            counts[key] = counts.get(key, 0) + row["n"]
        return counts
    with transaction.atomic(), connection.cursor() as cursor:
        # The lock is taken before the fold or the recount runs (either is right whichever
        # the check picks: a recount is always exact).
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s),"
            " EXISTS (SELECT 1 FROM clients_statustally WHERE recount)",
            TALLY_LOCK,
        )
        cursor.execute(_RECOUNT_SQL if cursor.fetchone()[1] else _FOLD_SQL)
        return {(segment_id, status): int(n) for segment_id, status, n in cursor.fetchall()}


def recount_later(cursor) -> None:
    """Ask the next read for a full count (after the statistics were written afresh)."""
    if connection.vendor == "postgresql":
        cursor.execute(RECOUNT_MARK_SQL)
