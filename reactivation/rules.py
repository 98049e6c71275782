"""The product's rules as plain functions on plain numbers: no Django here.

- the cycle: each client's mean gap between purchase days, shrunk toward the segment's prior
  (the gamma-Poisson posterior mean of the gap) and clamped to the segment's bounds;
- the status for a date, from days since the last purchase and the cycle;
- ``due_on``: the first day on which the status changes if nothing is bought;
- the prior a one-time buyer's cycle comes from: the segment's fitted one, or the typed one;
- the value rule and the expected gain of a call, which decide whether a client is worth a call
  and in which order.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

NONE, ACTIVE, SLEEPING, LOST = "none", "active", "sleeping", "lost"
# Status codes of the vectorised rules, in the order of STATUS_NAMES.
STATUS_NAMES = np.array([NONE, ACTIVE, SLEEPING, LOST])


def cycle_days(
    *,
    purchase_days: int,
    span_days: int,
    prior_strength: float,
    default_cycle: float,
    min_cycle: float,
    max_cycle: float,
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
    *,
    last_purchase_on: dt.date | None,
    cycle_days: float | None,
    sleeping_after: float,
    flag_after: float,
    as_of: dt.date,
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


PRIOR_FITTED, PRIOR_TYPED = "fitted", "typed"
# A fitted r this large says every client of the segment buys at the same rate (a fit that could
# not tell the clients apart, often with alpha at its bound): as a prior strength it would
# drown any client's own rhythm for years. Its typical gap alpha / r still stands.
MAX_FITTED_PRIOR_STRENGTH = 10.0


def prior_in_use(
    *,
    pin: str,
    typed_strength: float,
    typed_cycle: float,
    model_r: float | None,
    model_alpha: float | None,
) -> tuple[float, float, str]:
    """(prior strength r, default cycle in days, where they come from) for the cycle formula.

    The fitted prior is the gamma part of the segment's fitted model: strength r (at most
    ``MAX_FITTED_PRIOR_STRENGTH``) and typical gap alpha / r (alpha in days). It is used unless
    the admin pinned the typed values, wherever the segment has a fit (a fit needs enough data:
    see ``bgnbd.fit``); else the typed values. ``clients.stats.POLICY_CTE`` computes the same in
    SQL.
    """
    if pin != PRIOR_TYPED and model_r and model_alpha and model_r > 0 and model_alpha > 0:
        r = float(model_r)
        return min(r, MAX_FITTED_PRIOR_STRENGTH), float(model_alpha) / r, PRIOR_FITTED
    return float(typed_strength), float(typed_cycle), PRIOR_TYPED


def client_value(
    *, margin_per_purchase: float, purchases_per_year: float | None, lifetime_years: float | None
) -> float:
    """What a client is worth while they stay a customer: margin per purchase x purchases per
    year (what customers really make, or the model's expected year) x expected lifetime in
    years (1 / yearly churn, capped). Zero where an input is unknown."""
    if not purchases_per_year or not lifetime_years:
        return 0.0
    return max(0.0, margin_per_purchase) * max(0.0, purchases_per_year) * max(0.0, lifetime_years)


def expected_gain(*, value: float, uplift: float, offer_cost: float, call_cost: float) -> float:
    """What one call is expected to earn: the value x the extra return probability the call
    buys (measured against the control group) minus the cost of the call and the offer."""
    return value * uplift - (offer_cost + call_cost)


# --- The same rules on numpy arrays (the synthetic base, the backtest, the policy preview) ---
# Each keeps the scalar function's order of floating-point operations, so both (and the SQL
# path in clients.stats) give the same cycle to the last bit and the same status and due day.


def cycle_days_array(
    *,
    purchase_days: np.ndarray,
    span_days: np.ndarray,
    prior_strength,
    default_cycle,
    min_cycle,
    max_cycle,
) -> np.ndarray:
    """``cycle_days`` for many clients; NaN where a client has no purchase. Policy values may be
    scalars or arrays aligned with the clients."""
    n = np.asarray(purchase_days, dtype=np.float64)
    r = np.asarray(prior_strength, dtype=np.float64)
    alpha = np.asarray(default_cycle, dtype=np.float64) * r
    denominator = r + n - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        value = (alpha + np.asarray(span_days, dtype=np.float64)) / denominator
    value = np.where(denominator <= 0, default_cycle, value)
    value = np.maximum(min_cycle, np.minimum(max_cycle, value))
    return np.where(n <= 0, np.nan, value)


def status_array(
    *, days_since: np.ndarray, cycle_days: np.ndarray, sleeping_after, flag_after
) -> np.ndarray:
    """Status codes (indexes into STATUS_NAMES): 0 none, 1 active, 2 sleeping, 3 lost.
    ``days_since`` is negative or ``cycle_days`` NaN for a client with no purchase."""
    days = np.asarray(days_since, dtype=np.float64)
    cycle = np.asarray(cycle_days, dtype=np.float64)
    has = ~np.isnan(cycle) & (cycle > 0)
    codes = np.where(days <= sleeping_after * cycle, 1, np.where(days > flag_after * cycle, 3, 2))
    return np.where(has, codes, 0).astype(np.int8)


def due_offset_array(
    *, days_since: np.ndarray, cycle_days: np.ndarray, sleeping_after, flag_after
) -> np.ndarray:
    """Days from the last purchase to ``due_on``; -1 where there is none (no purchase, lost)."""
    codes = status_array(
        days_since=days_since,
        cycle_days=cycle_days,
        sleeping_after=sleeping_after,
        flag_after=flag_after,
    )
    cycle = np.nan_to_num(np.asarray(cycle_days, dtype=np.float64))
    threshold = np.where(codes == 1, sleeping_after * cycle, flag_after * cycle)
    offset = np.floor(threshold).astype(np.int64) + 1
    return np.where((codes == 1) | (codes == 2), offset, -1)
