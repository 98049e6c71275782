"""How the dashboard shows its figures: ``{{ value|shown:"percent" }}`` in templates, and the
same functions for the numbers tables and the CSV exports."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.formats import date_format, number_format

register = template.Library()


@register.filter(name="shown")
def display(value: Any, kind: str) -> str:
    """A table cell as the page shows it, in the current language's number and date formats."""
    if value is None or value == "":
        return "—"
    if kind == "text":
        return str(value)
    if kind == "date":
        return date_format(value, "SHORT_DATE_FORMAT")
    if kind == "month":
        return date_format(value, "YEAR_MONTH_FORMAT")
    if kind == "int":
        return number_format(value, 0, force_grouping=True)
    if kind == "money":
        return number_format(round(Decimal(str(value))), 0, force_grouping=True)
    if kind == "percent":
        return number_format(value * 100, 1) + " %"
    if kind == "points":
        return ("+" if value > 0 else "") + number_format(value * 100, 1)
    if isinstance(value, float | Decimal):
        return number_format(value, 2, force_grouping=True)
    return number_format(value, 0, force_grouping=True)


def raw(value: Any, kind: str) -> str:
    """A table cell as the CSV file and the page's ``data-raw`` hold it: plain, unformatted."""
    if value is None:
        return ""
    if kind in ("date", "month"):
        return value.isoformat()
    if kind in ("percent", "points"):
        return f"{value * 100:.2f}"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


@register.filter(name="chart_json")
def chart_json(spec: dict[str, Any]) -> str:
    """A chart's data as JSON for a ``data-chart-spec`` attribute (autoescaping quotes it).

    A data attribute rather than a ``<script type="application/json">`` block: htmx drops
    script elements from swapped content when script tags are disallowed, as they are here."""
    return json.dumps(spec, cls=DjangoJSONEncoder, ensure_ascii=False)
