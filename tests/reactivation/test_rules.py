"""The cycle formula, the status rule and due_on as pure functions (no database)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reactivation import rules

RANK = {rules.ACTIVE: 0, rules.SLEEPING: 1, rules.LOST: 2}
DAY0 = dt.date(2024, 1, 1)

purchase_days = st.integers(min_value=1, max_value=500)
spans = st.integers(min_value=0, max_value=3000)
strengths = st.floats(min_value=0.01, max_value=20)
cycles = st.floats(min_value=0.5, max_value=400)
thresholds = st.tuples(
    st.floats(min_value=0.1, max_value=4), st.floats(min_value=0.05, max_value=4)
).map(lambda t: (t[0], t[0] + t[1]))


def _cycle(n, span, r=1.0, default=30.0, low=1.0, high=3650.0):
    return rules.cycle_days(
        purchase_days=n,
        span_days=span,
        prior_strength=r,
        default_cycle=default,
        min_cycle=low,
        max_cycle=high,
    )


@given(n=purchase_days, span=spans, r=strengths, default=cycles, low=cycles, width=cycles)
def test_the_cycle_lies_within_the_clamp(n, span, r, default, low, width):
    value = _cycle(n, span, r, default, low, low + width)
    assert low <= value <= low + width


@given(gap=st.integers(1, 300), n=st.integers(1, 200), r=strengths, default=cycles)
def test_more_evidence_moves_the_cycle_toward_the_clients_own_mean_gap(gap, n, r, default):
    """Two clients who bought every ``gap`` days: the one with more purchases has a cycle closer
    to ``gap`` (the prior weighs less against more gaps)."""

    def at(purchases):
        return _cycle(purchases, gap * (purchases - 1), r, default, 0.01, 1e9)

    fewer, more = at(n), at(n + 5)
    assert abs(more - gap) <= abs(fewer - gap) + 1e-9 * gap
    assert min(gap, default) - 1e-9 <= more <= max(gap, default) + 1e-9


def test_one_purchase_gets_the_segment_default_and_none_gets_no_cycle():
    assert _cycle(1, 0, r=2.0, default=21.0) == pytest.approx(21.0)
    assert _cycle(0, 0) is None


def test_the_formula_of_the_design():
    # (alpha + span) / (r + n - 1) with alpha = 30 x 1: five purchases over 100 days.
    assert _cycle(5, 100) == pytest.approx(130 / 5)


@given(cycle=cycles, bounds=thresholds, d1=st.integers(0, 5000), d2=st.integers(0, 5000))
def test_status_is_monotone_in_days_since_the_last_purchase(cycle, bounds, d1, d2):
    sleeping, flag = bounds
    early, late = sorted((d1, d2))
    first = rules.status_for(
        days_since=early, cycle_days=cycle, sleeping_after=sleeping, flag_after=flag
    )
    second = rules.status_for(
        days_since=late, cycle_days=cycle, sleeping_after=sleeping, flag_after=flag
    )
    assert RANK[first] <= RANK[second]


@settings(max_examples=150)
@given(cycle=st.floats(min_value=0.5, max_value=120), bounds=thresholds, since=st.integers(0, 600))
def test_due_on_is_exactly_the_first_day_the_status_changes(cycle, bounds, since):
    sleeping, flag = bounds
    last = DAY0
    as_of = last + dt.timedelta(days=since)

    def status(day):
        return rules.status_for(
            days_since=(day - last).days, cycle_days=cycle, sleeping_after=sleeping, flag_after=flag
        )

    due = rules.due_on(
        last_purchase_on=last,
        cycle_days=cycle,
        sleeping_after=sleeping,
        flag_after=flag,
        as_of=as_of,
    )
    if status(as_of) == rules.LOST:
        assert due is None
        return
    assert due > as_of
    for offset in range((due - as_of).days):
        assert status(as_of + dt.timedelta(days=offset)) == status(as_of)
    assert status(due) != status(as_of)


@given(
    n=st.lists(st.integers(0, 50), min_size=1, max_size=30),
    since=st.integers(0, 2000),
    r=strengths,
    default=cycles,
    bounds=thresholds,
)
def test_the_vectorised_rules_agree_with_the_scalar_ones(n, since, r, default, bounds):
    sleeping, flag = bounds
    counts = np.array(n)
    span = counts * 7
    days = np.full(counts.size, since) - counts  # different days since for each client
    days = np.maximum(days, 0)
    vector_cycle = rules.cycle_days_array(
        purchase_days=counts,
        span_days=span,
        prior_strength=r,
        default_cycle=default,
        min_cycle=1.0,
        max_cycle=3650.0,
    )
    codes = rules.status_array(
        days_since=days, cycle_days=vector_cycle, sleeping_after=sleeping, flag_after=flag
    )
    offsets = rules.due_offset_array(
        days_since=days, cycle_days=vector_cycle, sleeping_after=sleeping, flag_after=flag
    )
    for i, purchases in enumerate(counts.tolist()):
        cycle = _cycle(purchases, int(span[i]), r, default)
        if cycle is None:
            assert np.isnan(vector_cycle[i]) and codes[i] == 0 and offsets[i] == -1
            continue
        assert vector_cycle[i] == cycle
        last = DAY0
        as_of = last + dt.timedelta(days=int(days[i]))
        status = rules.status_for(
            days_since=int(days[i]), cycle_days=cycle, sleeping_after=sleeping, flag_after=flag
        )
        assert rules.STATUS_NAMES[codes[i]] == status
        due = rules.due_on(
            last_purchase_on=last,
            cycle_days=cycle,
            sleeping_after=sleeping,
            flag_after=flag,
            as_of=as_of,
        )
        assert (
            (offsets[i] == -1)
            if due is None
            else (last + dt.timedelta(days=int(offsets[i])) == due)
        )


def _status_of_history(purchase_offsets: list[int], as_of_offset: int) -> str:
    """The status of a client who bought on these days (offsets from DAY0), default policy."""
    days = sorted(set(purchase_offsets))
    cycle = _cycle(len(days), days[-1] - days[0]) if days else None
    return rules.status_for(
        days_since=as_of_offset - days[-1] if days else None,
        cycle_days=cycle,
        sleeping_after=1.0,
        flag_after=3.0,
    )


def test_statuses_of_regular_irregular_single_and_no_purchase_histories():
    weekly = list(range(0, 365, 7))  # cycle (30 + 364) / 53 = 7.4 days
    assert _status_of_history(weekly, 364 + 5) == rules.ACTIVE
    assert _status_of_history(weekly, 364 + 10) == rules.SLEEPING
    assert _status_of_history(weekly, 364 + 30) == rules.LOST
    irregular = [0, 3, 40, 41, 150, 152, 300]  # cycle 330 / 7 = 47 days
    assert _status_of_history(irregular, 300 + 45) == rules.ACTIVE
    assert _status_of_history(irregular, 300 + 100) == rules.SLEEPING
    assert _status_of_history(irregular, 300 + 150) == rules.LOST
    single = [100]  # the default cycle: 30 days
    assert _status_of_history(single, 130) == rules.ACTIVE
    assert _status_of_history(single, 131) == rules.SLEEPING
    assert _status_of_history(single, 191) == rules.LOST
    assert _status_of_history([], 100) == rules.NONE


def test_the_fitted_prior_is_used_unless_pinned_or_missing():
    fitted = rules.prior_in_use(
        pin=rules.PRIOR_FITTED, typed_strength=1.0, typed_cycle=30.0, model_r=0.5, model_alpha=40.0
    )
    assert fitted == (0.5, 80.0, rules.PRIOR_FITTED)  # typical gap alpha / r
    pinned = rules.prior_in_use(
        pin=rules.PRIOR_TYPED, typed_strength=1.0, typed_cycle=30.0, model_r=0.5, model_alpha=40.0
    )
    assert pinned == (1.0, 30.0, rules.PRIOR_TYPED)
    no_fit = rules.prior_in_use(
        pin=rules.PRIOR_FITTED, typed_strength=2.0, typed_cycle=21.0, model_r=None, model_alpha=None
    )
    assert no_fit == (2.0, 21.0, rules.PRIOR_TYPED)
    # A one-time buyer's cycle is then the fitted typical gap.
    r, default, _ = fitted
    assert rules.cycle_days(
        purchase_days=1,
        span_days=0,
        prior_strength=r,
        default_cycle=default,
        min_cycle=1,
        max_cycle=3650,
    ) == pytest.approx(80.0)


def test_the_value_of_a_client_and_the_expected_gain_of_a_call():
    # 300 margin a purchase, 1.15 purchases a year, churn 0.5: 2 years.
    value = rules.client_value(margin_per_purchase=300, purchases_per_year=1.15, lifetime_years=2)
    assert value == pytest.approx(690)
    assert rules.client_value(
        margin_per_purchase=300, purchases_per_year=None, lifetime_years=2
    ) == (0.0)
    # 690 x 10% extra return share - (50 per call + 20 offer) = -1: not worth a call.
    assert rules.expected_gain(value=690, uplift=0.1, offer_cost=20, call_cost=50) == pytest.approx(
        -1.0
    )
    assert rules.expected_gain(value=690, uplift=0.2, offer_cost=20, call_cost=50) == pytest.approx(
        68.0
    )


def test_a_fitted_strength_that_cannot_tell_clients_apart_is_capped():
    strength, default, source = rules.prior_in_use(
        pin=rules.PRIOR_FITTED,
        typed_strength=1.0,
        typed_cycle=540.0,
        model_r=1500.0,
        model_alpha=1_000_000.0,
    )
    assert (strength, source) == (rules.MAX_FITTED_PRIOR_STRENGTH, rules.PRIOR_FITTED)
    assert default == pytest.approx(666.667, abs=1e-3)  # the typical gap alpha / r stands
