"""Each case's copy of its client's segment (``Case.segment``), which my week and the pool
filter by. A case takes its client's segment when it opens (``Case.save``, and the gate's bulk
insert); ``copy_client_segments`` brings the copies up to date after a client changes: on each
save of a client (``reactivation.signals``), after a client import, and once a week for all
(the safety net for set-wise writes that bypass both, such as a bulk edit in the admin).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from clients.models import Client
from reactivation.models import Case

# Clients per UPDATE when a list is given: one parameter each, well under SQLite's limit.
CHUNK = 5_000


def copy_client_segments(*, client_ids: Iterable[int] | None = None) -> int:
    """Give every case of the given clients (None: of all clients) its client's current
    segment where it differs. One UPDATE (a chunk of clients at a time when a list is given);
    returns the number of cases changed."""
    quote = connection.ops.quote_name
    case, client = quote(Case._meta.db_table), quote(Client._meta.db_table)
    distinct = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    # SQLite's UPDATE ... FROM cannot alias the target table, so neither side is aliased.
    sql = (
        f"UPDATE {case} SET segment_id = {client}.segment_id FROM {client} "  # noqa: S608
        f"WHERE {client}.id = {case}.client_id AND {case}.segment_id {distinct} {client}.segment_id"
    )
    changed = 0
    with connection.cursor() as cursor:
        if client_ids is None:
            cursor.execute(sql)
            return cursor.rowcount
        ids = list(client_ids)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"{sql} AND {client}.id IN ({placeholders})", chunk)
            changed += cursor.rowcount
    return changed
