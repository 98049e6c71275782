"""Keeping each client's purchase statistics current (the write path's second half).

``refresh_clients`` recomputes, set-wise, for the given clients (or all):
1. the aggregates from their transactions: first and last purchase day, purchase days (distinct
   days with a positive amount), revenue (all amounts, returns included) and margin;
2. the cycle, status and ``due_on`` for ``as_of`` from the aggregates and each segment's policy.

Callers run it inside the same ``transaction.atomic()`` as the writes that made it necessary.
This is the portable path (SQLite and PostgreSQL); ``reactivation.engine`` may take over the
second step with a single set-based statement on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from itertools import islice

from django.db import connection

from clients.models import Client
from reactivation import rules

CHUNK = 2000


def _chunks(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    iterator = iter(ids)
    while chunk := list(islice(iterator, size)):
        yield chunk


AGGREGATE_SQL = """
UPDATE clients_client SET
    first_purchase_on = agg.first_on,
    last_purchase_on = agg.last_on,
    purchase_days = agg.days,
    revenue = agg.revenue,
    margin = agg.margin
FROM (
    SELECT client_id,
           MIN(CASE WHEN amount > 0 THEN date END) AS first_on,
           MAX(CASE WHEN amount > 0 THEN date END) AS last_on,
           COUNT(DISTINCT CASE WHEN amount > 0 THEN date END) AS days,
           COALESCE(SUM(amount), 0) AS revenue,
           COALESCE(SUM(margin), 0) AS margin
    FROM clients_transaction
    {where}
    GROUP BY client_id
) AS agg
WHERE clients_client.id = agg.client_id
"""

RESET_SQL = """
UPDATE clients_client SET first_purchase_on = NULL, last_purchase_on = NULL, purchase_days = 0,
    revenue = 0, margin = 0
WHERE NOT EXISTS (SELECT 1 FROM clients_transaction t WHERE t.client_id = clients_client.id) {and_where}
"""


def refresh_aggregates(*, client_ids: Iterable[int] | None) -> None:
    """Step 1: the aggregates, in one UPDATE ... FROM (GROUP BY) per chunk of clients."""
    with connection.cursor() as cursor:
        if client_ids is None:
            cursor.execute(AGGREGATE_SQL.format(where=""))
            cursor.execute(RESET_SQL.format(and_where=""))
            return
        for chunk in _chunks(client_ids, CHUNK):
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(AGGREGATE_SQL.format(where=f"WHERE client_id IN ({marks})"), chunk)
            cursor.execute(RESET_SQL.format(and_where=f"AND clients_client.id IN ({marks})"), chunk)


def refresh_status(*, client_ids: Iterable[int] | None, as_of: dt.date) -> int:
    """Step 2: cycle, status and ``due_on`` from the aggregates. Returns the rows changed."""
    from reactivation.policies import policy_for_segments

    policies = policy_for_segments()
    queryset = Client.objects.order_by("pk").only(
        "pk", "segment_id", "first_purchase_on", "last_purchase_on", "purchase_days",
        "cycle_days", "status", "due_on",
    )
    batches = (
        (queryset.filter(pk__in=chunk) for chunk in _chunks(client_ids, CHUNK))
        if client_ids is not None
        else _all_in_batches(queryset)
    )
    changed = 0
    for batch in batches:
        dirty = []
        for client in batch:
            policy = policies.get(client.segment_id) or policies[None]
            cycle = rules.cycle_days(
                purchase_days=client.purchase_days,
                span_days=(client.last_purchase_on - client.first_purchase_on).days if client.purchase_days else 0,
                prior_strength=policy.prior_strength,
                default_cycle=policy.default_cycle_days,
                min_cycle=policy.min_cycle_days,
                max_cycle=policy.max_cycle_days,
            )
            status = rules.status_for(
                days_since=(as_of - client.last_purchase_on).days if client.last_purchase_on else None,
                cycle_days=cycle,
                sleeping_after=policy.sleeping_after,
                flag_after=policy.flag_after,
            )
            due = rules.due_on(
                last_purchase_on=client.last_purchase_on, cycle_days=cycle,
                sleeping_after=policy.sleeping_after, flag_after=policy.flag_after, as_of=as_of,
            )
            if (client.cycle_days, client.status, client.due_on) != (cycle, status, due):
                client.cycle_days, client.status, client.due_on = cycle, status, due
                dirty.append(client)
        if dirty:
            Client.objects.bulk_update(dirty, ["cycle_days", "status", "due_on"], batch_size=500)
            changed += len(dirty)
    return changed


def _all_in_batches(queryset) -> Iterator[list[Client]]:
    last = 0
    while batch := list(queryset.filter(pk__gt=last)[:CHUNK]):
        yield batch
        last = batch[-1].pk


def refresh_clients(*, client_ids: Iterable[int] | None, as_of: dt.date) -> int:
    """Aggregates, then cycle, status and ``due_on``, for the given clients (None: all)."""
    ids = None if client_ids is None else list(client_ids)
    refresh_aggregates(client_ids=ids)
    return refresh_status(client_ids=ids, as_of=as_of)
