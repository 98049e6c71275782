"""The dashboards' formulas against figures computed by hand."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reactivation import metrics


def test_crr_is_end_minus_new_over_start():
    # 100 customers at the start, 95 at the end of which 15 are new: 80 of 100 stayed.
    assert metrics.crr(start_customers=100, end_customers=95, new_customers=15) == pytest.approx(
        0.80
    )


def test_crr_is_undefined_without_customers_at_the_start():
    assert metrics.crr(start_customers=0, end_customers=10, new_customers=10) is None


def test_funnel_conversions_against_the_step_before_and_the_first():
    steps = metrics.funnel([200, 150, 90, 45, 30])

    assert [s.count for s in steps] == [200, 150, 90, 45, 30]
    assert steps[0].of_previous is None
    assert [s.of_previous for s in steps[1:]] == pytest.approx([0.75, 0.60, 0.50, 2 / 3])
    assert [s.of_first for s in steps] == pytest.approx([1.0, 0.75, 0.45, 0.225, 0.15])


def test_funnel_of_nothing_has_no_rates():
    steps = metrics.funnel([0, 0])
    assert steps[1].of_previous is None and steps[1].of_first is None


def test_uplift_and_its_95_percent_interval():
    # 40 of 200 called clients won back, 10 of 100 control clients came back on their own.
    result = metrics.uplift(
        treated=200, treated_won=40, control=100, control_returned=10, revenue_per_win=5000
    )

    assert result.treated_rate == pytest.approx(0.20)
    assert result.control_rate == pytest.approx(0.10)
    assert result.uplift == pytest.approx(0.10)
    half_width = 1.959964 * math.sqrt(0.2 * 0.8 / 200 + 0.1 * 0.9 / 100)  # 0.080812
    assert result.low == pytest.approx(0.10 - half_width, abs=1e-6)
    assert result.high == pytest.approx(0.10 + half_width, abs=1e-6)
    assert result.low == pytest.approx(0.019189, abs=1e-6)
    assert result.incremental_wins == pytest.approx(20)
    assert result.incremental_revenue == pytest.approx(100_000)
    assert result.significant


def test_uplift_without_a_control_group_separates_nothing():
    result = metrics.uplift(treated=200, treated_won=40, control=0, control_returned=0)

    assert not result.has_control
    assert result.treated_rate == pytest.approx(0.2)
    assert result.uplift is None and result.low is None and result.incremental_revenue is None


@given(
    n1=st.integers(1, 5000),
    n0=st.integers(1, 5000),
    w1=st.floats(0, 1),
    w0=st.floats(0, 1),
)
def test_uplift_interval_always_contains_the_estimate(n1, n0, w1, w0):
    result = metrics.uplift(
        treated=n1, treated_won=round(w1 * n1), control=n0, control_returned=round(w0 * n0)
    )
    assert result.low <= result.uplift <= result.high
    assert -1 <= result.uplift <= 1


def test_ltv_is_check_times_frequency_times_lifetime():
    churn = metrics.yearly_churn(retention=0.75)
    years = metrics.lifetime_years(churn=churn)
    frequency = metrics.purchases_per_year(mean_cycle_days=36.5)

    assert churn == pytest.approx(0.25)
    assert years == pytest.approx(4.0)
    assert frequency == pytest.approx(10.0)
    assert metrics.ltv(
        average_check=2000, purchases_per_year=frequency, lifetime_years=years
    ) == pytest.approx(80_000)


def test_lifetime_floors_churn_so_a_loyal_year_is_not_forever():
    assert metrics.lifetime_years(churn=0.0) == pytest.approx(20.0)


def test_revenue_left_on_the_table():
    # 1,000 clients ever x 20% x 10 purchases a year x 2,000 per purchase
    assert metrics.revenue_left_on_table(
        clients_ever=1000, return_share=0.2, purchases_per_year=10, average_check=2000
    ) == pytest.approx(4_000_000)
    assert (
        metrics.revenue_left_on_table(
            clients_ever=1000, return_share=0.2, purchases_per_year=None, average_check=2000
        )
        is None
    )


def test_share_and_change():
    assert metrics.share(1, 4) == 0.25
    assert metrics.share(1, 0) is None
    assert metrics.change(110, 100) == pytest.approx(0.10)
    assert metrics.change(5, 0) is None


def test_average_check():
    assert metrics.average_check(revenue=9000, purchases=3) == 3000


def test_bgnbd_expected_purchases_matches_the_published_cdnow_example():
    # Fader, Hardie & Lee (2005): x=2, t_x=30.43, T=38.86 weeks, next 39 weeks -> 1.226.
    expected = metrics.bgnbd_expected_purchases(
        r=0.243,
        alpha=4.414,
        a=0.793,
        b=2.426,
        frequency=[2],
        recency=[30.43],
        age=[38.86],
        horizon=39,
    )
    assert expected == [pytest.approx(1.226, abs=1e-3)]
