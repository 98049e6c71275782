"""The daily history of the dashboards, reconstructed from the transactions.

``snapshots_backfill(*, start, end)`` writes the daily snapshots of a past range (for a new
install, after a large import, and for the demo), so the dashboards have years of history from
the first day; then the cohort table of its months, the value table of its last day and the
activity tables of the range.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

import numpy as np
from django.db import connection, transaction
from django.db.models import Count, Q, Sum

from clients.models import Client, Segment, Transaction
from reactivation.models import Case, DailySnapshot
from reactivation.services.activity import activity_refresh, as_date
from reactivation.services.dashboard_cache import dashboard_changed
from reactivation.services.snapshots import (
    cohorts_refresh,
    value_snapshot_write,
)

ERR_BACKFILL_RANGE = "The backfill start must not be after its end."
FETCH_CHUNK = 200_000
EPOCH = dt.date(1970, 1, 1)


def _day_number_sql() -> str:
    if connection.vendor == "postgresql":
        return "(date - DATE '1970-01-01')"
    return "CAST(julianday(date) - 2440587.5 AS INTEGER)"


def _purchase_days(end: dt.date) -> tuple[np.ndarray, np.ndarray]:
    """Every (client, purchase day) up to ``end``, ordered, as two integer arrays (day numbers
    count from 1970-01-01). Fetched in chunks so that millions of rows stay small in memory."""
    sql = (
        f"SELECT client_id, {_day_number_sql()} AS day FROM clients_transaction "  # noqa: S608 - no user input
        "WHERE amount > 0 AND date <= %s GROUP BY client_id, date ORDER BY client_id, date"
    )
    clients: list[np.ndarray] = []
    days: list[np.ndarray] = []
    with connection.cursor() as cursor:
        cursor.execute(sql, [end])
        while chunk := cursor.fetchmany(FETCH_CHUNK):
            array = np.asarray(chunk, dtype=np.int64)
            clients.append(array[:, 0])
            days.append(array[:, 1])
    if not clients:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(clients), np.concatenate(days)


def _status_counts(
    *,
    client_ids: np.ndarray,
    days: np.ndarray,
    segment_of: dict[int, int | None],
    start_day: int,
    end_day: int,
) -> dict[int | None, dict[str, np.ndarray]]:
    """Active, sleeping and lost clients per day of ``[start_day, end_day]`` and per segment.

    Between two purchase days a client's cycle is fixed (it depends only on the purchases so
    far), so each purchase day opens three intervals - active for ``floor(sleeping_after x
    cycle)`` days, then sleeping until ``floor(flag_after x cycle)``, then lost - each cut short
    by the next purchase. Intervals are added to per-day difference arrays: the cost follows the
    number of purchase days, not their product with the number of days.
    """
    from reactivation.policies import cycle_priors, policy_for_segments

    policies = policy_for_segments()
    priors = cycle_priors()
    length = end_day - start_day + 1
    result: dict[int | None, dict[str, np.ndarray]] = {}
    if client_ids.size == 0:
        return result
    new_client = np.ones(client_ids.size, dtype=bool)
    new_client[1:] = client_ids[1:] != client_ids[:-1]
    group_start = np.maximum.accumulate(np.where(new_client, np.arange(client_ids.size), 0))
    n = np.arange(client_ids.size) - group_start + 1  # purchase days so far, this one included
    first = days[group_start]
    following = np.empty_like(days)
    following[:-1] = days[1:]
    following[-1] = end_day + 1
    last_of_client = np.ones(client_ids.size, dtype=bool)
    last_of_client[:-1] = new_client[1:]
    following[last_of_client] = end_day + 1
    lookup = np.full(int(client_ids.max()) + 1, -1, dtype=np.int64)
    for client_id, segment_id in segment_of.items():
        if client_id < lookup.size:
            lookup[client_id] = _segment_key(segment_id)
    segments = lookup[client_ids]

    for key in np.unique(segments):
        segment_id = None if key < 0 else int(key)
        policy = policies.get(segment_id) or policies[None]
        mask = segments == key
        prior = priors.get(segment_id) or priors[None]
        r = prior.prior_strength
        cycle = (prior.default_cycle * r + (days[mask] - first[mask])) / (r + n[mask] - 1)
        cycle = np.clip(cycle, policy.min_cycle_days, policy.max_cycle_days)
        sleeping_from = days[mask] + np.floor(policy.sleeping_after * cycle).astype(np.int64) + 1
        lost_from = days[mask] + np.floor(policy.flag_after * cycle).astype(np.int64) + 1
        until = following[mask]
        counts = {}
        for name, begin, stop in (
            ("active", days[mask], np.minimum(sleeping_from, until)),
            ("sleeping", np.minimum(sleeping_from, until), np.minimum(lost_from, until)),
            ("lost", np.minimum(lost_from, until), until),
        ):
            counts[name] = _interval_counts(begin, stop, start_day, length)
        firsts = days[mask & (n == 1)]
        # Index 0 counts first purchases before the range, i + 1 those on day i.
        counts["first"] = np.bincount(
            np.clip(firsts - start_day, -1, length) + 1, minlength=length + 2
        )
        result[segment_id] = counts
    return result


def _segment_key(segment_id: int | None) -> int:
    return -1 if segment_id is None else segment_id


def _interval_counts(
    begin: np.ndarray, stop: np.ndarray, start_day: int, length: int
) -> np.ndarray:
    """How many of the half-open intervals ``[begin, stop)`` cover each day of the range."""
    keep = stop > begin
    lo = np.clip(begin[keep] - start_day, 0, length)
    hi = np.clip(stop[keep] - start_day, 0, length)
    diff = np.zeros(length + 1, dtype=np.int64)
    np.add.at(diff, lo, 1)
    np.add.at(diff, hi, -1)
    return np.cumsum(diff)[:length]


@transaction.atomic
def snapshots_backfill(*, start: dt.date, end: dt.date) -> int:
    """Reconstruct the daily snapshots of ``[start, end]`` from the transactions and cases.

    Statuses are replayed under the current policies (see ``_status_counts``); a client counts
    as "no purchases" on a day before their first purchase. Rows already in the range are
    replaced, the cohort table is rebuilt for its months and the value table is written for
    ``end``. Returns the snapshot rows written.
    """
    if start > end:
        raise ValueError(ERR_BACKFILL_RANGE)
    start_day, end_day = (start - EPOCH).days, (end - EPOCH).days
    length = end_day - start_day + 1
    segment_of = dict(Client.objects.values_list("pk", "segment_id"))
    clients_per_segment: dict[int | None, int] = defaultdict(int)
    for segment_id in segment_of.values():
        clients_per_segment[segment_id] += 1
    client_ids, days = _purchase_days(end)
    statuses = _status_counts(
        client_ids=client_ids,
        days=days,
        segment_of=segment_of,
        start_day=start_day,
        end_day=end_day,
    )

    buyers = _daily(
        Transaction.objects.filter(date__gte=start, date__lte=end, amount__gt=0)
        .values("date", "client__segment_id")
        .annotate(n=Count("client_id", distinct=True)),
        "date",
        "client__segment_id",
    )
    revenue = _daily(
        Transaction.objects.filter(date__gte=start, date__lte=end)
        .values("date", "client__segment_id")
        .annotate(n=Sum("amount")),
        "date",
        "client__segment_id",
    )
    cases = Case.objects.filter(opened_on__gte=start, opened_on__lte=end)
    # Cases opened and held out as control, per day and segment, in one read of the cases.
    opened: dict[tuple, int] = {}
    control: dict[tuple, int] = {}
    for item in (
        cases.values("opened_on", "client__segment_id")
        .annotate(
            treated=Count("pk", filter=Q(is_control=False)),
            held=Count("pk", filter=Q(is_control=True)),
        )
        .order_by()
    ):
        key = (as_date(item["opened_on"]), item["client__segment_id"])
        opened[key], control[key] = item["treated"], item["held"]
    won = _daily(
        Case.objects.filter(
            closed_on__gte=start, closed_on__lte=end, status=Case.Status.WON_BACK, is_control=False
        )
        .values("closed_on", "client__segment_id")
        .annotate(n=Count("pk")),
        "closed_on",
        "client__segment_id",
    )

    # One block of day-by-day columns per segment (None: clients without one), then the row
    # without a segment as the whole base, their sum.
    columns: dict[int | None, dict[str, np.ndarray]] = {}
    for segment_id in {None, *Segment.objects.values_list("pk", flat=True)}:
        counts = statuses.get(segment_id)
        zeros = np.zeros(length, dtype=np.int64)
        # first[0] counts first purchases before the range, first[i + 1] those on day i.
        firsts = counts["first"] if counts else np.zeros(length + 2, dtype=np.int64)
        bought_by = np.cumsum(firsts)[1 : length + 1]
        days_of = [start + dt.timedelta(days=index) for index in range(length)]
        columns[segment_id] = {
            "active": counts["active"] if counts else zeros,
            "sleeping": counts["sleeping"] if counts else zeros,
            "lost": counts["lost"] if counts else zeros,
            "no_purchases": np.maximum(0, clients_per_segment.get(segment_id, 0) - bought_by),
            "new_clients": firsts[1 : length + 1],
            "revenue": np.array(
                [revenue.get((d, segment_id), Decimal(0)) for d in days_of], dtype=object
            ),
            "buyers": np.array([buyers.get((d, segment_id), 0) for d in days_of], dtype=np.int64),
            "cases_opened": np.array(
                [opened.get((d, segment_id), 0) for d in days_of], dtype=np.int64
            ),
            "cases_won": np.array([won.get((d, segment_id), 0) for d in days_of], dtype=np.int64),
            "cases_control": np.array(
                [control.get((d, segment_id), 0) for d in days_of], dtype=np.int64
            ),
        }
    whole = {name: sum(block[name] for block in columns.values()) for name in columns[None]}
    columns[None] = whole
    rows = []
    for segment_id, block in columns.items():
        for index in range(length):
            rows.append(
                DailySnapshot(
                    as_of=start + dt.timedelta(days=index),
                    segment_id=segment_id,
                    active=int(block["active"][index]),
                    sleeping=int(block["sleeping"][index]),
                    lost=int(block["lost"][index]),
                    no_purchases=int(block["no_purchases"][index]),
                    revenue=block["revenue"][index],
                    purchases=int(block["buyers"][index]),
                    buyers=int(block["buyers"][index]),
                    new_clients=int(block["new_clients"][index]),
                    cases_opened=int(block["cases_opened"][index]),
                    cases_won=int(block["cases_won"][index]),
                    cases_control=int(block["cases_control"][index]),
                )
            )
    DailySnapshot.objects.filter(as_of__gte=start, as_of__lte=end).delete()
    DailySnapshot.objects.bulk_create(rows, batch_size=5000)
    cohorts_refresh(start=start, end=end)
    value_snapshot_write(as_of=end)
    activity_refresh(start=start, end=end)
    dashboard_changed()
    return len(rows)


def _daily(items: Iterable[dict], date_field: str, segment_field: str) -> dict[tuple, object]:
    return {
        (as_date(item[date_field]), item[segment_field]): item["n"] for item in items.order_by()
    }
