"""What every panel of the owners' dashboard shares: the panel and table types, the colours
and the month helpers (the panels are in ``dashboard_history``, ``dashboard_values`` and
``dashboard_work``; the page in ``dashboard``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied

from reactivation.models import DailySnapshot
from reactivation.roles import is_owner

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


def require_owner(user: Any) -> None:
    """The dashboards show the whole base: owners and admins only."""
    if not is_owner(user):
        raise PermissionDenied


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def months_between(start: dt.date, end: dt.date) -> list[dt.date]:
    months, month = [], month_start(start)
    while month <= end:
        months.append(month)
        month = next_month(month)
    return months


def latest_snapshot_on() -> dt.date | None:
    return (
        DailySnapshot.objects.filter(segment__isnull=True)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first()
    )


def months_back(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 - count
    return dt.date(index // 12, index % 12 + 1, 1)


def months_forward(month: dt.date, count: int) -> dt.date:
    return months_back(month, -count)


def pct(value: float | None) -> float | None:
    """A share as a percentage for charts (two decimals), None kept."""
    return None if value is None else round(value * 100, 2)
