"""The dashboards' formulas as plain functions on plain numbers: no Django here.

Every figure on the owners' dashboard is one of these applied to counts read from the daily
snapshots and the pre-aggregated tables; docs/metrics.md defines each input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z_95 = 1.959963984540054  # the two-sided 95% quantile of the standard normal distribution
DAYS_PER_YEAR = 365.0


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


def crr(*, start_customers: int, end_customers: int, new_customers: int) -> float | None:
    """Customer retention rate for a period: ``(E - N) / S``.

    S: customers at the start of the period, E: customers at its end, N: customers acquired
    during it. For a business without contracts a "customer" on a date is a client who has
    bought and is not yet lost (status active or sleeping); see docs/metrics.md.
    """
    if start_customers <= 0:
        return None
    return (end_customers - new_customers) / start_customers


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


@dataclass(frozen=True)
class Uplift:
    treated: int
    treated_won: int
    control: int
    control_returned: int
    treated_rate: float | None
    control_rate: float | None
    uplift: float | None  # treated_rate - control_rate
    low: float | None  # 95% confidence interval of the uplift
    high: float | None
    incremental_wins: float | None
    incremental_revenue: float | None

    @property
    def has_control(self) -> bool:
        return self.control > 0

    @property
    def significant(self) -> bool:
        return self.low is not None and (self.low > 0 or (self.high is not None and self.high < 0))


def uplift(
    *,
    treated: int,
    treated_won: int,
    control: int,
    control_returned: int,
    revenue_per_win: float = 0.0,
    z: float = Z_95,
) -> Uplift:
    """Win-back rate of the treated group minus the natural return rate of the control group.

    The interval is the Wald interval for a difference of two independent proportions:
    ``d +- z * sqrt(p1 (1 - p1) / n1 + p0 (1 - p0) / n0)``. Incremental wins are
    ``d * n1`` (the wins the calls caused) and incremental revenue is those wins times the
    revenue won back per win. Without a control group nothing can be separated from natural
    returns and every comparative figure is None.
    """
    treated_rate = share(treated_won, treated)
    control_rate = share(control_returned, control)
    if treated_rate is None or control_rate is None:
        return Uplift(
            treated,
            treated_won,
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
    error = math.sqrt(
        treated_rate * (1 - treated_rate) / treated + control_rate * (1 - control_rate) / control
    )
    incremental_wins = difference * treated
    return Uplift(
        treated,
        treated_won,
        control,
        control_returned,
        treated_rate,
        control_rate,
        difference,
        difference - z * error,
        difference + z * error,
        incremental_wins,
        incremental_wins * revenue_per_win,
    )


def average_check(*, revenue: float, purchases: int) -> float | None:
    """Revenue per purchase day."""
    return share(revenue, purchases)


def purchases_per_year(*, mean_cycle_days: float | None) -> float | None:
    """How often a client buys in a year: 365 over the mean of the clients' learned cycles."""
    if not mean_cycle_days or mean_cycle_days <= 0:
        return None
    return DAYS_PER_YEAR / mean_cycle_days


def yearly_churn(*, retention: float | None) -> float | None:
    """The share of customers lost in a year: one minus the twelve-month retention rate."""
    if retention is None:
        return None
    return min(1.0, max(0.0, 1.0 - retention))


def lifetime_years(*, churn: float | None, floor: float = 0.05) -> float | None:
    """Expected remaining lifetime of a customer: ``1 / yearly churn`` (churn floored at 5%,
    as the value rule does, so that a base that lost nobody this year is not immortal)."""
    if churn is None:
        return None
    return 1.0 / max(floor, churn)


def ltv(
    *, average_check: float | None, purchases_per_year: float | None, lifetime_years: float | None
) -> float | None:
    """Lifetime value: average check x purchases per year x expected lifetime in years."""
    if None in (average_check, purchases_per_year, lifetime_years):
        return None
    return average_check * purchases_per_year * lifetime_years


def revenue_left_on_table(
    *,
    clients_ever: int,
    return_share: float,
    purchases_per_year: float | None,
    average_check: float | None,
) -> float | None:
    """Clients ever x return share x purchases per year x average check (a year's revenue)."""
    if purchases_per_year is None or average_check is None:
        return None
    return clients_ever * return_share * purchases_per_year * average_check


def bgnbd_expected_purchases(
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    frequency: Sequence[float],
    recency: Sequence[float],
    age: Sequence[float],
    horizon: float,
) -> list[float]:
    """Expected purchases in the next ``horizon`` days under BG/NBD (Fader, Hardie & Lee 2005,
    eq. 10), for clients given by repeat purchases ``x``, recency ``t_x`` and age ``T``.

    A vectorised fallback used when the engine's model selector is not installed.
    """
    import numpy as np
    from scipy.special import hyp2f1

    x = np.asarray(frequency, dtype=float)
    t_x = np.asarray(recency, dtype=float)
    big_t = np.asarray(age, dtype=float)
    t = float(horizon)
    if x.size == 0:
        return []
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + big_t + t))
    first = (
        (a + b + x - 1) / (a - 1) * (1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp)
    )
    alive_odds = np.where(
        x > 0, a / (b + x - 1) * ((alpha + big_t) / (alpha + t_x)) ** (r + x), 0.0
    )
    result = first / (1 + alive_odds)
    return [float(v) if math.isfinite(v) else 0.0 for v in result]
