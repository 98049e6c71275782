"""The daily retention snapshots and the pre-aggregated tables the dashboards read.

- ``snapshot_write(*, as_of)`` is the nightly pipeline's last step: the day's rows per segment
  from the status tally and that day's transactions and cases, the running month of the cohort
  table and the activity tables. Idempotent: a second run for the same day replaces the rows it
  wrote. Its cost follows the day, not the base.
- ``value_snapshot_write(*, as_of)`` writes the value table, which reads every client: the
  weekly run calls it.
- The daily history before the first nightly run comes from ``reactivation.services.history``;
  the activity tables (cases, calls, offers) from ``reactivation.services.activity``.

Nothing here runs per request: the dashboards only read what these functions wrote.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import (
    Count,
    Exists,
    OuterRef,
    Q,
    Sum,
)
from django.db.models.functions import TruncMonth

from clients.models import Client, Segment, Status, Transaction
from clients.tally import status_counts
from reactivation import bgnbd, rules
from reactivation.models import (
    BusinessSettings,
    Case,
    CohortActivity,
    DailySnapshot,
    ValueSnapshot,
)
from reactivation.planner import BY_KEY, planner_settings
from reactivation.services import gate
from reactivation.services.activity import ACTIVITY_REFRESH_DAYS, activity_refresh, as_date
from reactivation.services.dashboard_cache import dashboard_changed

EXPECTED_PURCHASES_HORIZON_DAYS = 90


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


def figures_defaults_enqueue(*, as_of: dt.date) -> int:
    """After the day's snapshot: the dashboard's default views (every preset period x the
    whole base and each segment) are enqueued for computing, so that no page waits for them
    (``reactivation.services.figures``)."""
    from reactivation.services.figures import figures_defaults_enqueue as enqueue

    return enqueue(as_of=as_of)


def _day_write(*, as_of: dt.date, counts: dict[tuple[int | None, str], int]) -> list[DailySnapshot]:
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
            cohort=as_date(item["cohort"]),
            month=as_date(item["month"]),
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
        (as_date(item["cohort"]), item["client__segment_id"]): item["n"]
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


# --- value table --------------------------------------------------------------------------------


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
    revenue, purchase days and cycles, their potential value and the expected purchases in the
    next 90 days from the segment's fitted model. Returns the rows written.

    Potential value is the gate's value of a client, with the gate's figures (its margin per
    purchase x the purchases per year the segment's customers really make x the lifetime from
    the measured yearly churn; ``services.gate``), so the ABC panel and the queue agree."""
    settings = BusinessSettings.load()
    context = gate.GateContext(
        as_of=as_of,
        policies={},
        figures={row["group"]: row for row in gate.value_figures(as_of=as_of)},
        offer_cost=0.0,
        margin_rate=settings.margin_rate,
    )
    figures = {}
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
            if segment_id not in figures:
                figures[segment_id] = context.value_figures(segment_id)
            own = figures[segment_id]
            group.potential_value += rules.client_value(
                margin_per_purchase=gate.margin_per_purchase(
                    margin=float(margin or 0),
                    revenue=float(revenue or 0),
                    purchase_days=days,
                    margin_rate=settings.margin_rate,
                ),
                purchases_per_year=own.purchases_per_year,
                lifetime_years=own.lifetime_years,
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
    (the same MBG/NBD as the client card)."""
    x = [m[1] for m in members]
    t_x = [m[2] for m in members]
    age = [m[3] for m in members]
    params = bgnbd.Params(segment.model_r, segment.model_alpha, segment.model_a, segment.model_b)
    values = bgnbd.expected_purchases(params, EXPECTED_PURCHASES_HORIZON_DAYS, x, t_x, age)
    return [float(v) for v in values]
