"""The daily retention snapshots and the pre-aggregated tables the dashboards read.

- ``snapshot_write(*, as_of)`` is the nightly pipeline's last step: the day's rows per segment
  from the status tally and that day's transactions and cases, the running month of the cohort
  table and the activity tables. Idempotent: a second run for the same day replaces the rows it
  wrote. Its cost follows the day, not the base.
- ``value_snapshot_write(*, as_of)`` writes the value table, which reads every client: the
  weekly run calls it.
- ``snapshots_backfill(*, start, end)`` reconstructs the daily history from the transactions
  (for a new install, after a large import, and for the demo), so the dashboards have years of
  history from the first day.

Nothing here runs per request: the dashboards only read what these functions wrote.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.db import connection, transaction
from django.db.models import (
    Count,
    DateField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Sum,
)
from django.db.models.functions import TruncDate, TruncMonth

from calls.models import Call
from clients.models import Client, Segment, Status, Transaction
from clients.tally import status_counts
from reactivation import metrics, rules
from reactivation.models import (
    BusinessSettings,
    Case,
    CaseCohortDaily,
    CohortActivity,
    DailySnapshot,
    ManagerDaily,
    Offer,
    ReasonDaily,
    ValueSnapshot,
)
from reactivation.planner import BY_KEY, planner_settings

EXPECTED_PURCHASES_HORIZON_DAYS = 90
DEFAULT_YEARLY_CHURN = 0.30  # used by the value table until a year of snapshots exists
FETCH_CHUNK = 200_000
EPOCH = dt.date(1970, 1, 1)
# Cases, calls and offers can still change this long after the day they belong to (a case lives
# 60 days by default, then its revenue won back accrues for 90): the nightly run recomputes
# the activity tables for this many days back.
ACTIVITY_REFRESH_DAYS = 180
DASHBOARD_VERSION_KEY = "dashboard:version"


def dashboard_changed() -> None:
    """Mark the dashboards' cached results stale: called by every write of the tables they
    read, now and again once the transaction commits (a request in between must not cache
    what it read before the commit under the new version)."""
    import time

    from django.core.cache import cache

    def bump() -> None:
        cache.set(DASHBOARD_VERSION_KEY, time.time_ns(), None)

    bump()
    transaction.on_commit(bump)


ERR_BACKFILL_RANGE = "The backfill start must not be after its end."


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


# --- the nightly step ---------------------------------------------------------------------------


@transaction.atomic
def snapshot_write(*, as_of: dt.date) -> list[DailySnapshot]:
    """Write the snapshot of ``as_of`` (one row per segment, and one for clients without one).

    1. status counts from the status tally (``clients.tally``: the pipeline has just
       re-statused, and the tally follows every write without counting the base);
    2. revenue, purchase days, buyers and first purchases from that day's transactions;
    3. cases opened, won back and held out as control on that day;
    4. upsert the rows, then bring the running month of the cohort table up to the day (that
       day's buyers only, when the day before has its snapshot) and recompute the activity
       tables of the cases still moving. The value table is weekly (``value_snapshot_write``
       from the weekly run); the first snapshot writes one if there is none yet.

    Every read follows the day's transactions and cases, not the size of the base: they meet
    the clients by key (``BY_KEY``), where the planner would rather hash the client table.
    """
    incremental = (
        as_of.day > 1
        and not DailySnapshot.objects.filter(as_of=as_of).exists()
        and DailySnapshot.objects.filter(as_of=as_of - dt.timedelta(days=1)).exists()
    )
    counts = status_counts()
    with planner_settings(**BY_KEY):
        written = _day_write(as_of=as_of, counts=counts)
        if incremental:
            cohorts_add_day(as_of=as_of)
    if not incremental:
        cohorts_refresh(start=month_start(as_of), end=as_of)
    if not ValueSnapshot.objects.exists():
        value_snapshot_write(as_of=as_of)
    with planner_settings(**BY_KEY):
        activity_refresh(start=as_of - dt.timedelta(days=ACTIVITY_REFRESH_DAYS), end=as_of)
    dashboard_changed()
    return written


def _day_write(
    *, as_of: dt.date, counts: dict[tuple[int | None, str], int]
) -> list[DailySnapshot]:
    """The day's rows of ``DailySnapshot``: ``counts`` by status, the rest from the day's
    transactions and cases."""
    rows: dict[int | None, dict[str, object]] = defaultdict(dict)
    segment_ids = [None, *Segment.objects.values_list("pk", flat=True)]
    for segment_id in segment_ids:
        rows[segment_id] = {}

    for (segment_id, status), clients in counts.items():
        field = status if status != Status.NONE else "no_purchases"
        rows[segment_id][field] = rows[segment_id].get(field, 0) + clients

    # A first purchase on the day is one of the day's purchases: counted from those, by key.
    day = Transaction.objects.filter(date=as_of).values("client__segment_id").order_by()
    for item in day.annotate(
        revenue=Sum("amount"),
        buyers=Count("client_id", distinct=True, filter=Q(amount__gt=0)),
        new=Count(
            "client_id",
            distinct=True,
            filter=Q(amount__gt=0, client__stats__first_purchase_on=as_of),
        ),
    ):
        rows[item["client__segment_id"]].update(
            revenue=item["revenue"] or Decimal(0),
            purchases=item["buyers"],
            buyers=item["buyers"],
            new_clients=item["new"],
        )

    cases = Case.objects.values("client__segment_id").order_by()
    for item in cases.filter(opened_on=as_of).annotate(
        opened=Count("pk", filter=Q(is_control=False)),
        control=Count("pk", filter=Q(is_control=True)),
    ):
        rows[item["client__segment_id"]].update(
            cases_opened=item["opened"], cases_control=item["control"]
        )
    for item in cases.filter(
        closed_on=as_of, status=Case.Status.WON_BACK, is_control=False
    ).annotate(n=Count("pk")):
        rows[item["client__segment_id"]]["cases_won"] = item["n"]

    # The row without a segment is the whole base: every segment plus unsegmented clients.
    rows[None] = {
        field: sum(values.get(field, 0) for values in rows.values()) for field in SNAPSHOT_FIELDS
    }
    written = []
    for segment_id, values in rows.items():
        defaults = {field: values.get(field, 0) for field in SNAPSHOT_FIELDS}
        snapshot, _created = DailySnapshot.objects.update_or_create(
            as_of=as_of, segment_id=segment_id, defaults=defaults
        )
        written.append(snapshot)
    return written


SNAPSHOT_FIELDS = (
    "active",
    "sleeping",
    "lost",
    "no_purchases",
    "revenue",
    "purchases",
    "buyers",
    "new_clients",
    "cases_opened",
    "cases_won",
    "cases_control",
)


# --- cohorts ------------------------------------------------------------------------------------


def cohorts_refresh(*, start: dt.date, end: dt.date) -> int:
    """Recompute the cohort table for the months from ``start``'s to ``end``'s: for each month,
    how many clients of each first-purchase month bought in it up to ``end`` (one GROUP BY
    over the transactions of those months only). Returns the rows written."""
    first_month, last_month = month_start(start), month_start(end)
    counts = (
        Transaction.objects.filter(amount__gt=0, date__gte=first_month, date__lte=end)
        .annotate(month=TruncMonth("date"), cohort=TruncMonth("client__stats__first_purchase_on"))
        .values("cohort", "month", "client__segment_id")
        .annotate(n=Count("client_id", distinct=True))
        .order_by()
    )
    rows = [
        CohortActivity(
            cohort=_as_date(item["cohort"]),
            month=_as_date(item["month"]),
            segment_id=item["client__segment_id"],
            clients=item["n"],
        )
        for item in counts
        if item["cohort"] is not None
    ]
    CohortActivity.objects.filter(month__gte=first_month, month__lte=last_month).delete()
    CohortActivity.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def cohorts_add_day(*, as_of: dt.date) -> int:
    """Add ``as_of``'s buyers to the running month of the cohort table, for a table that is
    current up to the day before: only the clients whose first purchase of the month is that
    day (no purchase earlier in the month, by the client and date index). Returns the clients
    added."""
    month = month_start(as_of)
    earlier = Transaction.objects.filter(
        client_id=OuterRef("client_id"), amount__gt=0, date__gte=month, date__lt=as_of
    )
    added = (
        Transaction.objects.filter(date=as_of, amount__gt=0)
        .filter(~Exists(earlier))
        .annotate(cohort=TruncMonth("client__stats__first_purchase_on"))
        .values("cohort", "client__segment_id")
        .annotate(n=Count("client_id", distinct=True))
        .order_by()
    )
    counts = {
        (_as_date(item["cohort"]), item["client__segment_id"]): item["n"]
        for item in added
        if item["cohort"] is not None
    }
    existing = {
        (row.cohort, row.segment_id): row
        for row in CohortActivity.objects.filter(month=month, cohort__in={c for c, _s in counts})
    }
    changed, created = [], []
    for (cohort, segment_id), clients in counts.items():
        row = existing.get((cohort, segment_id))
        if row is None:
            created.append(
                CohortActivity(cohort=cohort, month=month, segment_id=segment_id, clients=clients)
            )
        else:
            row.clients += clients
            changed.append(row)
    CohortActivity.objects.bulk_update(changed, ["clients"], batch_size=2000)
    CohortActivity.objects.bulk_create(created, batch_size=2000)
    return sum(counts.values())


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


# --- value table --------------------------------------------------------------------------------


def yearly_churn_on(as_of: dt.date) -> float:
    """One minus the twelve-month retention rate ending on ``as_of``, from the snapshots."""
    year_ago = as_of - dt.timedelta(days=365)
    totals = DailySnapshot.objects.filter(segment__isnull=True)
    start = totals.filter(as_of=year_ago).aggregate(s=Sum("active") + Sum("sleeping"))["s"]
    end = totals.filter(as_of=as_of).aggregate(e=Sum("active") + Sum("sleeping"))["e"]
    new = totals.filter(as_of__gt=year_ago, as_of__lte=as_of).aggregate(n=Sum("new_clients"))["n"]
    retention = metrics.crr(
        start_customers=start or 0, end_customers=end or 0, new_customers=new or 0
    )
    churn = metrics.yearly_churn(retention=retention)
    return DEFAULT_YEARLY_CHURN if churn is None else churn


@dataclass
class _Group:
    clients: int = 0
    revenue: Decimal = Decimal(0)
    purchase_days: int = 0
    cycle_days_sum: float = 0.0
    potential_value: float = 0.0
    expected: float = 0.0
    modelled: int = 0


def value_snapshot_write(*, as_of: dt.date) -> int:
    """The value table for ``as_of``: per segment, status and ABC class, the clients, their
    revenue, purchase days and cycles, their potential value (the value rule) and the expected
    purchases in the next 90 days from the segment's fitted model. Returns the rows written."""
    settings = BusinessSettings.load()
    churn = yearly_churn_on(as_of)
    models = {segment.pk: segment for segment in Segment.objects.all() if segment.has_model}
    groups: dict[tuple, _Group] = defaultdict(_Group)
    fields = (
        "segment_id",
        "stats__status",
        "abc_class",
        "stats__revenue",
        "stats__margin",
        "stats__purchase_days",
        "stats__cycle_days",
        "stats__first_purchase_on",
        "stats__last_purchase_on",
    )
    modelled: dict[int, list[tuple[tuple, int, int, int]]] = defaultdict(list)
    for segment_id, status, abc, revenue, margin, days, cycle, first, last in (
        Client.objects.order_by().values_list(*fields).iterator(chunk_size=5000)
    ):
        key = (segment_id, status or Status.NONE, abc or "")
        days = days or 0
        group = groups[key]
        group.clients += 1
        group.revenue += revenue or 0
        group.purchase_days += days
        if cycle:
            group.cycle_days_sum += cycle
            per_purchase = (
                float(margin) / days
                if margin and days
                else float(revenue or 0) * settings.margin_rate / max(days, 1)
            )
            group.potential_value += rules.potential_value(
                margin_per_purchase=per_purchase, cycle_days=cycle, yearly_churn=churn
            )
        if segment_id in models and first is not None and first <= as_of:
            modelled[segment_id].append((key, days - 1, (last - first).days, (as_of - first).days))

    for segment_id, members in modelled.items():
        segment = models[segment_id]
        expected = _expected_purchases(segment, members)
        for member, value in zip(members, expected, strict=True):
            groups[member[0]].expected += value
            groups[member[0]].modelled += 1

    ValueSnapshot.objects.filter(as_of=as_of).delete()
    ValueSnapshot.objects.bulk_create(
        [
            ValueSnapshot(
                as_of=as_of,
                segment_id=segment_id,
                status=status,
                abc_class=abc,
                clients=group.clients,
                revenue=group.revenue,
                purchase_days=group.purchase_days,
                cycle_days_sum=group.cycle_days_sum,
                potential_value=Decimal(str(round(group.potential_value, 2))),
                expected_purchases_90d=group.expected,
                modelled_clients=group.modelled,
            )
            for (segment_id, status, abc), group in groups.items()
        ]
    )
    return len(groups)


def _expected_purchases(segment: Segment, members: list[tuple]) -> list[float]:
    """Expected purchases in the horizon per member ``(key, x, t_x, T)``: the engine's model
    (the same MBG/NBD as the client card) where it is installed, else the BG/NBD closed form."""
    x = [m[1] for m in members]
    t_x = [m[2] for m in members]
    age = [m[3] for m in members]
    try:
        from reactivation import bgnbd
    except ImportError:
        return metrics.bgnbd_expected_purchases(
            r=segment.model_r,
            alpha=segment.model_alpha,
            a=segment.model_a,
            b=segment.model_b,
            frequency=x,
            recency=t_x,
            age=age,
            horizon=EXPECTED_PURCHASES_HORIZON_DAYS,
        )
    params = bgnbd.Params(segment.model_r, segment.model_alpha, segment.model_a, segment.model_b)
    values = bgnbd.expected_purchases(params, EXPECTED_PURCHASES_HORIZON_DAYS, x, t_x, age)
    return [float(v) for v in values]


# --- history ------------------------------------------------------------------------------------


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
    from reactivation.policies import policy_for_segments

    policies = policy_for_segments()
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
        r = policy.prior_strength
        cycle = (policy.default_cycle_days * r + (days[mask] - first[mask])) / (r + n[mask] - 1)
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
    opened = _daily(
        cases.filter(is_control=False)
        .values("opened_on", "client__segment_id")
        .annotate(n=Count("pk")),
        "opened_on",
        "client__segment_id",
    )
    control = _daily(
        cases.filter(is_control=True)
        .values("opened_on", "client__segment_id")
        .annotate(n=Count("pk")),
        "opened_on",
        "client__segment_id",
    )
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
        (_as_date(item[date_field]), item[segment_field]): item["n"] for item in items.order_by()
    }


# --- cases, calls and offers --------------------------------------------------------------------


def _won_back_revenue(wins, window_days: int, keys: dict[str, str]) -> dict[tuple, Decimal]:
    """Net purchases of the clients of the given won-back cases, from the day of each win
    through ``window_days - 1`` days after it, grouped by the case fields in ``keys`` (output
    name -> field). Reads only those clients' transactions (index on client and date)."""
    rows = Transaction.objects.filter(
        client__cases__in=wins,
        date__gte=F("client__cases__closed_on"),
        date__lte=ExpressionWrapper(
            F("client__cases__closed_on") + dt.timedelta(days=window_days - 1),
            output_field=DateField(),
        ),
    )
    grouped = rows.values(**{name: F(f"client__cases__{field}") for name, field in keys.items()})
    return {
        tuple(_as_date(item[name]) for name in keys): item["total"] or Decimal(0)
        for item in grouped.annotate(total=Sum("amount")).order_by()
    }


def _call_costs() -> dict[int | None, Decimal]:
    from reactivation.policies import policy_for_segments

    policies = policy_for_segments()
    return {segment_id: policy.cost_per_call for segment_id, policy in policies.items()}


@transaction.atomic
def activity_refresh(*, start: dt.date, end: dt.date) -> dict[str, int]:
    """Recompute the activity tables for the days of ``[start, end]``:

    1. ``CaseCohortDaily``: cases opened on each day, per segment and assigned manager: flagged,
       contacted, reached, offered, won back, control cases and those who came back, revenue
       won back, cost of redeemed offers and of calls;
    2. ``ManagerDaily``: per day of the activity, manager and segment: calls, reached calls,
       offers issued, wins credited and their revenue won back;
    3. ``ReasonDaily``: calls that recorded a reason, per day, segment, manager and reason.

    Each is a few GROUP BY queries over the cases, calls and offers of those days. Returns the
    rows written per table.
    """
    settings = BusinessSettings.load()
    window = settings.won_back_window_days
    costs = _call_costs()
    zone_start = dt.datetime.combine(start, dt.time.min, tzinfo=_zone())
    zone_end = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=_zone())

    # 1. Case cohorts.
    cases = Case.objects.filter(opened_on__gte=start, opened_on__lte=end)
    treated = Q(is_control=False)
    has_call = Q(Exists(Call.objects.filter(case=OuterRef("pk"))))
    has_reach = Q(Exists(Call.objects.filter(case=OuterRef("pk"), outcome=Call.Outcome.REACHED)))
    has_offer = Q(Exists(Offer.objects.filter(case=OuterRef("pk"))))
    won = Q(status=Case.Status.WON_BACK)
    cohort: dict[tuple, dict[str, object]] = defaultdict(dict)
    for item in (
        cases.values("opened_on", "client__segment_id", "assigned_to_id")
        .annotate(
            flagged=Count("pk", filter=treated),
            contacted=Count("pk", filter=treated & has_call),
            reached=Count("pk", filter=treated & has_reach),
            offered=Count("pk", filter=treated & has_offer),
            won=Count("pk", filter=treated & won),
            control=Count("pk", filter=~treated),
            control_returned=Count(
                "pk", filter=~treated & (won | Q(won_transaction__isnull=False))
            ),
        )
        .order_by()
    ):
        key = (item.pop("opened_on"), item.pop("client__segment_id"), item.pop("assigned_to_id"))
        cohort[key].update(item)
    keys = {"day": "opened_on", "segment": "client__segment_id", "manager": "assigned_to_id"}
    wins = cases.filter(treated & won)
    for key, total in _won_back_revenue(wins, window, keys).items():
        cohort[key]["revenue_won_back"] = total
    for item in (
        Offer.objects.filter(case__in=cases.filter(treated), status=Offer.Status.REDEEMED)
        .values("case__opened_on", "case__client__segment_id", "case__assigned_to_id")
        .annotate(total=Sum("cost"))
        .order_by()
    ):
        key = (
            item["case__opened_on"],
            item["case__client__segment_id"],
            item["case__assigned_to_id"],
        )
        cohort[key]["offers_cost"] = item["total"] or Decimal(0)
    for item in (
        Call.objects.filter(case__in=cases.filter(treated))
        .values("case__opened_on", "case__client__segment_id", "case__assigned_to_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        segment_id = item["case__client__segment_id"]
        key = (item["case__opened_on"], segment_id, item["case__assigned_to_id"])
        cohort[key]["calls"] = item["n"]
        cohort[key]["calls_cost"] = item["n"] * costs.get(segment_id, costs[None])

    # 2. Managers' days.
    managers: dict[tuple, dict[str, object]] = defaultdict(dict)
    for item in (
        Call.objects.filter(
            called_at__gte=zone_start, called_at__lt=zone_end, manager__isnull=False
        )
        .annotate(day=TruncDate("called_at"))
        .values("day", "client__segment_id", "manager_id")
        .annotate(calls=Count("pk"), reached=Count("pk", filter=Q(outcome=Call.Outcome.REACHED)))
        .order_by()
    ):
        key = (_as_date(item["day"]), item["client__segment_id"], item["manager_id"])
        managers[key].update(calls=item["calls"], reached=item["reached"])
    for item in (
        Offer.objects.filter(issued_on__gte=start, issued_on__lte=end, issued_by__isnull=False)
        .values("issued_on", "client__segment_id", "issued_by_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        managers[(item["issued_on"], item["client__segment_id"], item["issued_by_id"])][
            "offers"
        ] = item["n"]
    credited = Case.objects.filter(
        status=Case.Status.WON_BACK,
        is_control=False,
        credited_manager__isnull=False,
        closed_on__gte=start,
        closed_on__lte=end,
    )
    for item in (
        credited.values("closed_on", "client__segment_id", "credited_manager_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        managers[(item["closed_on"], item["client__segment_id"], item["credited_manager_id"])][
            "wins"
        ] = item["n"]
    keys = {"day": "closed_on", "segment": "client__segment_id", "manager": "credited_manager_id"}
    for key, total in _won_back_revenue(credited, window, keys).items():
        managers[key]["revenue_won_back"] = total

    # 3. Reasons.
    reasons = [
        ReasonDaily(
            day=_as_date(item["day"]),
            segment_id=item["client__segment_id"],
            manager_id=item["manager_id"],
            reason_id=item["reason_id"],
            calls=item["n"],
        )
        for item in (
            Call.objects.filter(
                called_at__gte=zone_start, called_at__lt=zone_end, reason__isnull=False
            )
            .annotate(day=TruncDate("called_at"))
            .values("day", "client__segment_id", "manager_id", "reason_id")
            .annotate(n=Count("pk"))
            .order_by()
        )
    ]

    keys = ("day", "segment_id", "manager_id")
    _rows_replace(CaseCohortDaily, start=start, end=end, keys=keys, rows=cohort)
    _rows_replace(ManagerDaily, start=start, end=end, keys=keys, rows=managers)
    _rows_replace(
        ReasonDaily,
        start=start,
        end=end,
        keys=("day", "segment_id", "manager_id", "reason_id"),
        rows={
            (row.day, row.segment_id, row.manager_id, row.reason_id): {"calls": row.calls}
            for row in reasons
        },
    )
    dashboard_changed()
    return {"cohorts": len(cohort), "managers": len(managers), "reasons": len(reasons)}


def _rows_replace(
    model, *, start: dt.date, end: dt.date, keys: tuple[str, ...], rows: dict[tuple, dict]
) -> int:
    """Make ``model``'s rows of the days ``[start, end]`` exactly ``rows`` (key -> values; the
    fields left out are zero), writing only the differences: of the months recomputed each
    night, a night changes the rows of a few days. Returns the rows written or deleted."""
    fields = [
        field.name
        for field in model._meta.concrete_fields
        if not field.primary_key and field.attname not in keys
    ]
    defaults = {name: model._meta.get_field(name).get_default() for name in fields}
    # Tuples, not model instances: only the rows that change become objects.
    existing = {
        row[1 : 1 + len(keys)]: (row[0], row[1 + len(keys) :])
        for row in model.objects.filter(day__gte=start, day__lte=end).values_list(
            "pk", *keys, *fields
        )
    }
    created, changed = [], []
    for key, values in rows.items():
        full = {**defaults, **values}
        found = existing.pop(key, None)
        if found is None:
            created.append(model(**dict(zip(keys, key, strict=True)), **full))
        elif found[1] != tuple(full[name] for name in fields):
            changed.append(model(pk=found[0], **dict(zip(keys, key, strict=True)), **full))
    model.objects.filter(pk__in=[pk for pk, _values in existing.values()]).delete()
    model.objects.bulk_update(changed, fields, batch_size=500)
    model.objects.bulk_create(created, batch_size=2000)
    return len(created) + len(changed) + len(existing)


def _zone() -> dt.tzinfo:
    from django.utils import timezone

    return timezone.get_current_timezone()
