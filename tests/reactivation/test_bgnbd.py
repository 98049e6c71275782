"""The BG/NBD and MBG/NBD fit, P(alive) and expected purchases (pure numpy, no database)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reactivation import bgnbd

CDNOW = Path(__file__).resolve().parent.parent / "data" / "cdnow_customers_summary.csv"
# Fader, Hardie & Lee (2005), table in section 5: the BG/NBD fit on the CDNOW 1/10 sample.
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.fixture(scope="module")
def cdnow():
    data = np.genfromtxt(CDNOW, delimiter=",", names=True)
    return data["frequency"], data["recency"], data["T"]


def test_bgnbd_fit_reproduces_the_published_cdnow_parameters(cdnow):
    result = bgnbd.fit(*cdnow, model=bgnbd.BGNBD)

    assert result.customers == 2357
    for name, published in PUBLISHED.items():
        fitted = getattr(result.params, name)
        assert fitted == pytest.approx(published, rel=0.01), name
    assert result.log_likelihood == pytest.approx(-9582.4, abs=0.5)


def test_bgnbd_conditional_expectation_matches_the_paper(cdnow):
    # The paper's worked example: x = 2, t_x = 30.43, T = 38.86 weeks expects 1.226 purchases
    # in the next 39 weeks.
    params = bgnbd.Params(**PUBLISHED)
    expected = bgnbd.expected_purchases(params, 39, [2], [30.43], [38.86], model=bgnbd.BGNBD)
    assert expected[0] == pytest.approx(1.226, abs=0.005)


def test_mbgnbd_fits_cdnow_at_least_as_well_as_bgnbd(cdnow):
    plain = bgnbd.fit(*cdnow, model=bgnbd.BGNBD)
    modified = bgnbd.fit(*cdnow, model=bgnbd.MBGNBD)

    # Batislam et al. (2007): one more way to die, so the likelihood can only improve here.
    assert modified.log_likelihood >= plain.log_likelihood - 0.01
    assert modified.params.r == pytest.approx(0.525, rel=0.01)
    assert modified.params.alpha == pytest.approx(6.183, rel=0.01)


def test_mbgnbd_fit_recovers_the_parameters_it_was_drawn_from():
    truth = bgnbd.Params(r=0.8, alpha=20.0, a=1.2, b=4.0)
    x, t_x, T = bgnbd.simulate(truth, customers=6000, T=365, model=bgnbd.MBGNBD, seed=3)

    fitted = bgnbd.fit(x, t_x, T, model=bgnbd.MBGNBD).params

    assert fitted.r == pytest.approx(truth.r, rel=0.15)
    assert fitted.alpha == pytest.approx(truth.alpha, rel=0.2)
    assert fitted.a / (fitted.a + fitted.b) == pytest.approx(truth.a / (truth.a + truth.b), rel=0.2)


def test_pooling_identical_summaries_gives_the_same_fit(cdnow):
    x, t_x, T = cdnow
    stacked = np.stack([x, t_x, T], axis=1)
    unique, counts = np.unique(stacked, axis=0, return_counts=True)

    pooled = bgnbd.fit(unique[:, 0], unique[:, 1], unique[:, 2], weights=counts, model=bgnbd.BGNBD)
    plain = bgnbd.fit(x, t_x, T, model=bgnbd.BGNBD)

    assert pooled.params.r == pytest.approx(plain.params.r, rel=1e-4)
    assert pooled.params.b == pytest.approx(plain.params.b, rel=1e-4)


def test_p_alive_one_time_buyer_is_certain_under_bgnbd_but_not_mbgnbd():
    params = bgnbd.Params(r=0.5, alpha=10, a=0.9, b=2.0)
    assert bgnbd.p_alive(params, [0], [0], [300], model=bgnbd.BGNBD)[0] == 1.0
    assert bgnbd.p_alive(params, [0], [0], [300], model=bgnbd.MBGNBD)[0] < 0.5


def test_p_alive_falls_with_silence_and_rises_with_recency():
    params = bgnbd.Params(r=0.5, alpha=10, a=0.9, b=2.0)
    silent_longer = bgnbd.p_alive(params, [5, 5], [100, 100], [120, 300])
    assert 0 < silent_longer[1] < silent_longer[0] <= 1
    more_recent = bgnbd.p_alive(params, [5, 5], [100, 250], [300, 300])
    assert more_recent[1] > more_recent[0]


def test_expected_purchases_grow_with_the_horizon_and_frequency():
    params = bgnbd.Params(r=0.5, alpha=10, a=1.5, b=3.0)
    short, long = (bgnbd.expected_purchases(params, t, [4], [200], [220])[0] for t in (30, 90))
    assert 0 < short < long
    rare, frequent = bgnbd.expected_purchases(params, 90, [1, 10], [200, 200], [220, 220])
    assert rare < frequent


def test_too_little_data_is_refused():
    with pytest.raises(bgnbd.NotEnoughData):
        bgnbd.fit([0, 1, 2], [0, 5, 9], [30, 30, 30])


# The values ``lifetimes`` (BetaGeoFitter, ModifiedBetaGeoFitter, penalizer 0) fits on the same
# CDNOW summary, as its own tests pin them (three decimals).
LIFETIMES = {
    bgnbd.BGNBD: {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    bgnbd.MBGNBD: {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614},
}


@pytest.mark.parametrize("model", [bgnbd.BGNBD, bgnbd.MBGNBD])
def test_both_fits_reproduce_lifetimes_on_cdnow(cdnow, model):
    result = bgnbd.fit(*cdnow, model=model)
    for name, expected in LIFETIMES[model].items():
        assert getattr(result.params, name) == pytest.approx(expected, abs=5e-4), name


def test_the_fitted_prior_of_one_time_buyers_on_cdnow_is_about_eighty_days(cdnow):
    """CDNOW's summary is in weeks: the MBG/NBD typical gap alpha / r is 6.183 / 0.525 weeks,
    82 days, the cycle a one-time buyer gets from the fitted prior (not a typed 30 days)."""
    params = bgnbd.fit(*cdnow, model=bgnbd.MBGNBD).params
    assert params.alpha / params.r * 7 == pytest.approx(82.5, abs=0.5)
