"""The product's rules as plain functions on plain numbers: no Django here.

- the cycle: each client's mean gap between purchase days, shrunk toward the segment's prior
  (the gamma-Poisson posterior mean of the gap) and clamped to the segment's bounds;
- the status for a date, from days since the last purchase and the cycle;
- ``due_on``: the first day on which the status changes if nothing is bought;
- the value rule that decides whether a client is worth winning back.
"""

from __future__ import annotations

import datetime as dt
import math

NONE, ACTIVE, SLEEPING, LOST = "none", "active", "sleeping", "lost"

# A base that loses almost nobody would make the expected lifetime (1 / churn) unbounded.
MIN_YEARLY_CHURN = 0.05


def cycle_days(
    *, purchase_days: int, span_days: int, prior_strength: float, default_cycle: float,
    min_cycle: float, max_cycle: float,
) -> float | None:
    """``(alpha + span) / (r + n - 1)`` with ``alpha = default_cycle * r``, clamped.

    ``span_days`` is last minus first purchase day, ``purchase_days`` is n. With one purchase
    the result is ``alpha / r``, the segment's default cycle; with no purchase there is none.
    """
    if purchase_days <= 0:
        return None
    r = prior_strength
    alpha = default_cycle * r
    denominator = r + purchase_days - 1
    if denominator <= 0:
        return float(max(min_cycle, min(max_cycle, default_cycle)))
    value = (alpha + span_days) / denominator
    return float(max(min_cycle, min(max_cycle, value)))


def status_for(
    *, days_since: int | None, cycle_days: float | None, sleeping_after: float, flag_after: float
) -> str:
    """active while ``d <= sleeping_after x cycle``, lost once ``d > flag_after x cycle``."""
    if days_since is None or not cycle_days:
        return NONE
    if days_since <= sleeping_after * cycle_days:
        return ACTIVE
    if days_since > flag_after * cycle_days:
        return LOST
    return SLEEPING


def due_on(
    *, last_purchase_on: dt.date | None, cycle_days: float | None, sleeping_after: float,
    flag_after: float, as_of: dt.date,
) -> dt.date | None:
    """The first day after which the status for ``as_of`` no longer holds, or None if it never
    changes without a purchase (no purchases, or already lost).

    Status changes on the first whole day ``d`` with ``d > threshold x cycle``, that is
    ``floor(threshold x cycle) + 1`` days after the last purchase.
    """
    if last_purchase_on is None or not cycle_days:
        return None
    days = (as_of - last_purchase_on).days
    status = status_for(
        days_since=days, cycle_days=cycle_days, sleeping_after=sleeping_after, flag_after=flag_after
    )
    if status == ACTIVE:
        threshold = sleeping_after * cycle_days
    elif status == SLEEPING:
        threshold = flag_after * cycle_days
    else:
        return None
    return last_purchase_on + dt.timedelta(days=math.floor(threshold) + 1)


def expected_lifetime_months(yearly_churn: float) -> float:
    """Expected remaining lifetime of a client, in months, from the base's yearly loss rate."""
    return 12.0 / max(MIN_YEARLY_CHURN, min(1.0, yearly_churn))


def potential_value(*, margin_per_purchase: float, cycle_days: float, yearly_churn: float) -> float:
    """Margin per purchase x purchases per month (30 / cycle) x expected lifetime in months."""
    if not cycle_days or cycle_days <= 0:
        return 0.0
    return max(0.0, margin_per_purchase) * (30.0 / cycle_days) * expected_lifetime_months(yearly_churn)


def worth_winning_back(*, potential: float, offer_cost: float, call_cost: float) -> bool:
    return potential >= offer_cost + call_cost
