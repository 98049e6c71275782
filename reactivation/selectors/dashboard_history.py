"""The dashboard's panels of the base's history: the status mix over time (from the daily
snapshots), retention by month, and lifetime value with the revenue left on the table (from the
period's figures, ``dashboard_figures``). Definitions: docs/metrics.md."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from reactivation import metrics
from reactivation.dashboard_forms import DashboardFilters
from reactivation.models import BusinessSettings, DailySnapshot
from reactivation.selectors.dashboard_common import (
    COLOURS,
    HISTORY_POINTS,
    STATUSES,
    Column,
    Panel,
    Table,
    pct,
)
from reactivation.selectors.dashboard_figures import PeriodFigures


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
    """Every day the status panel needs: the period and the previous one."""
    return _days(filters, filters.previous.start - dt.timedelta(days=1), filters.end)


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


def retention_panel(*, filters: DashboardFilters, figures: PeriodFigures) -> Panel:
    """Customers at the two ends of each month of the period (cut to the period) and of the
    whole period: retained, returned and new, and the retention rate retained / S."""
    rows = []
    for month in figures.months:
        c = month.customers
        rows.append(
            [
                month.month,
                month.start,
                month.end,
                c.start,
                c.end,
                c.retained,
                c.returned,
                c.new,
                c.retention_rate,
            ]
        )
    table = Table(
        _("Customers and retention by month"),
        [
            Column(_("Month"), "month"),
            Column(_("From"), "date"),
            Column(_("To"), "date"),
            Column(_("S: customers at the start")),
            Column(_("E: customers at the end")),
            Column(_("Retained")),
            Column(_("Returned")),
            Column(_("New")),
            Column(_("Retention rate"), "percent"),
        ],
        rows,
    )
    c = figures.customers
    whole = Table(
        _("Customers and retention over the whole period"),
        [
            Column(_("From"), "date"),
            Column(_("To"), "date"),
            Column(_("S: customers at the start")),
            Column(_("E: customers at the end")),
            Column(_("Retained")),
            Column(_("Returned")),
            Column(_("New")),
            Column(_("Retention rate"), "percent"),
        ],
        [
            [
                figures.start,
                figures.end,
                c.start,
                c.end,
                c.retained,
                c.returned,
                c.new,
                c.retention_rate,
            ]
        ],
    )
    months = figures.months
    chart = {
        "type": "bar",
        "percent": True,
        "labels": [m.month.strftime("%Y-%m") for m in months],
        "datasets": [
            {
                "label": _("Retention rate"),
                "data": [pct(m.customers.retention_rate) for m in months],
                "color": COLOURS["active"],
            },
            {
                "label": _("Returned, as a share of S"),
                "data": [
                    pct(metrics.share(m.customers.returned, m.customers.start)) for m in months
                ],
                "color": COLOURS["treated"],
            },
        ],
    }
    data = {
        "retention": c.retention_rate,
        "s": c.start,
        "e": c.end,
        "retained": c.retained,
        "returned": c.returned,
        "new": c.new,
    }
    return Panel("retention", [table, whole], chart if months else None, data)


def ltv_panel(
    *, filters: DashboardFilters, figures: PeriodFigures, settings: BusinessSettings
) -> Panel:
    """Lifetime value with every input, and the revenue left on the table both ways: the
    method's rule of thumb and the estimate from the share the control group measured."""
    year, left, lifetime = figures.year, figures.revenue_left, figures.lifetime
    lifetime_note = (
        _("1 / yearly churn, capped at %(years)s years: churn this small says little")
        % {"years": f"{metrics.MAX_LIFETIME_YEARS:g}"}
        if lifetime.capped
        else _("1 / yearly churn")
    )
    inputs = Table(
        _("Lifetime value: inputs and result"),
        [
            Column(_("Figure"), "text"),
            Column(_("Value"), "number"),
            Column(_("How it is obtained"), "text"),
        ],
        [
            [_("Revenue in the period"), figures.revenue, _("net of returns")],
            [
                _("Margin in the period"),
                figures.margin,
                _("the transactions' margins; amount x margin rate where unknown"),
            ],
            [_("Purchase days in the period"), figures.purchase_days, _("days a client bought")],
            [_("Average check"), figures.average_check, _("revenue / purchase days")],
            [_("Margin per purchase"), figures.margin_per_purchase, _("margin / purchase days")],
            [
                _("Customers a year before the end"),
                figures.year_customers,
                _("active or sleeping 365 days before the end of the period"),
            ],
            [
                _("Their purchase days in the year"),
                figures.year_purchase_days,
                _("in the 365 days to the end of the period"),
            ],
            [
                _("Purchases per year"),
                figures.purchases_per_year,
                _("their purchase days / those customers"),
            ],
            [
                _("Customers kept over the year"),
                year.retained,
                _("customers at both ends of the 365 days"),
            ],
            [_("Yearly retention"), pct(year.retention_rate), _("kept / customers at the start")],
            [_("Yearly churn"), pct(figures.yearly_churn), _("1 - yearly retention")],
            [_("Expected lifetime, years"), lifetime.years, lifetime_note],
            [
                _("Lifetime value"),
                figures.ltv,
                _("margin per purchase x purchases per year x lifetime"),
            ],
        ],
    )
    measured_share = left.measured_return_share
    estimates = Table(
        _("Revenue left on the table, a year"),
        [
            Column(_("Estimate"), "text"),
            Column(_("Clients")),
            Column(_("Return share, %"), "number"),
            Column(_("Revenue a year"), "money"),
        ],
        [
            [
                _("Rule of thumb of the method: clients ever x return share"),
                left.clients_ever,
                left.return_share * 100,
                left.rule_of_thumb,
            ],
            [
                _("Measured: lost clients x the extra return share the calls brought"),
                left.lost_clients,
                None if measured_share is None else measured_share * 100,
                left.measured,
            ],
        ],
    )
    shares = sorted(
        {0.05, 0.10, 0.20, 0.30, 0.50, round(left.return_share, 4)}
        | ({round(max(0.0, measured_share), 4)} if measured_share is not None else set())
    )
    scenario = [
        metrics.revenue_left_rule_of_thumb(
            clients_ever=left.clients_ever,
            return_share=share,
            purchases_per_year=left.purchases_per_year,
            average_check=left.average_check,
        )
        for share in shares
    ]
    sensitivity = Table(
        _("Rule of thumb by return share"),
        [Column(_("Return share, %"), "number"), Column(_("Revenue a year"), "money")],
        [[share * 100, amount] for share, amount in zip(shares, scenario, strict=True)],
    )

    def colour(value: float) -> str:
        if measured_share is not None and abs(value - max(0.0, measured_share)) < 1e-9:
            return COLOURS["active"]
        return COLOURS["lost"] if abs(value - left.return_share) < 1e-9 else COLOURS["none"]

    chart = {
        "type": "bar",
        "labels": [f"{share * 100:.3g}%" for share in shares],
        "datasets": [
            {
                "label": _("Rule of thumb, a year"),
                "data": [round(a, 2) if a is not None else None for a in scenario],
                "colors": [colour(share) for share in shares],
            }
        ],
    }
    notes = []
    if not left.enough_control:
        notes.append(
            _(
                "Not enough control cases in the period to measure the share calls bring back "
                "(%(cases)s of the %(needed)s needed): the measured estimate waits for them."
            )
            % {"cases": left.control_cases, "needed": metrics.MIN_CONTROL_CASES}
        )
    data = {
        "ltv": figures.ltv,
        "left": left.rule_of_thumb,
        "measured": left.measured,
        "measured_share": measured_share,
        "check": left.average_check,
        "margin_per_purchase": figures.margin_per_purchase,
        "per_year": left.purchases_per_year,
        "years": lifetime.years,
        "lifetime_capped": lifetime.capped,
        "churn": figures.yearly_churn,
        "clients_ever": left.clients_ever,
        "lost": left.lost_clients,
        "return_share": left.return_share,
        "enough_control": left.enough_control,
    }
    return Panel("ltv", [estimates, sensitivity, inputs], chart, data, notes)
