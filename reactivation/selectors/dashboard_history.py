"""The dashboard's panels drawn from the daily snapshots: the status mix over time, retention
and revenue won back with the lifetime value (definitions: docs/metrics.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from reactivation import metrics
from reactivation.dashboard_forms import DashboardFilters
from reactivation.models import (
    BusinessSettings,
    DailySnapshot,
    ValueSnapshot,
)
from reactivation.selectors.dashboard_common import (
    COLOURS,
    HISTORY_POINTS,
    STATUSES,
    Column,
    Panel,
    Table,
    months_between,
    next_month,
    pct,
)


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


def snapshot_window(filters: DashboardFilters) -> dict[dt.date, Day]:
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

    for month in months_between(filters.start, filters.end):
        start, end = (
            max(month, filters.start),
            min(next_month(month) - dt.timedelta(days=1), filters.end),
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
            {"label": _("CRR"), "data": [pct(v) for v in values], "color": COLOURS["active"]}
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
    per_year = metrics.share(metrics.DAYS_PER_YEAR, mean_cycle)
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
    years = metrics.lifetime_years(churn=churn).years
    value = metrics.ltv(
        margin_per_purchase=check, purchases_per_year=per_year, lifetime_years=years
    )
    clients_ever = after.clients_ever if after else 0
    left = metrics.revenue_left_rule_of_thumb(
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
                pct(retention),
                _("(E - N) / S over the 12 months to the end"),
            ],
            [_("Yearly churn"), pct(churn), _("1 - twelve-month CRR (at least 5%)")],
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
        metrics.revenue_left_rule_of_thumb(
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
