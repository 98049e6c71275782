"""The dashboards' formulas as plain functions on plain numbers: no Django here.

Every figure on the owners' dashboard (and in ``manage.py metrics``) is one of these applied to
counts read from the data (``reactivation.selectors.customers`` and ``dashboard_figures``);
docs/metrics.md defines each input in words an owner reads.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reactivation import bgnbd

Z_95 = 1.959963984540054  # the two-sided 95% quantile of the standard normal distribution
DAYS_PER_YEAR = 365
# Where yearly churn is tiny, 1 / churn says "forever": the lifetime is capped at this many
# years, and the page says so.
MAX_LIFETIME_YEARS = 10.0
# The method's rule of thumb: a fifth of everyone who ever bought could be brought back.
RULE_OF_THUMB_RETURN_SHARE = 0.20
# Fewer control cases than this measure nothing an owner should act on.
MIN_CONTROL_CASES = 30


def share(part: float, whole: float) -> float | None:
    """``part / whole``, or None when there is nothing to divide by."""
    if not whole:
        return None
    return part / whole


def change(current: float | None, previous: float | None) -> float | None:
    """Relative change against the previous period (0.1 = +10%), None when it is undefined."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / previous


# --- customers, retention, churn, lifetime ------------------------------------------------------


def retention_rate(*, retained: int, start: int) -> float | None:
    """The share of the period's starting customers S who are still customers at its end:
    ``retained / S``. None without customers at the start. Never above 1: the customers won
    back during the period are counted apart (``returned``), not as retained."""
    if retained < 0 or retained > start:
        raise ValueError("retained customers must lie between 0 and the customers at the start")
    if start <= 0:
        return None
    return retained / start


def yearly_churn(*, retention: float | None) -> float | None:
    """The share of a year's starting customers who are no longer customers at its end:
    ``1 - retention`` over the 365 days ending at a date."""
    if retention is None:
        return None
    return 1.0 - retention


@dataclass(frozen=True)
class Lifetime:
    years: float | None  # expected remaining lifetime of a customer, in years
    capped: bool  # churn was so small that 1 / churn was cut to MAX_LIFETIME_YEARS


def lifetime_years(*, churn: float | None, cap: float = MAX_LIFETIME_YEARS) -> Lifetime:
    """Expected remaining lifetime of a customer: ``1 / yearly churn`` years, cut to ``cap``
    (and flagged) where churn is below ``1 / cap``. Unknown without a churn figure."""
    if churn is None:
        return Lifetime(None, False)
    if churn <= 1.0 / cap:
        return Lifetime(cap, True)
    return Lifetime(1.0 / churn, False)


def purchases_per_year(*, purchase_days: int, customers: int) -> float | None:
    """What customers really do: the purchase days made in the last 365 days by the customers
    at the start of those days, per such customer. None without customers at the start."""
    return share(purchase_days, customers)


def average_check(*, revenue: float, purchases: int) -> float | None:
    """Revenue per purchase day."""
    return share(revenue, purchases)


def margin_per_purchase(*, margin: float, purchases: int) -> float | None:
    """Margin per purchase day."""
    return share(margin, purchases)


def ltv(
    *,
    margin_per_purchase: float | None,
    purchases_per_year: float | None,
    lifetime_years: float | None,
) -> float | None:
    """Lifetime value of a customer: margin per purchase x purchases per year x lifetime."""
    if None in (margin_per_purchase, purchases_per_year, lifetime_years):
        return None
    return margin_per_purchase * purchases_per_year * lifetime_years


# --- funnel -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelStep:
    count: int
    of_previous: float | None  # conversion from the step before (None for the first step)
    of_first: float | None  # conversion from the first step


def funnel(counts: Sequence[int]) -> list[FunnelStep]:
    """Conversion at each step of a funnel, against the step before and against the first."""
    steps: list[FunnelStep] = []
    for index, count in enumerate(counts):
        previous = share(count, counts[index - 1]) if index else None
        steps.append(
            FunnelStep(count=count, of_previous=previous, of_first=share(count, counts[0]))
        )
    return steps


# --- plans -------------------------------------------------------------------------------------


def prorated_plan(
    *,
    start: dt.date,
    end: dt.date,
    worked_from: dt.date,
    versions: Sequence[tuple[dt.date, float]],
) -> int:
    """A weekly target over ``[start, end]``, counted only on the days the person worked (from
    ``worked_from``): each day carries a seventh of the weekly value in force that day (the
    latest version on or before it; before the first version, the first one), rounded to a
    whole number, since a plan of 51.4 calls is not a plan. ``versions`` are (from, weekly
    value) in date order; none means no target."""
    if not versions:
        return 0
    first = max(start, worked_from)
    total = 0.0
    for index, (since, value) in enumerate(versions):
        until = versions[index + 1][0] - dt.timedelta(days=1) if index + 1 < len(versions) else end
        lo = first if index == 0 else max(first, since)
        hi = min(end, until)
        if hi >= lo:
            total += value * ((hi - lo).days + 1) / 7
    return round(total)


# --- uplift -------------------------------------------------------------------------------------


def wilson_interval(*, successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson's score interval for one proportion (Newcombe 1998, method 3 of the companion
    paper): ``(2np + z^2 -+ z sqrt(z^2 + 4npq)) / (2 (n + z^2))``."""
    if trials <= 0 or not 0 <= successes <= trials:
        raise ValueError("need 0 <= successes <= trials and trials > 0")
    p = successes / trials
    centre = 2 * trials * p + z * z
    spread = z * math.sqrt(z * z + 4 * trials * p * (1 - p))
    denominator = 2 * (trials + z * z)
    return max(0.0, (centre - spread) / denominator), min(1.0, (centre + spread) / denominator)


def newcombe_interval(
    *, x1: int, n1: int, x2: int, n2: int, z: float = Z_95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval for ``p1 - p2`` (Newcombe 1998, "Interval estimation
    for the difference between independent proportions", method 10): with Wilson intervals
    ``(l1, u1)`` and ``(l2, u2)``, ``d - sqrt((p1 - l1)^2 + (u2 - p2)^2)`` to
    ``d + sqrt((u1 - p1)^2 + (p2 - l2)^2)``. Never outside [-1, 1], never of zero width, and
    right for zero counts and tiny groups, where the Wald interval is none of these."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(successes=x1, trials=n1, z=z)
    l2, u2 = wilson_interval(successes=x2, trials=n2, z=z)
    difference = p1 - p2
    low = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, low), min(1.0, high)


@dataclass(frozen=True)
class Uplift:
    treated: int  # cases to call
    treated_returned: int  # of them, clients who bought within the case's lifetime
    control: int  # cases held out uncalled
    control_returned: int  # of them, clients who bought within the case's lifetime
    treated_rate: float | None
    control_rate: float | None
    uplift: float | None  # treated_rate - control_rate
    low: float | None  # 95% interval of the uplift (Newcombe's hybrid score)
    high: float | None
    incremental_returns: float | None  # uplift x treated: the returns the calls caused
    incremental_revenue: float | None

    @property
    def has_control(self) -> bool:
        return self.control > 0

    @property
    def enough_control(self) -> bool:
        return self.control >= MIN_CONTROL_CASES

    @property
    def possibly_chance(self) -> bool:
        """The interval holds zero: the calls may have changed nothing."""
        return self.low is not None and self.high is not None and self.low <= 0 <= self.high

    @property
    def significant(self) -> bool:
        return self.low is not None and not self.possibly_chance


def uplift(
    *,
    treated: int,
    treated_returned: int,
    control: int,
    control_returned: int,
    revenue_per_return: float = 0.0,
    z: float = Z_95,
) -> Uplift:
    """Return rate of the called group minus that of the control group, both counted by the
    same outcome (a purchase within the case's lifetime), with Newcombe's 95% interval.

    Incremental returns are ``uplift x treated`` and their revenue that times the revenue per
    return. Without both groups nothing can be separated from natural returns and every
    comparative figure is None.
    """
    treated_rate = share(treated_returned, treated)
    control_rate = share(control_returned, control)
    if treated_rate is None or control_rate is None:
        return Uplift(
            treated,
            treated_returned,
            control,
            control_returned,
            treated_rate,
            control_rate,
            None,
            None,
            None,
            None,
            None,
        )
    difference = treated_rate - control_rate
    low, high = newcombe_interval(
        x1=treated_returned, n1=treated, x2=control_returned, n2=control, z=z
    )
    incremental = difference * treated
    return Uplift(
        treated,
        treated_returned,
        control,
        control_returned,
        treated_rate,
        control_rate,
        difference,
        low,
        high,
        incremental,
        incremental * revenue_per_return,
    )


# --- revenue left on the table ------------------------------------------------------------------


def revenue_left_rule_of_thumb(
    *,
    clients_ever: int,
    return_share: float = RULE_OF_THUMB_RETURN_SHARE,
    purchases_per_year: float | None,
    average_check: float | None,
) -> float | None:
    """The method's rule of thumb: clients ever x return share (20%) x purchases per year x
    average check, a year's revenue if that share of everyone who ever bought bought again."""
    if purchases_per_year is None or average_check is None:
        return None
    return clients_ever * return_share * purchases_per_year * average_check


def revenue_left_measured(
    *,
    lost_clients: int,
    incremental_share: float | None,
    purchases_per_year: float | None,
    average_check: float | None,
) -> float | None:
    """The measured estimate: lost clients now x the incremental return share the control
    group measured x purchases per year x average check. A negative measured share (the calls
    brought back fewer than came back on their own) leaves nothing on the table: 0. Bounded
    by the lost clients' revenue at the customers' rate, since the share is at most 1."""
    if incremental_share is None or purchases_per_year is None or average_check is None:
        return None
    return lost_clients * min(1.0, max(0.0, incremental_share)) * purchases_per_year * average_check


# --- forecast -----------------------------------------------------------------------------------


def expected_purchases_total(
    params: bgnbd.Params,
    *,
    horizon: float,
    frequency: Sequence[float] | np.ndarray,
    recency: Sequence[float] | np.ndarray,
    age: Sequence[float] | np.ndarray,
    model: str = bgnbd.MODEL,
) -> float:
    """Expected purchase days in the next ``horizon`` (in the unit of the summaries), summed over
    the clients given by repeat purchases, recency and age: the model's forecast for the base."""
    if len(frequency) == 0:
        return 0.0
    values = bgnbd.expected_purchases(params, horizon, frequency, recency, age, model=model)
    return float(np.sum(values))
