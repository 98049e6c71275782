"""The owner's figures for a period, computed from the data: customers and retention, churn and
lifetime, LTV, the forecast, the uplift over the control group and the revenue left on the
table (definitions: docs/metrics.md; formulas: ``reactivation.metrics``).

``period_figures(...)`` reads the purchase days up to the period's end once
(``selectors.customers.PurchaseLog``), the period's revenue and margin in one aggregate and
the cases opened in the period; everything else is numpy over that read. That costs seconds
on a large base, so the dashboard never calls it in a request when a broker is configured: the
task ``period_figures_compute`` stores the result per view (``PeriodFigures.to_dict``, in
``PeriodFiguresRecord``; see ``services.figures``) and the page reads that row.
``manage.py metrics`` prints the same figures, computed directly, so both say the same.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal

import numpy as np
from django.core.cache import cache
from django.db.models import DecimalField, F, Sum, Value
from django.db.models.functions import Coalesce

from clients.models import Transaction
from reactivation import bgnbd, metrics
from reactivation.models import BusinessSettings, Case
from reactivation.policies import policy_for_segments
from reactivation.selectors.customers import (
    ALL_SEGMENTS,
    EPOCH,
    CustomerCounts,
    PurchaseLog,
    SegmentChoice,
)
from reactivation.services.dashboard_cache import DASHBOARD_VERSION_KEY

DEFAULT_HORIZON_DAYS = 90
FORECAST_CACHE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Forecast:
    horizon_days: int
    expected_purchases: float | None
    clients: int  # clients who had bought by the date, whose purchases are forecast
    fitted_segments: int  # segments (and the clients without one) with a fit of their own
    pooled_clients: int  # clients of segments too small for a fit, forecast by the base's fit
    # (segment id or None, clients, expected purchases, fitted on its own data)
    by_segment: tuple[tuple[int | None, int, float, bool], ...] = ()


@dataclass(frozen=True)
class RevenueLeft:
    rule_of_thumb: float | None
    return_share: float
    measured: float | None
    measured_return_share: float | None
    lost_clients: int
    clients_ever: int
    purchases_per_year: float | None
    average_check: float | None
    control_cases: int
    enough_control: bool


@dataclass(frozen=True)
class MonthRetention:
    month: dt.date
    start: dt.date
    end: dt.date
    customers: CustomerCounts


@dataclass(frozen=True)
class PeriodFigures:
    start: dt.date
    end: dt.date
    customers: CustomerCounts
    year: CustomerCounts  # the 365 days ending at the period's end
    yearly_churn: float | None
    lifetime: metrics.Lifetime
    revenue: float
    margin: float
    purchase_days: int
    average_check: float | None
    margin_per_purchase: float | None
    year_purchase_days: int
    year_customers: int
    purchases_per_year: float | None
    ltv: float | None
    forecast: Forecast
    uplift: metrics.Uplift
    revenue_left: RevenueLeft
    months: list[MonthRetention] = field(default_factory=list)
    manager_comparable: bool | None = None  # per-manager uplift: control cases to compare with

    @property
    def retention_rate(self) -> float | None:
        return self.customers.retention_rate

    def to_dict(self) -> dict:
        """Every field as JSON (dates as ISO strings; a float that is not finite as
        ``{"float": "nan"}``, which JSON has no number for): ``from_dict`` gives back an equal
        object. This is what ``PeriodFiguresRecord.figures`` holds."""
        return _encode(asdict(self))

    @classmethod
    def from_dict(cls, data: dict) -> PeriodFigures:
        data = _decode(data)
        forecast = dict(data["forecast"])
        forecast["by_segment"] = tuple(tuple(part) for part in forecast["by_segment"])
        return cls(
            **{
                **data,
                "start": dt.date.fromisoformat(data["start"]),
                "end": dt.date.fromisoformat(data["end"]),
                "customers": CustomerCounts(**data["customers"]),
                "year": CustomerCounts(**data["year"]),
                "lifetime": metrics.Lifetime(**data["lifetime"]),
                "forecast": Forecast(**forecast),
                "uplift": metrics.Uplift(**data["uplift"]),
                "revenue_left": RevenueLeft(**data["revenue_left"]),
                "months": [
                    MonthRetention(
                        month=dt.date.fromisoformat(month["month"]),
                        start=dt.date.fromisoformat(month["start"]),
                        end=dt.date.fromisoformat(month["end"]),
                        customers=CustomerCounts(**month["customers"]),
                    )
                    for month in data["months"]
                ],
            }
        )

    def as_json(self) -> dict:
        """The object ``manage.py metrics --json`` prints (null where a figure is undefined)."""
        c, u, left = self.customers, self.uplift, self.revenue_left
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "customers": {
                "start": c.start,
                "end": c.end,
                "retained": c.retained,
                "returned": c.returned,
                "new": c.new,
            },
            "retention_rate": self.retention_rate,
            "yearly_churn": self.yearly_churn,
            "lifetime_years": self.lifetime.years,
            "ltv": {
                "value": self.ltv,
                "margin_per_purchase": self.margin_per_purchase,
                "purchases_per_year": self.purchases_per_year,
                "lifetime_years": self.lifetime.years,
            },
            "forecast": {
                "horizon_days": self.forecast.horizon_days,
                "expected_purchases": self.forecast.expected_purchases,
            },
            "uplift": {
                "called": u.treated,
                "called_returned": u.treated_returned,
                "control": u.control,
                "control_returned": u.control_returned,
                "uplift": u.uplift,
                "ci_low": u.low,
                "ci_high": u.high,
            },
            "revenue_left": {
                "rule_of_thumb": left.rule_of_thumb,
                "return_share": left.return_share,
                "measured": left.measured,
                "measured_return_share": left.measured_return_share,
                "lost_clients": left.lost_clients,
                "clients_ever": left.clients_ever,
                "purchases_per_year": left.purchases_per_year,
                "average_check": left.average_check,
            },
        }


def _encode(value):
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": str(value)}
    if isinstance(value, np.generic):
        return _encode(value.item())
    return value


def _decode(value):
    if isinstance(value, dict):
        if set(value) == {"float"}:
            return float(value["float"])
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


def _day(value: dt.date) -> int:
    return (value - EPOCH).days


def _money(
    *, start: dt.date, end: dt.date, segment_id: SegmentChoice, margin_rate: float
) -> tuple[float, float]:
    """Revenue (net of returns) and margin of the period's transactions; a line without a
    known margin counts its amount x the business's margin rate."""
    rows = Transaction.objects.filter(date__gte=start, date__lte=end)
    if segment_id is not ALL_SEGMENTS:
        rows = rows.filter(client__segment_id=segment_id)
    money = DecimalField(max_digits=18, decimal_places=4)
    totals = rows.aggregate(
        revenue=Sum("amount"),
        margin=Sum(
            Coalesce(
                F("margin"), F("amount") * Value(Decimal(str(margin_rate))), output_field=money
            )
        ),
    )
    return float(totals["revenue"] or 0), float(totals["margin"] or 0)


def forecast_from_log(log: PurchaseLog, *, as_of: dt.date, horizon_days: int) -> Forecast:
    """Expected purchase days in the ``horizon_days`` after ``as_of``, summed over the clients
    who had bought by then, from the MBG/NBD model fitted on their purchases up to ``as_of``:
    one fit per segment (and one for the clients without one); a segment too small for a fit
    of its own is forecast by the fit on the whole log."""
    index, x, t_x, age = log.summaries(as_of)
    if index.size == 0:
        return Forecast(horizon_days, None, 0, 0, 0)
    segments = log.segments[index]
    pooled: list[bgnbd.Params | None] = []  # fitted once, only when a segment needs it

    def whole_base() -> bgnbd.Params | None:
        if not pooled:
            try:
                pooled.append(bgnbd.fit(x, t_x, age).params)
            except bgnbd.NotEnoughData:
                pooled.append(None)
        return pooled[0]

    total, fitted, pooled_clients, parts = 0.0, 0, 0, []
    for key in np.unique(segments):
        mine = segments == key
        segment_id = None if key < 0 else int(key)
        try:
            params = bgnbd.fit(x[mine], t_x[mine], age[mine]).params
            own = True
        except bgnbd.NotEnoughData:
            params, own = whole_base(), False
            if params is None:
                return Forecast(horizon_days, None, int(index.size), 0, 0)
        expected = metrics.expected_purchases_total(
            params, horizon=horizon_days, frequency=x[mine], recency=t_x[mine], age=age[mine]
        )
        clients = int(mine.sum())
        fitted += int(own)
        pooled_clients += 0 if own else clients
        total += expected
        parts.append((segment_id, clients, expected, own))
    return Forecast(horizon_days, total, int(index.size), fitted, pooled_clients, tuple(parts))


def _cached_forecast(log: PurchaseLog, *, segment_id: SegmentChoice, horizon_days: int) -> Forecast:
    """The forecast depends on the period's end alone, not on its start or a manager: the
    model fits (most of the figures' cost) are kept for every view ending on that day, until
    the dashboards' tables next change."""
    key = (
        f"dashboard:forecast:{log.until}:{segment_id}:{horizon_days}:"
        f"{cache.get(DASHBOARD_VERSION_KEY, 0)}:{log.days.size}"
    )
    found = cache.get(key)
    if found is None:
        found = forecast_from_log(log, as_of=log.until, horizon_days=horizon_days)
        cache.set(key, found, FORECAST_CACHE_SECONDS)
    return found


def with_return_share(figures: PeriodFigures, share: float) -> PeriodFigures:
    """The same figures with the rule of thumb worked out at another return share (the only
    figure the share changes)."""
    left = figures.revenue_left
    rule = metrics.revenue_left_rule_of_thumb(
        clients_ever=left.clients_ever,
        return_share=share,
        purchases_per_year=left.purchases_per_year,
        average_check=left.average_check,
    )
    return replace(figures, revenue_left=replace(left, rule_of_thumb=rule, return_share=share))


def _week(day: dt.date) -> tuple[int, int]:
    year, week, _weekday = day.isocalendar()
    return year, week


def uplift_from_log(
    log: PurchaseLog,
    *,
    start: dt.date,
    end: dt.date,
    segment_id: SegmentChoice,
    manager_id: int | None = None,
) -> tuple[metrics.Uplift, bool | None]:
    """The called cases against the control cases opened in ``[start, end]``, by one outcome:
    the client bought on a day from the case's opening through the policy's case lifetime after
    it, cut at ``end`` for both groups alike. The case's status plays no part, so nothing typed
    into a case makes a return without a purchase.

    With ``manager_id``, the called cases are that manager's and the control cases those opened
    in the same weeks and segments as theirs; the second value says whether there were any
    (None without a manager).
    """
    cases = Case.objects.filter(opened_on__gte=start, opened_on__lte=end)
    if segment_id is not ALL_SEGMENTS:
        cases = cases.filter(client__segment_id=segment_id)
    rows = list(
        cases.order_by().values_list(
            "client_id", "client__segment_id", "opened_on", "is_control", "assigned_to_id"
        )
    )
    policies = policy_for_segments()
    lifetime = {
        key: (policies.get(key) or policies[None]).case_lifetime_days
        for key in {row[1] for row in rows}
    }
    end_day = _day(end)
    returned = log.bought_within(
        client_ids=np.array([row[0] for row in rows], dtype=np.int64),
        first=np.array([_day(row[2]) for row in rows], dtype=np.int64),
        last=np.array(
            [min(end_day, _day(row[2]) + lifetime[row[1]]) for row in rows], dtype=np.int64
        ),
    )
    comparable = None
    if manager_id is None:
        treated = [not row[3] for row in rows]
        control = [row[3] for row in rows]
    else:
        treated = [not row[3] and row[4] == manager_id for row in rows]
        strata = {(_week(row[2]), row[1]) for row, mine in zip(rows, treated, strict=True) if mine}
        control = [row[3] and (_week(row[2]), row[1]) in strata for row in rows]
        comparable = any(control)
    counts: dict[str, int] = defaultdict(int)
    for came_back, is_treated, is_control in zip(returned, treated, control, strict=True):
        if is_treated:
            counts["treated"] += 1
            counts["treated_returned"] += int(came_back)
        elif is_control:
            counts["control"] += 1
            counts["control_returned"] += int(came_back)
    return (
        metrics.uplift(
            treated=counts["treated"],
            treated_returned=counts["treated_returned"],
            control=counts["control"],
            control_returned=counts["control_returned"],
        ),
        comparable,
    )


def _months(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date, dt.date]]:
    """(month, first day, last day) of each calendar month of ``[start, end]``, cut to it."""
    result, month = [], start.replace(day=1)
    while month <= end:
        following = (month + dt.timedelta(days=32)).replace(day=1)
        result.append((month, max(month, start), min(following - dt.timedelta(days=1), end)))
        month = following
    return result


def period_figures(
    *,
    start: dt.date,
    end: dt.date,
    segment_id: SegmentChoice = ALL_SEGMENTS,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    manager_id: int | None = None,
    return_share: float | None = None,
    by_month: bool = False,
) -> PeriodFigures:
    """Every figure of the period ``[start, end]`` for one segment (None: the clients without
    one) or the whole base, from one read of the purchase days up to ``end``:

    1. customers at the two ends and how the end's came to be (``CustomerCounts``);
    2. over the 365 days ending at ``end``: retention, churn and lifetime, and the purchase
       days the customers at their start made, per customer (purchases per year);
    3. the period's revenue, margin and purchase days: average check, margin per purchase, LTV;
    4. the forecast from the model fitted on the purchases up to ``end``;
    5. the uplift of the cases opened in the period, and with it the revenue left on the table
       both ways (the rule of thumb, and the measured share where control cases suffice).
    """
    if end < start:
        raise ValueError("the period ends before it starts")
    settings = BusinessSettings.load()
    share = settings.return_share if return_share is None else return_share
    log = PurchaseLog.load(until=end, segment_id=segment_id)
    customers = log.counts_between(start=start, end=end)
    year = log.counts_between(start=end - dt.timedelta(days=metrics.DAYS_PER_YEAR - 1), end=end)
    churn = metrics.yearly_churn(retention=year.retention_rate)
    lifetime = metrics.lifetime_years(churn=churn)
    year_days, year_customers = log.purchases_per_year(end=end)
    per_year = metrics.purchases_per_year(purchase_days=year_days, customers=year_customers)

    before = start - dt.timedelta(days=1)
    purchase_days = int((log.purchases_until(end) - log.purchases_until(before)).sum())
    revenue, margin = _money(
        start=start, end=end, segment_id=segment_id, margin_rate=settings.margin_rate
    )
    check = metrics.average_check(revenue=revenue, purchases=purchase_days)
    per_purchase = metrics.margin_per_purchase(margin=margin, purchases=purchase_days)
    value = metrics.ltv(
        margin_per_purchase=per_purchase, purchases_per_year=per_year, lifetime_years=lifetime.years
    )

    forecast = _cached_forecast(log, segment_id=segment_id, horizon_days=horizon_days)
    uplift, comparable = uplift_from_log(
        log, start=start, end=end, segment_id=segment_id, manager_id=manager_id
    )
    # The measured share is the whole team's: one manager's few cases are not the business's.
    team = (
        uplift
        if manager_id is None
        else uplift_from_log(log, start=start, end=end, segment_id=segment_id)[0]
    )
    measured_share = team.uplift if team.enough_control else None
    left = RevenueLeft(
        rule_of_thumb=metrics.revenue_left_rule_of_thumb(
            clients_ever=customers.clients_ever,
            return_share=share,
            purchases_per_year=per_year,
            average_check=check,
        ),
        return_share=share,
        measured=metrics.revenue_left_measured(
            lost_clients=customers.lost_at_end,
            incremental_share=measured_share,
            purchases_per_year=per_year,
            average_check=check,
        ),
        measured_return_share=measured_share,
        lost_clients=customers.lost_at_end,
        clients_ever=customers.clients_ever,
        purchases_per_year=per_year,
        average_check=check,
        control_cases=team.control,
        enough_control=team.enough_control,
    )
    months = (
        [
            MonthRetention(month, first, last, log.counts_between(start=first, end=last))
            for month, first, last in _months(start, end)
        ]
        if by_month
        else []
    )
    return PeriodFigures(
        start=start,
        end=end,
        customers=customers,
        year=year,
        yearly_churn=churn,
        lifetime=lifetime,
        revenue=revenue,
        margin=margin,
        purchase_days=purchase_days,
        average_check=check,
        margin_per_purchase=per_purchase,
        year_purchase_days=year_days,
        year_customers=year_customers,
        purchases_per_year=per_year,
        ltv=value,
        forecast=forecast,
        uplift=uplift,
        revenue_left=left,
        months=months,
        manager_comparable=comparable,
    )
