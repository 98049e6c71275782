"""Reads for the owners' dashboard: one function per panel, each returning a ``Panel`` (the
chart's data and the tables that hold its numbers, which are also its CSV export).

Every panel reads the tables the nightly run keeps (``reactivation.services.snapshots`` and
``activity``): the
daily snapshots, the cohort and value tables, and the case, manager and reason activity
tables. None scans transactions, cases or calls per request, so the page costs the same on a
base of a million transactions as on one of ten million, and the whole result is cached until
the next nightly run. Only owners and admins read these (every entry point checks the role),
and they see every row. Definitions: docs/metrics.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from calls.models import Reason
from clients.models import Segment
from reactivation import metrics
from reactivation.dashboard_forms import DashboardFilters
from reactivation.models import (
    BusinessSettings,
    CaseCohortDaily,
    CohortActivity,
    DailySnapshot,
    ManagerDaily,
    ReasonDaily,
    ValueSnapshot,
    WeeklyPlan,
)
from reactivation.roles import Role, is_owner
from reactivation.services.dashboard_cache import DASHBOARD_VERSION_KEY

CACHE_SECONDS = 3600
HISTORY_POINTS = 120  # above this many days the status history is drawn week by week
COHORT_MONTHS = 12  # columns of the cohort heat map: 0..12 months after the first purchase
COHORT_ROWS = 24  # at most this many cohorts (months of first purchase)
STATUSES = ("active", "sleeping", "lost")
ABC_CLASSES = ("A", "B", "C", "")

# Colours shared with the status badges and the ABC badges (static/css/app.css).
COLOURS = {
    "active": "#2f9e6b",
    "sleeping": "#e0a800",
    "lost": "#d9534f",
    "none": "#adb5bd",
    "A": "#0d6efd",
    "B": "#6ea8fe",
    "C": "#adb5bd",
    "": "#dee2e6",
    "treated": "#0d6efd",
    "control": "#adb5bd",
    "plan": "#6c757d",
}
PALETTE = [
    "#0d6efd",
    "#d9534f",
    "#e0a800",
    "#2f9e6b",
    "#6f42c1",
    "#fd7e14",
    "#20c997",
    "#6c757d",
    "#d63384",
    "#0dcaf0",
]


@dataclass
class Column:
    label: str
    kind: str = "int"  # text, int, number, money, percent, date


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    cells: list[list[tuple[str, str, str]]] = field(default_factory=list)  # (shown, raw, kind)


@dataclass
class Panel:
    key: str
    tables: list[Table]
    chart: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _require_owner(user: Any) -> None:
    """The dashboards show the whole base: owners and admins only."""
    if not is_owner(user):
        raise PermissionDenied


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    months, month = [], _month_start(start)
    while month <= end:
        months.append(month)
        month = _next_month(month)
    return months


def latest_snapshot_on() -> dt.date | None:
    return (
        DailySnapshot.objects.filter(segment__isnull=True)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first()
    )


# --- snapshots ----------------------------------------------------------------------------------


@dataclass
class Day:
    as_of: dt.date
    active: int
    sleeping: int
    lost: int
    no_purchases: int
    revenue: Decimal
    purchases: int
    new_clients: int

    @property
    def customers(self) -> int:
        """Clients who have bought and are not lost: the "customers" of the retention rate."""
        return self.active + self.sleeping

    @property
    def clients_ever(self) -> int:
        return self.active + self.sleeping + self.lost


def _days(filters: DashboardFilters, start: dt.date, end: dt.date) -> dict[dt.date, Day]:
    """The whole base's (or one segment's) snapshot for each day of ``[start, end]``."""
    rows = (
        DailySnapshot.objects.filter(
            as_of__gte=start, as_of__lte=end, segment_id=filters.segment_id
        )
        if filters.segment_id
        else DailySnapshot.objects.filter(as_of__gte=start, as_of__lte=end, segment__isnull=True)
    )
    fields = (
        "as_of",
        "active",
        "sleeping",
        "lost",
        "no_purchases",
        "revenue",
        "purchases",
        "new_clients",
    )
    return {row[0]: Day(*row) for row in rows.order_by("as_of").values_list(*fields)}


def _on_or_before(days: dict[dt.date, Day], day: dt.date) -> Day | None:
    """The snapshot of ``day``, or the latest one before it within a week (a missed night)."""
    for back in range(8):
        found = days.get(day - dt.timedelta(days=back))
        if found is not None:
            return found
    return None


def _snapshot_window(filters: DashboardFilters) -> dict[dt.date, Day]:
    """Every day any snapshot panel needs: the previous period, and the year before the end
    (for the twelve-month retention behind lifetime value)."""
    first = min(filters.previous.start - dt.timedelta(days=1), filters.end - dt.timedelta(days=366))
    return _days(filters, first, filters.end)


def status_panel(*, filters: DashboardFilters, days: dict[dt.date, Day]) -> Panel:
    """The active / sleeping / lost mix at the end of the period, its share of clients who
    have bought, the change against the end of the previous period, and the daily history."""
    now = _on_or_before(days, filters.end)
    before = _on_or_before(days, filters.previous.end)
    mix = []
    for status in STATUSES:
        count = getattr(now, status) if now else None
        previous = getattr(before, status) if before else None
        current_share = metrics.share(count, now.clients_ever) if now else None
        previous_share = metrics.share(previous, before.clients_ever) if before else None
        mix.append(
            {
                "status": status,
                "count": count,
                "share": current_share,
                "previous": previous,
                "change": metrics.change(count, previous),
                "label": {"active": _("Active"), "sleeping": _("Sleeping"), "lost": _("Lost")}[
                    status
                ],
                "share_change": (
                    current_share - previous_share
                    if current_share is not None and previous_share is not None
                    else None
                ),
            }
        )
        change_of_share = mix[-1]["share_change"]
        # A growing active share is good news; a growing sleeping or lost share is not.
        mix[-1]["good"] = (
            None if not change_of_share else (change_of_share > 0) == (status == "active")
        )
    step = 1 if filters.days <= HISTORY_POINTS else 7
    points = [
        days[day]
        for offset in range(filters.days - 1, -1, -step)
        if (day := filters.end - dt.timedelta(days=offset)) in days
    ]
    labels = {"active": _("Active"), "sleeping": _("Sleeping"), "lost": _("Lost")}
    table = Table(
        _("Status mix by day") if step == 1 else _("Status mix by week (last day of each week)"),
        [
            Column(_("Date"), "date"),
            *[Column(labels[s]) for s in STATUSES],
            Column(_("Active share"), "percent"),
        ],
        [
            [p.as_of, p.active, p.sleeping, p.lost, metrics.share(p.active, p.clients_ever)]
            for p in points
        ],
    )
    summary = Table(
        _("Now against the previous period"),
        [
            Column(_("Status"), "text"),
            Column(_("Clients")),
            Column(_("Share"), "percent"),
            Column(_("Previous period")),
            Column(_("Change"), "percent"),
            Column(_("Change of share, points"), "points"),
        ],
        [
            [
                labels[m["status"]],
                m["count"],
                m["share"],
                m["previous"],
                m["change"],
                m["share_change"],
            ]
            for m in mix
        ],
    )
    chart = {
        "type": "line",
        "stacked": True,
        "labels": [p.as_of.isoformat() for p in points],
        "datasets": [
            {
                "label": labels[s],
                "data": [getattr(p, s) for p in points],
                "color": COLOURS[s],
                "fill": True,
            }
            for s in STATUSES
        ],
    }
    return Panel(
        "status",
        [table, summary],
        chart,
        {
            "mix": mix,
            "now": now,
            "before": before,
            "clients_ever": now.clients_ever if now else None,
        },
    )


def retention_panel(*, filters: DashboardFilters, days: dict[dt.date, Day]) -> Panel:
    """CRR = (E - N) / S for each month of the period (cut to the period) and for the period."""
    rows, values = [], []

    def crr_between(
        start: dt.date, end: dt.date
    ) -> tuple[int | None, int | None, int, float | None]:
        before, after = _on_or_before(days, start - dt.timedelta(days=1)), _on_or_before(days, end)
        new = sum(d.new_clients for day, d in days.items() if start <= day <= end)
        if before is None or after is None:
            return (
                before.customers if before else None,
                after.customers if after else None,
                new,
                None,
            )
        return (
            before.customers,
            after.customers,
            new,
            metrics.crr(
                start_customers=before.customers, end_customers=after.customers, new_customers=new
            ),
        )

    for month in _months(filters.start, filters.end):
        start, end = (
            max(month, filters.start),
            min(_next_month(month) - dt.timedelta(days=1), filters.end),
        )
        s, e, n, value = crr_between(start, end)
        rows.append([month, start, end, s, e, n, value])
        values.append(value)
    s, e, n, whole = crr_between(filters.start, filters.end)
    table = Table(
        _("Retention by month"),
        [
            Column(_("Month"), "month"),
            Column(_("From"), "date"),
            Column(_("To"), "date"),
            Column(_("S: customers at the start")),
            Column(_("E: customers at the end")),
            Column(_("N: new customers")),
            Column(_("CRR"), "percent"),
        ],
        rows,
    )
    chart = {
        "type": "bar",
        "percent": True,
        "labels": [row[0].strftime("%Y-%m") for row in rows],
        "datasets": [
            {"label": _("CRR"), "data": [_pct(v) for v in values], "color": COLOURS["active"]}
        ],
    }
    return Panel("retention", [table], chart, {"crr": whole, "s": s, "e": e, "n": n})


def ltv_panel(
    *,
    filters: DashboardFilters,
    days: dict[dt.date, Day],
    values: list[ValueSnapshot],
    settings: BusinessSettings,
) -> Panel:
    """Lifetime value and the revenue left on the table, with every input shown."""
    in_period = [d for day, d in days.items() if filters.start <= day <= filters.end]
    revenue = float(sum((d.revenue for d in in_period), Decimal(0)))
    purchases = sum(d.purchases for d in in_period)
    check = metrics.average_check(revenue=revenue, purchases=purchases)
    bought = [v for v in values if v.status != "none"]
    cycled = sum(v.clients for v in bought)
    mean_cycle = metrics.share(sum(v.cycle_days_sum for v in bought), cycled)
    per_year = metrics.purchases_per_year(mean_cycle_days=mean_cycle)
    year_start = filters.end - dt.timedelta(days=365)
    before, after = _on_or_before(days, year_start), _on_or_before(days, filters.end)
    new = sum(d.new_clients for day, d in days.items() if year_start < day <= filters.end)
    retention = (
        metrics.crr(
            start_customers=before.customers, end_customers=after.customers, new_customers=new
        )
        if before and after
        else None
    )
    churn = metrics.yearly_churn(retention=retention)
    years = metrics.lifetime_years(churn=churn)
    value = metrics.ltv(average_check=check, purchases_per_year=per_year, lifetime_years=years)
    clients_ever = after.clients_ever if after else 0
    left = metrics.revenue_left_on_table(
        clients_ever=clients_ever,
        return_share=filters.return_share,
        purchases_per_year=per_year,
        average_check=check,
    )
    inputs = Table(
        _("Inputs and results"),
        [
            Column(_("Figure"), "text"),
            Column(_("Value"), "number"),
            Column(_("How it is obtained"), "text"),
        ],
        [
            [_("Revenue in the period"), revenue, _("sum of the daily revenue in the snapshots")],
            [_("Purchase days in the period"), purchases, _("sum of the daily purchase days")],
            [_("Average check"), check, _("revenue / purchase days")],
            [_("Mean purchase cycle, days"), mean_cycle, _("mean of the clients' learned cycles")],
            [_("Purchases per year"), per_year, _("365 / mean cycle")],
            [
                _("Twelve-month retention (CRR)"),
                _pct(retention),
                _("(E - N) / S over the 12 months to the end"),
            ],
            [_("Yearly churn"), _pct(churn), _("1 - twelve-month CRR (at least 5%)")],
            [_("Expected lifetime, years"), years, _("1 / yearly churn")],
            [_("Lifetime value"), value, _("average check x purchases per year x lifetime")],
            [
                _("Lifetime margin"),
                value * settings.margin_rate if value is not None else None,
                _("lifetime value x margin rate"),
            ],
            [
                _("Clients ever"),
                clients_ever,
                _("active + sleeping + lost at the end of the period"),
            ],
            [_("Return share, %"), filters.return_share * 100, _("adjustable on this page")],
            [
                _("Revenue left on the table, a year"),
                left,
                _("clients ever x return share x purchases per year x average check"),
            ],
        ],
    )
    shares = sorted({0.05, 0.10, 0.20, 0.30, 0.50, round(filters.return_share, 4)})
    scenario = [
        metrics.revenue_left_on_table(
            clients_ever=clients_ever,
            return_share=share,
            purchases_per_year=per_year,
            average_check=check,
        )
        for share in shares
    ]
    sensitivity = Table(
        _("Revenue left on the table by return share"),
        [Column(_("Return share, %"), "number"), Column(_("Revenue a year"), "money")],
        [[share * 100, amount] for share, amount in zip(shares, scenario, strict=True)],
    )
    chart = {
        "type": "bar",
        "labels": [f"{share * 100:g}%" for share in shares],
        "datasets": [
            {
                "label": _("Revenue left on the table, a year"),
                "data": [round(a, 2) if a is not None else None for a in scenario],
                "colors": [
                    COLOURS["lost"] if abs(s - filters.return_share) < 1e-9 else COLOURS["none"]
                    for s in shares
                ],
            }
        ],
    }
    data = {
        "ltv": value,
        "left": left,
        "check": check,
        "per_year": per_year,
        "years": years,
        "clients_ever": clients_ever,
        "return_share": filters.return_share,
    }
    return Panel("ltv", [sensitivity, inputs], chart, data)


def _latest_values(filters: DashboardFilters) -> list[ValueSnapshot]:
    latest = (
        ValueSnapshot.objects.filter(as_of__lte=filters.end)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first()
    )
    if latest is None:
        return []
    rows = ValueSnapshot.objects.filter(as_of=latest)
    if filters.segment_id:
        rows = rows.filter(segment_id=filters.segment_id)
    return list(rows)


def cohort_panel(*, filters: DashboardFilters) -> Panel:
    """For each month of first purchase, the share of its clients who bought N months later."""
    last = _month_start(filters.end)
    # At least the twelve cohorts before the end (a short period still shows the pattern), more
    # for a longer period, up to COHORT_ROWS.
    first = max(
        min(_month_start(filters.start), _months_back(last, COHORT_MONTHS - 1)),
        _months_back(last, COHORT_ROWS - 1),
    )
    rows = CohortActivity.objects.filter(cohort__gte=first, cohort__lte=last, month__lte=last)
    if filters.segment_id:
        rows = rows.filter(segment_id=filters.segment_id)
    counts: dict[tuple[dt.date, dt.date], int] = defaultdict(int)
    for cohort, month, clients in rows.values_list("cohort", "month", "clients"):
        counts[(cohort, month)] += clients
    matrix, table_rows = [], []
    for cohort in _months(first, last):
        size = counts.get((cohort, cohort), 0)
        cells = []
        for offset in range(COHORT_MONTHS + 1):
            month = _months_forward(cohort, offset)
            cells.append(
                metrics.share(counts.get((cohort, month), 0), size) if month <= last else None
            )
        matrix.append(
            {
                "cohort": cohort,
                "size": size,
                "cells": [
                    {"value": v, "heat": None if v is None else min(10, round(v * 10))}
                    for v in cells
                ],
            }
        )
        table_rows.append([cohort, size, *cells])
    table = Table(
        _("Share of each cohort who bought N months after their first month"),
        [
            Column(_("Cohort"), "month"),
            Column(_("Clients")),
            *[Column(str(offset), "percent") for offset in range(COHORT_MONTHS + 1)],
        ],
        table_rows,
    )
    return Panel(
        "cohorts", [table], None, {"matrix": matrix, "offsets": list(range(COHORT_MONTHS + 1))}
    )


def _months_back(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 - count
    return dt.date(index // 12, index % 12 + 1, 1)


def _months_forward(month: dt.date, count: int) -> dt.date:
    return _months_back(month, -count)


def abc_panel(*, filters: DashboardFilters, values: list[ValueSnapshot]) -> Panel:
    """Clients and potential value by status and ABC class; value asleep in sleeping and lost
    A and B clients."""
    grid: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for row in values:
        if row.status not in STATUSES:
            continue
        cell = grid[(row.status, row.abc_class)]
        cell[0] += row.clients
        cell[1] += float(row.potential_value)
        cell[2] += float(row.revenue)
    labels = {"active": _("Active"), "sleeping": _("Sleeping"), "lost": _("Lost")}
    class_label = {"A": "A", "B": "B", "C": "C", "": _("No class")}
    rows = [
        [labels[status], class_label[abc], *grid[(status, abc)]]
        for status in STATUSES
        for abc in ABC_CLASSES
        if (status, abc) in grid
    ]
    asleep = sum(
        grid[(status, abc)][1]
        for status in ("sleeping", "lost")
        for abc in ("A", "B")
        if (status, abc) in grid
    )
    asleep_clients = sum(
        grid[(status, abc)][0]
        for status in ("sleeping", "lost")
        for abc in ("A", "B")
        if (status, abc) in grid
    )
    table = Table(
        _("Clients and potential value by status and class"),
        [
            Column(_("Status"), "text"),
            Column(_("Class"), "text"),
            Column(_("Clients")),
            Column(_("Potential value"), "money"),
            Column(_("Revenue to date"), "money"),
        ],
        rows,
    )
    chart = {
        "type": "bar",
        "stacked": True,
        "labels": [labels[s] for s in STATUSES],
        "datasets": [
            {
                "label": class_label[abc],
                "color": COLOURS[abc],
                "data": [round(grid[(s, abc)][1], 2) if (s, abc) in grid else 0 for s in STATUSES],
            }
            for abc in ABC_CLASSES
            if any((s, abc) in grid for s in STATUSES)
        ],
    }
    as_of = values[0].as_of if values else None
    return Panel(
        "abc", [table], chart, {"asleep": asleep, "asleep_clients": asleep_clients, "as_of": as_of}
    )


def forecast_panel(*, filters: DashboardFilters, values: list[ValueSnapshot]) -> Panel:
    """Expected purchases in the next 90 days by segment, from each segment's fitted model."""
    names = dict(Segment.objects.values_list("pk", "name"))
    fitted = set(
        Segment.objects.exclude(model_r=None)
        .exclude(model_alpha=None)
        .exclude(model_a=None)
        .exclude(model_b=None)
        .values_list("pk", flat=True)
    )
    per_segment: dict[int | None, list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for row in values:
        if row.status == "none":
            continue
        cell = per_segment[row.segment_id]
        cell[0] += row.clients
        cell[1] += row.modelled_clients
        cell[2] += row.expected_purchases_90d
    rows, without = [], []
    for segment_id, (clients, modelled, expected) in sorted(
        per_segment.items(), key=lambda item: names.get(item[0], "")
    ):
        name = names.get(segment_id, _("No segment"))
        has_model = segment_id in fitted
        if not has_model:
            without.append(name)
        rows.append(
            [
                name,
                clients,
                modelled,
                expected if has_model else None,
                metrics.share(expected, modelled) if has_model else None,
            ]
        )
    table = Table(
        _("Expected purchases in the next 90 days"),
        [
            Column(_("Segment"), "text"),
            Column(_("Clients who bought")),
            Column(_("Clients in the model")),
            Column(_("Expected purchases"), "number"),
            Column(_("Per client"), "number"),
        ],
        rows,
    )
    chart = {
        "type": "bar",
        "labels": [row[0] for row in rows],
        "datasets": [
            {
                "label": _("Expected purchases in the next 90 days"),
                "data": [round(row[3], 1) if row[3] is not None else None for row in rows],
                "color": COLOURS["A"],
            }
        ],
    }
    notes = []
    if without:
        notes.append(
            _(
                "No fitted model for: %(names)s. Their forecast is left out; fit the model in the settings."
            )
            % {"names": ", ".join(without)}
        )
    drawn = chart if any(row[3] is not None for row in rows) else None
    return Panel("forecast", [table], drawn, {"without_model": without}, notes)


# --- cases, calls and offers --------------------------------------------------------------------


def _cohort_totals(filters: DashboardFilters, *, by_manager: bool = True) -> dict[str, float]:
    """Sums of the case cohort table over the cases opened in the period (one query)."""
    rows = CaseCohortDaily.objects.filter(day__gte=filters.start, day__lte=filters.end)
    if filters.segment_id:
        rows = rows.filter(segment_id=filters.segment_id)
    if by_manager and filters.manager_id:
        rows = rows.filter(manager_id=filters.manager_id)
    fields = (
        "flagged",
        "contacted",
        "reached",
        "offered",
        "won",
        "control",
        "control_returned",
        "revenue_won_back",
        "offers_cost",
        "calls",
        "calls_cost",
    )
    totals = rows.aggregate(**{name: Sum(name) for name in fields})
    return {name: float(totals[name] or 0) for name in fields}


def funnel_panel(*, filters: DashboardFilters, settings: BusinessSettings) -> Panel:
    """Cases opened in the period (the control group aside): flagged, contacted, reached, offer
    issued, won back; revenue won back against the cost of the offers and calls."""
    totals = _cohort_totals(filters)
    counts = {
        key: int(totals[key]) for key in ("flagged", "contacted", "reached", "offered", "won")
    }
    labels = [_("Flagged"), _("Contacted"), _("Reached"), _("Offer issued"), _("Won back")]
    keys = ["flagged", "contacted", "reached", "offered", "won"]
    steps = metrics.funnel([counts[k] for k in keys])
    revenue, offers_cost = totals["revenue_won_back"], totals["offers_cost"]
    calls_made, calls_cost = int(totals["calls"]), totals["calls_cost"]
    cost = offers_cost + calls_cost
    table = Table(
        _("Reactivation funnel"),
        [
            Column(_("Step"), "text"),
            Column(_("Cases")),
            Column(_("Of the step before"), "percent"),
            Column(_("Of flagged"), "percent"),
        ],
        [
            [label, step.count, step.of_previous, step.of_first]
            for label, step in zip(labels, steps, strict=True)
        ],
    )
    money = Table(
        _("Revenue won back against cost"),
        [Column(_("Figure"), "text"), Column(_("Amount"), "money")],
        [
            [
                _("Revenue won back (%(days)s days after each win)")
                % {"days": settings.won_back_window_days},
                revenue,
            ],
            [_("Cost of redeemed offers"), offers_cost],
            [_("Cost of calls (%(calls)s calls)") % {"calls": calls_made}, calls_cost],
            [_("Total cost"), cost],
            [_("Revenue per unit of cost"), metrics.share(revenue, cost)],
        ],
    )
    chart = {
        "type": "bar",
        "horizontal": True,
        "labels": labels,
        "datasets": [
            {
                "label": _("Cases"),
                "data": [s.count for s in steps],
                "colors": ["#6c757d", "#6ea8fe", "#0d6efd", "#e0a800", COLOURS["active"]],
            }
        ],
    }
    data = {
        "steps": dict(zip(keys, steps, strict=True)),
        "revenue": revenue,
        "offers_cost": offers_cost,
        "calls_cost": calls_cost,
        "calls": calls_made,
        "cost": cost,
        "won": counts["won"],
        "flagged": counts["flagged"],
        "roi": metrics.share(revenue, cost),
    }
    return Panel("funnel", [table, money], chart if counts["flagged"] else None, data)


def uplift_panel(*, filters: DashboardFilters, funnel: Panel) -> Panel:
    """Win-back rate of the cases to call against the natural return rate of the control group
    flagged in the same period, with its 95% interval and the incremental revenue."""
    # The control group is nobody's: with a manager chosen, it is still the whole group.
    totals = _cohort_totals(filters, by_manager=False)
    control = {"cases": int(totals["control"]), "returned": int(totals["control_returned"])}
    won, flagged = funnel.data["won"], funnel.data["flagged"]
    result = metrics.uplift(
        treated=flagged,
        treated_won=won,
        control=control["cases"],
        control_returned=control["returned"],
        revenue_per_win=metrics.share(funnel.data["revenue"], won) or 0.0,
    )
    table = Table(
        _("Called clients against the control group"),
        [
            Column(_("Group"), "text"),
            Column(_("Cases")),
            Column(_("Came back")),
            Column(_("Rate"), "percent"),
        ],
        [
            [_("Called (cases to call)"), result.treated, result.treated_won, result.treated_rate],
            [
                _("Control group (not called)"),
                result.control,
                result.control_returned,
                result.control_rate,
            ],
        ],
    )
    estimate = Table(
        _("Uplift"),
        [Column(_("Figure"), "text"), Column(_("Value"), "number")],
        [
            [_("Uplift, points"), _pct(result.uplift)],
            [_("Low end of the 95 percent interval, points"), _pct(result.low)],
            [_("High end of the 95 percent interval, points"), _pct(result.high)],
            [_("Wins caused by the calls"), result.incremental_wins],
            [_("Incremental revenue"), result.incremental_revenue],
        ],
    )
    chart = {
        "type": "bar",
        "percent": True,
        "labels": [_("Called"), _("Control group")],
        "datasets": [
            {
                "label": _("Came back"),
                "data": [_pct(result.treated_rate), _pct(result.control_rate)],
                "colors": [COLOURS["treated"], COLOURS["control"]],
            }
        ],
    }
    notes = []
    no_control = None
    if not result.has_control:
        no_control = _(
            "There is no control group in this period, so the win-back rate cannot be separated from "
            "clients who would have come back on their own. Set a control share in the policy to measure it."
        )
    if filters.manager_id:
        notes.append(_("The control group is nobody's: it is compared with this manager's cases."))
    return Panel(
        "uplift",
        [table, estimate],
        chart if result.has_control else None,
        {"uplift": result, "no_control": no_control},
        notes,
    )


def reasons_panel(*, filters: DashboardFilters) -> Panel:
    """Why clients leave: reasons given in calls of the period, by month and by segment."""
    rows = ReasonDaily.objects.filter(day__gte=filters.start, day__lte=filters.end)
    if filters.segment_id:
        rows = rows.filter(segment_id=filters.segment_id)
    if filters.manager_id:
        rows = rows.filter(manager_id=filters.manager_id)
    grouped = (
        rows.annotate(month=TruncMonth("day"))
        .values("month", "segment_id", "reason_id")
        .annotate(n=Sum("calls"))
        .order_by()
    )
    by_month: dict[tuple[dt.date, int], int] = defaultdict(int)
    by_segment: dict[tuple[int | None, int], int] = defaultdict(int)
    totals: dict[int, int] = defaultdict(int)
    for item in grouped:
        month = item["month"].date() if isinstance(item["month"], dt.datetime) else item["month"]
        by_month[(month, item["reason_id"])] += item["n"]
        by_segment[(item["segment_id"], item["reason_id"])] += item["n"]
        totals[item["reason_id"]] += item["n"]
    reasons = [r for r in Reason.objects.order_by("position", "name") if r.pk in totals]
    months = _months(filters.start, filters.end)
    everything = sum(totals.values())
    segments = {pk: name for pk, name in Segment.objects.values_list("pk", "name")}
    segment_ids = sorted({key[0] for key in by_segment}, key=lambda pk: segments.get(pk, ""))
    overall = Table(
        _("Reasons for leaving"),
        [
            Column(_("Reason"), "text"),
            Column(_("Calls")),
            Column(_("Share"), "percent"),
            *[Column(segments.get(pk, _("No segment"))) for pk in segment_ids],
            *[
                Column(
                    _("Share in %(segment)s") % {"segment": segments.get(pk, _("No segment"))},
                    "percent",
                )
                for pk in segment_ids
            ],
        ],
        [
            [
                r.name,
                totals[r.pk],
                metrics.share(totals[r.pk], everything),
                *[by_segment.get((pk, r.pk), 0) for pk in segment_ids],
                *[
                    metrics.share(
                        by_segment.get((pk, r.pk), 0),
                        sum(by_segment.get((pk, x.pk), 0) for x in reasons),
                    )
                    for pk in segment_ids
                ],
            ]
            for r in reasons
        ],
    )
    monthly = Table(
        _("Reasons by month"),
        [Column(_("Month"), "month"), *[Column(r.name) for r in reasons]],
        [[month, *[by_month.get((month, r.pk), 0) for r in reasons]] for month in months],
    )
    chart = {
        "type": "bar",
        "stacked": True,
        "labels": [m.strftime("%Y-%m") for m in months],
        "datasets": [
            {
                "label": r.name,
                "data": [by_month.get((m, r.pk), 0) for m in months],
                "color": PALETTE[index % len(PALETTE)],
            }
            for index, r in enumerate(reasons)
        ],
    }
    share_chart = {
        "type": "doughnut",
        "labels": [r.name for r in reasons],
        "datasets": [
            {
                "label": _("Calls"),
                "data": [totals[r.pk] for r in reasons],
                "colors": [PALETTE[i % len(PALETTE)] for i in range(len(reasons))],
            }
        ],
    }
    return Panel(
        "reasons", [monthly, overall], chart, {"total": everything, "share_chart": share_chart}
    )


def managers_panel(*, filters: DashboardFilters, settings: BusinessSettings) -> Panel:
    """Each manager's calls, reached, offers, wins and revenue won back in the period, against
    their weekly plan times the weeks in the period."""
    User = get_user_model()
    people = User.objects.filter(groups__name=Role.MANAGER).order_by("first_name", "username")
    if filters.manager_id:
        people = people.filter(pk=filters.manager_id)
    people = list(people)
    ids = [person.pk for person in people]
    rows = ManagerDaily.objects.filter(
        manager_id__in=ids, day__gte=filters.start, day__lte=filters.end
    )
    if filters.segment_id:
        rows = rows.filter(segment_id=filters.segment_id)
    done = {
        item["manager_id"]: item
        for item in rows.values("manager_id")
        .annotate(
            calls=Sum("calls"),
            reached=Sum("reached"),
            offers=Sum("offers"),
            wins=Sum("wins"),
            revenue=Sum("revenue_won_back"),
        )
        .order_by()
    }
    plans = {plan.manager_id: plan for plan in WeeklyPlan.objects.filter(manager_id__in=ids)}
    weeks = filters.days / 7
    rows, chart_sets = [], defaultdict(list)
    for person in people:
        plan = plans.get(person.pk) or WeeklyPlan(manager=person)
        mine = done.get(person.pk, {})
        actual = {key: mine.get(key) or 0 for key in ("calls", "reached", "offers", "wins")}
        row = [person.get_full_name() or person.username]
        for key in ("calls", "reached", "offers", "wins"):
            target = getattr(plan, key) * weeks
            row += [actual[key], round(target, 1), metrics.share(actual[key], target)]
            chart_sets[key].append(_pct(metrics.share(actual[key], target)))
        row.append(float(mine.get("revenue") or 0))
        rows.append(row)
    columns = [Column(_("Manager"), "text")]
    names = {"calls": _("Calls"), "reached": _("Reached"), "offers": _("Offers"), "wins": _("Wins")}
    for key in ("calls", "reached", "offers", "wins"):
        columns += [
            Column(names[key]),
            Column(_("%(what)s plan") % {"what": names[key]}, "number"),
            Column(_("%(what)s, %% of plan") % {"what": names[key]}, "percent"),
        ]
    columns.append(Column(_("Revenue won back"), "money"))
    table = Table(_("Managers against their weekly plan"), columns, rows)
    chart = {
        "type": "bar",
        "percent": True,
        "plan_line": 100,
        "labels": [row[0] for row in rows],
        "datasets": [
            {
                "label": _("%(what)s, %% of plan") % {"what": names[key]},
                "data": chart_sets[key],
                "color": PALETTE[index],
            }
            for index, key in enumerate(("calls", "reached", "offers", "wins"))
        ],
    }
    return Panel("managers", [table], chart, {"weeks": weeks})


def _pct(value: float | None) -> float | None:
    """A share as a percentage for charts (two decimals), None kept."""
    return None if value is None else round(value * 100, 2)


# --- the page -----------------------------------------------------------------------------------

SNAPSHOT_PANELS = ("status", "retention", "ltv", "cohorts", "abc", "forecast")
PANELS = (
    "status",
    "retention",
    "funnel",
    "uplift",
    "reasons",
    "managers",
    "ltv",
    "cohorts",
    "abc",
    "forecast",
)


def _all_panels(filters: DashboardFilters, settings: BusinessSettings) -> dict[str, Panel]:
    days = _snapshot_window(filters)
    values = _latest_values(filters)
    funnel = funnel_panel(filters=filters, settings=settings)
    panels = {
        "status": status_panel(filters=filters, days=days),
        "retention": retention_panel(filters=filters, days=days),
        "funnel": funnel,
        "uplift": uplift_panel(filters=filters, funnel=funnel),
        "reasons": reasons_panel(filters=filters),
        "managers": managers_panel(filters=filters, settings=settings),
        "ltv": ltv_panel(filters=filters, days=days, values=values, settings=settings),
        "cohorts": cohort_panel(filters=filters),
        "abc": abc_panel(filters=filters, values=values),
        "forecast": forecast_panel(filters=filters, values=values),
    }
    if filters.manager_id:
        note = _("Not split by manager: this panel shows the whole base (or the chosen segment).")
        for name in SNAPSHOT_PANELS:
            panels[name].notes.append(note)
    return panels


def dashboard_get(
    *, filters: DashboardFilters, user: Any, use_cache: bool = True
) -> dict[str, Panel]:
    """Every panel of the dashboard for ``filters``, owners and admins only.

    Every panel reads the nightly tables, so the result is cached per (language, filters, the
    version those tables' writers bump, latest snapshot, settings change).
    """
    _require_owner(user)
    settings = BusinessSettings.load()
    key = (
        "dashboard:v2:"
        + hashlib.sha1(
            f"{get_language()}:{filters.cache_key()}:{cache.get(DASHBOARD_VERSION_KEY, 0)}:"
            f"{latest_snapshot_on()}:{settings.updated_at}".encode(),
            usedforsecurity=False,
        ).hexdigest()
    )
    panels = cache.get(key) if use_cache else None
    if panels is None:
        panels = _all_panels(filters, settings)
        if use_cache:
            cache.set(key, panels, CACHE_SECONDS)
    return panels


def panel_get(*, name: str, filters: DashboardFilters, user: Any) -> Panel:
    """One panel (for its numbers and its CSV export)."""
    return dashboard_get(filters=filters, user=user)[name]
