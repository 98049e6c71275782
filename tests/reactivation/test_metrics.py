"""The dashboards' formulas against figures computed by hand (and, for Newcombe's interval,
against the worked examples of the paper)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reactivation import bgnbd, metrics


def test_retention_is_retained_over_the_customers_at_the_start():
    # 100 customers on the day before, 80 of them still customers at the end.
    assert metrics.retention_rate(retained=80, start=100) == pytest.approx(0.80)


def test_retention_is_undefined_without_customers_at_the_start():
    assert metrics.retention_rate(retained=0, start=0) is None


def test_retention_refuses_more_retained_than_customers_at_the_start():
    with pytest.raises(ValueError):
        metrics.retention_rate(retained=101, start=100)


def test_yearly_churn_is_one_minus_the_years_retention():
    assert metrics.yearly_churn(retention=0.75) == pytest.approx(0.25)
    assert metrics.yearly_churn(retention=None) is None


def test_lifetime_is_one_over_churn():
    lifetime = metrics.lifetime_years(churn=0.25)
    assert lifetime.years == pytest.approx(4.0) and not lifetime.capped


def test_lifetime_is_capped_and_flagged_where_churn_is_tiny():
    assert metrics.lifetime_years(churn=0.0) == metrics.Lifetime(metrics.MAX_LIFETIME_YEARS, True)
    assert metrics.lifetime_years(churn=0.05).capped
    assert metrics.lifetime_years(churn=None) == metrics.Lifetime(None, False)


def test_purchases_per_year_are_the_purchase_days_of_the_customers_at_the_start():
    # 40 customers a year ago made 46 purchase days since: 1.15 each (CDNOW's figure).
    assert metrics.purchases_per_year(purchase_days=46, customers=40) == pytest.approx(1.15)
    assert metrics.purchases_per_year(purchase_days=0, customers=0) is None


def test_ltv_is_margin_per_purchase_times_purchases_a_year_times_lifetime():
    years = metrics.lifetime_years(churn=metrics.yearly_churn(retention=0.5)).years
    assert metrics.ltv(
        margin_per_purchase=500, purchases_per_year=1.2, lifetime_years=years
    ) == pytest.approx(500 * 1.2 * 2)
    assert metrics.ltv(margin_per_purchase=None, purchases_per_year=1, lifetime_years=1) is None


def test_margin_per_purchase_and_average_check():
    assert metrics.margin_per_purchase(margin=900, purchases=3) == 300
    assert metrics.average_check(revenue=9000, purchases=3) == 3000
    assert metrics.average_check(revenue=9000, purchases=0) is None


def test_funnel_conversions_against_the_step_before_and_the_first():
    steps = metrics.funnel([200, 150, 90, 45, 30])

    assert [s.count for s in steps] == [200, 150, 90, 45, 30]
    assert steps[0].of_previous is None
    assert [s.of_previous for s in steps[1:]] == pytest.approx([0.75, 0.60, 0.50, 2 / 3])
    assert [s.of_first for s in steps] == pytest.approx([1.0, 0.75, 0.45, 0.225, 0.15])


def test_funnel_of_nothing_has_no_rates():
    steps = metrics.funnel([0, 0])
    assert steps[1].of_previous is None and steps[1].of_first is None


def test_a_weekly_plan_is_prorated_over_the_days_worked_as_a_whole_number():
    year = dict(start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31))
    # Worked the whole year at 40 a week: 40 x 365 / 7.
    assert metrics.prorated_plan(
        **year, worked_from=dt.date(2020, 1, 1), versions=[(dt.date(2020, 1, 1), 40)]
    ) == round(40 * 365 / 7)
    # Started eight weeks before the end: eight weeks of plan, not 52.
    assert (
        metrics.prorated_plan(
            **year, worked_from=dt.date(2026, 11, 6), versions=[(dt.date(2026, 12, 1), 40)]
        )
        == 320
    )
    # The plan went from 40 to 20 a week on 1 July: 181 days at 40, 184 at 20.
    assert metrics.prorated_plan(
        **year,
        worked_from=dt.date(2020, 1, 1),
        versions=[(dt.date(2020, 1, 1), 40), (dt.date(2026, 7, 1), 20)],
    ) == round(40 * 181 / 7 + 20 * 184 / 7)
    assert metrics.prorated_plan(**year, worked_from=dt.date(2020, 1, 1), versions=[]) == 0
    # Joined after the period: nothing was due.
    assert (
        metrics.prorated_plan(
            **year, worked_from=dt.date(2027, 1, 5), versions=[(dt.date(2027, 1, 5), 40)]
        )
        == 0
    )


# Newcombe (1998), Table II, method 10 (score interval combining Wilson intervals), examples
# (a) to (f); recomputed here from the method's definition to four decimals.
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
]


@pytest.mark.parametrize(("counts", "interval"), NEWCOMBE_TABLE_II)
def test_newcombe_interval_matches_the_papers_worked_examples(counts, interval):
    x1, n1, x2, n2 = counts
    low, high = metrics.newcombe_interval(x1=x1, n1=n1, x2=x2, n2=n2)
    assert (round(low, 4), round(high, 4)) == interval


def test_wilson_interval_of_a_single_proportion():
    # Newcombe (1998, single proportion), 81 of 263: 0.2553 to 0.3662.
    low, high = metrics.wilson_interval(successes=81, trials=263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)


def test_uplift_counts_one_outcome_for_both_groups_with_newcombes_interval():
    # 56 of 70 called clients bought within the case lifetime, 48 of 80 control clients did.
    result = metrics.uplift(
        treated=70, treated_returned=56, control=80, control_returned=48, revenue_per_return=1000
    )

    assert result.treated_rate == pytest.approx(0.8)
    assert result.control_rate == pytest.approx(0.6)
    assert result.uplift == pytest.approx(0.2)
    assert (round(result.low, 4), round(result.high, 4)) == (0.0524, 0.3339)
    assert result.incremental_returns == pytest.approx(14)
    assert result.incremental_revenue == pytest.approx(14_000)
    assert result.significant and not result.possibly_chance
    assert result.enough_control


def test_a_perfect_tiny_group_is_not_a_zero_width_certainty():
    # The Wald interval gave [1, 1] for 8/8 against 0/4.
    result = metrics.uplift(treated=8, treated_returned=8, control=4, control_returned=0)
    assert result.uplift == 1.0
    assert (round(result.low, 4), result.high) == (0.4124, 1.0)
    assert not result.enough_control


def test_zero_counts_give_an_interval_around_zero_marked_possibly_chance():
    result = metrics.uplift(treated=5, treated_returned=0, control=5, control_returned=0)
    assert result.uplift == 0.0
    assert (round(result.low, 4), round(result.high, 4)) == (-0.4345, 0.4345)
    assert result.possibly_chance and not result.significant


def test_uplift_never_leaves_minus_one_to_one():
    result = metrics.uplift(treated=2, treated_returned=1, control=2, control_returned=0)
    assert round(result.high, 4) == 0.9055  # the Wald interval's upper bound was 1.19


def test_uplift_without_a_control_group_separates_nothing():
    result = metrics.uplift(treated=200, treated_returned=40, control=0, control_returned=0)

    assert not result.has_control
    assert result.treated_rate == pytest.approx(0.2)
    assert result.uplift is None and result.low is None and result.incremental_revenue is None
    assert not result.possibly_chance


@given(
    n1=st.integers(1, 5000),
    n0=st.integers(1, 5000),
    w1=st.floats(0, 1),
    w0=st.floats(0, 1),
)
def test_uplift_interval_always_contains_the_estimate_within_its_bounds(n1, n0, w1, w0):
    result = metrics.uplift(
        treated=n1, treated_returned=round(w1 * n1), control=n0, control_returned=round(w0 * n0)
    )
    assert -1 <= result.low <= result.uplift <= result.high <= 1
    assert result.low < result.high


def test_revenue_left_rule_of_thumb_is_clients_ever_times_a_fifth():
    # 1,000 clients ever x 20% x 1.2 purchases a year x 2,000 per purchase
    assert metrics.revenue_left_rule_of_thumb(
        clients_ever=1000, purchases_per_year=1.2, average_check=2000
    ) == pytest.approx(480_000)
    assert (
        metrics.revenue_left_rule_of_thumb(
            clients_ever=1000, purchases_per_year=None, average_check=2000
        )
        is None
    )


def test_revenue_left_measured_is_lost_clients_times_the_measured_share():
    # 600 lost now x 5% incremental returns x 1.2 a year x 2,000
    assert metrics.revenue_left_measured(
        lost_clients=600, incremental_share=0.05, purchases_per_year=1.2, average_check=2000
    ) == pytest.approx(72_000)
    # Calls that brought back fewer than came back alone leave nothing to win by calling.
    assert (
        metrics.revenue_left_measured(
            lost_clients=600, incremental_share=-0.1, purchases_per_year=1.2, average_check=2000
        )
        == 0
    )
    assert (
        metrics.revenue_left_measured(
            lost_clients=600, incremental_share=None, purchases_per_year=1.2, average_check=2000
        )
        is None
    )


def test_share_and_change():
    assert metrics.share(1, 4) == 0.25
    assert metrics.share(1, 0) is None
    assert metrics.change(110, 100) == pytest.approx(0.10)
    assert metrics.change(5, 0) is None


def test_expected_purchases_total_is_the_models_sum_over_clients():
    # Fader, Hardie & Lee (2005): x=2, t_x=30.43, T=38.86 weeks, next 39 weeks -> 1.226; a
    # client just acquired at the end (x=0, t_x=0, T=0) expects the population mean.
    params = bgnbd.Params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    one = metrics.expected_purchases_total(
        params, horizon=39, frequency=[2], recency=[30.43], age=[38.86], model=bgnbd.BGNBD
    )
    assert one == pytest.approx(1.226, abs=1e-3)
    two = metrics.expected_purchases_total(
        params,
        horizon=39,
        frequency=[2, 2],
        recency=[30.43, 30.43],
        age=[38.86, 38.86],
        model=bgnbd.BGNBD,
    )
    assert two == pytest.approx(2 * one)
    assert (
        metrics.expected_purchases_total(params, horizon=39, frequency=[], recency=[], age=[])
        == 0.0
    )
