"""The activity tables the dashboards read: what the cases, calls and offers of each day came to.

``activity_refresh(*, start, end)`` recomputes them for a range of days (the nightly snapshot
does the last ``ACTIVITY_REFRESH_DAYS``, the backfill its whole range), writing only the rows
that changed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, DateField, Exists, ExpressionWrapper, F, OuterRef, Q, Sum
from django.db.models.functions import TruncDate

from calls.models import Call
from calls.outcomes import counted_outcome
from clients.models import Transaction
from reactivation.models import (
    BusinessSettings,
    Case,
    CaseCohortDaily,
    ManagerDaily,
    Offer,
    ReasonDaily,
)
from reactivation.services.dashboard_cache import dashboard_changed

# Cases, calls and offers can still change this long after the day they belong to (a case lives
# 60 days by default, then its revenue won back accrues for 90): the nightly run recomputes
# the activity tables for this many days back.
ACTIVITY_REFRESH_DAYS = 180


def as_date(value: dt.date | dt.datetime) -> dt.date:
    """A date from a date or a datetime (what the database returns for a truncated day)."""
    return value.date() if isinstance(value, dt.datetime) else value


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
        tuple(as_date(item[name]) for name in keys): item["total"] or Decimal(0)
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
    # Reached as the phone system saw it where it carried the call (calls.outcomes).
    has_reach = Q(
        Exists(
            Call.objects.annotate(counted=counted_outcome()).filter(
                case=OuterRef("pk"), counted=Call.Outcome.REACHED
            )
        )
    )
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
        .annotate(day=TruncDate("called_at"), counted=counted_outcome())
        .values("day", "client__segment_id", "manager_id")
        .annotate(calls=Count("pk"), reached=Count("pk", filter=Q(counted=Call.Outcome.REACHED)))
        .order_by()
    ):
        key = (as_date(item["day"]), item["client__segment_id"], item["manager_id"])
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
            day=as_date(item["day"]),
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
