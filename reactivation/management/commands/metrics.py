"""``manage.py metrics --from D --to D [--segment CODE] [--horizon DAYS] [--json]``: the
dashboard's figures for a period, computed from the data as the page shows them."""

from __future__ import annotations

import json
import math

from django.core.management.base import BaseCommand, CommandError

from clients.models import Segment
from reactivation.management.commands._dates import parse_date
from reactivation.selectors.customers import ALL_SEGMENTS
from reactivation.selectors.dashboard_figures import DEFAULT_HORIZON_DAYS, period_figures

NO_SEGMENT = "none"  # --segment none: the clients without a segment


def _clean(value):
    """NaN and infinities are not JSON: a figure that cannot be computed is null."""
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class Command(BaseCommand):
    help = (
        "The owners' dashboard figures for a period: customers (start, end, retained, returned, "
        "new), retention, yearly churn, lifetime, LTV, the forecast, the uplift over the control "
        "group and the revenue left on the table."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="YYYY-MM-DD")
        parser.add_argument(
            "--segment", help=f"segment code ('{NO_SEGMENT}': clients without one; default: all)"
        )
        parser.add_argument(
            "--horizon",
            type=int,
            default=DEFAULT_HORIZON_DAYS,
            help=f"forecast horizon in days (default {DEFAULT_HORIZON_DAYS})",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, start, end, segment=None, horizon, json: bool = False, **options):
        first, last = parse_date(start, option="--from"), parse_date(end, option="--to")
        if last < first:
            raise CommandError("--to must not be before --from.")
        if horizon <= 0:
            raise CommandError("--horizon must be a positive number of days.")
        if segment is None:
            segment_id = ALL_SEGMENTS
        elif segment == NO_SEGMENT:
            segment_id = None
        else:
            found = Segment.objects.filter(code=segment).values_list("pk", flat=True).first()
            if found is None:
                raise CommandError(f"No segment with code {segment!r}.")
            segment_id = found
        figures = period_figures(start=first, end=last, segment_id=segment_id, horizon_days=horizon)
        data = _clean(figures.as_json())
        if json:
            self.stdout.write(_dumps(data))
            return
        self._print(data)

    def _print(self, data: dict) -> None:
        c = data["customers"]
        self.stdout.write(f"Period {data['from']} to {data['to']}")
        self.stdout.write(
            f"Customers: start {c['start']}, end {c['end']} = retained {c['retained']} + "
            f"returned {c['returned']} + new {c['new']}"
        )
        for key in ("retention_rate", "yearly_churn", "lifetime_years"):
            self.stdout.write(f"{key}: {_shown(data[key])}")
        for group in ("ltv", "forecast", "uplift", "revenue_left"):
            items = ", ".join(f"{k} {_shown(v)}" for k, v in data[group].items())
            self.stdout.write(f"{group}: {items}")


def _dumps(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False)


def _shown(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
