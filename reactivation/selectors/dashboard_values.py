"""The dashboard's panels drawn from the cohort and value tables (cohorts, ABC classes) and the
forecast from the period's figures (definitions: docs/metrics.md)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.utils.translation import gettext as _

from clients.models import Segment
from reactivation import metrics
from reactivation.dashboard_forms import DashboardFilters
from reactivation.models import (
    CohortActivity,
    ValueSnapshot,
)
from reactivation.selectors.dashboard_common import (
    ABC_CLASSES,
    COHORT_MONTHS,
    COHORT_ROWS,
    COLOURS,
    STATUSES,
    Column,
    Panel,
    Table,
    month_start,
    months_back,
    months_between,
    months_forward,
)
from reactivation.selectors.dashboard_figures import PeriodFigures


def latest_values(filters: DashboardFilters) -> list[ValueSnapshot]:
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
    last = month_start(filters.end)
    # At least the twelve cohorts before the end (a short period still shows the pattern), more
    # for a longer period, up to COHORT_ROWS.
    first = max(
        min(month_start(filters.start), months_back(last, COHORT_MONTHS - 1)),
        months_back(last, COHORT_ROWS - 1),
    )
    rows = CohortActivity.objects.filter(cohort__gte=first, cohort__lte=last, month__lte=last)
    if filters.segment_id:
        rows = rows.filter(segment_id=filters.segment_id)
    counts: dict[tuple[dt.date, dt.date], int] = defaultdict(int)
    for cohort, month, clients in rows.values_list("cohort", "month", "clients"):
        counts[(cohort, month)] += clients
    # The period may end inside its last month: that month's cells count only its first days.
    partial = (filters.end + dt.timedelta(days=1)).month == filters.end.month
    matrix, table_rows = [], []
    for cohort in months_between(first, last):
        size = counts.get((cohort, cohort), 0)
        cells = []
        for offset in range(COHORT_MONTHS + 1):
            month = months_forward(cohort, offset)
            cells.append(
                metrics.share(counts.get((cohort, month), 0), size) if month <= last else None
            )
        matrix.append(
            {
                "cohort": cohort,
                "size": size,
                "cells": [
                    {
                        "value": v,
                        "heat": None if v is None else min(10, round(v * 10)),
                        "partial": partial and months_forward(cohort, offset) == last,
                    }
                    for offset, v in enumerate(cells)
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
    notes = []
    if partial:
        notes.append(
            _(
                "Cells marked * are %(month)s, of which the period holds only the first "
                "%(days)s days: they are not yet the month's share."
            )
            % {"month": last.strftime("%m.%Y"), "days": filters.end.day}
        )
    return Panel(
        "cohorts",
        [table],
        None,
        {"matrix": matrix, "offsets": list(range(COHORT_MONTHS + 1)), "partial": partial},
        notes,
    )


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


def forecast_panel(*, filters: DashboardFilters, figures: PeriodFigures) -> Panel:
    """Expected purchase days in the horizon after the end of the period, by segment, from the
    model fitted on the purchases up to that day."""
    forecast = figures.forecast
    names = dict(Segment.objects.values_list("pk", "name"))
    rows = [
        [
            names.get(segment_id, _("No segment")),
            clients,
            expected,
            metrics.share(expected, clients),
            _("its own") if own else _("the whole base's (too few clients for its own)"),
        ]
        for segment_id, clients, expected, own in sorted(
            forecast.by_segment, key=lambda part: names.get(part[0], "")
        )
    ]
    table = Table(
        _("Expected purchases in the next %(days)s days") % {"days": forecast.horizon_days},
        [
            Column(_("Segment"), "text"),
            Column(_("Clients who bought")),
            Column(_("Expected purchases"), "number"),
            Column(_("Per client"), "number"),
            Column(_("Model fit"), "text"),
        ],
        rows,
    )
    chart = {
        "type": "bar",
        "labels": [row[0] for row in rows],
        "datasets": [
            {
                "label": _("Expected purchases in the next %(days)s days")
                % {"days": forecast.horizon_days},
                "data": [round(row[2], 1) for row in rows],
                "color": COLOURS["A"],
            }
        ],
    }
    notes = []
    if forecast.expected_purchases is None and forecast.clients:
        notes.append(_("Too few clients and repeat purchases to fit the purchase model."))
    data = {
        "expected": forecast.expected_purchases,
        "horizon": forecast.horizon_days,
        "clients": forecast.clients,
        "after": figures.end,
    }
    return Panel("forecast", [table], chart if rows else None, data, notes)
