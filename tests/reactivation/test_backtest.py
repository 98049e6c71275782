"""The backtest on a hand-made history (the newly lost cohort, returns on their own, misses, the
rule's and the model's AUC, no look-ahead), its command, and the policy preview."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from clients.models import Transaction
from clients.stats import refresh_clients
from reactivation import bgnbd
from reactivation.backtest import backtest, policy_preview
from reactivation.models import Case, Policy
from reactivation.ranking import roc_auc
from tests.factories import CaseFactory, ClientFactory, SegmentFactory, TransactionFactory

D = dt.date(2026, 5, 1)


def days(n: int) -> dt.date:
    return D + dt.timedelta(days=n)


def _buys(client, *dates):
    for date in dates:
        TransactionFactory(client=client, date=date)


@pytest.fixture
def history(db):
    """One-time buyers under the default policy (typed cycle 30 days: lost from the 91st day
    after the purchase; too few clients for a fit, so the typed prior applies). With the 7-day
    window, a client is newly lost on D when the purchase was 91 to 97 days before it."""
    made = {}

    def client(name, last, *after, **kwargs):
        made[name] = ClientFactory(name=name, **kwargs)
        _buys(made[name], days(-last), *after)
        return made[name]

    client("on own", 93, days(10))  # flagged (lost on D-2), back after 10 days, no case
    after_case = client("after a case", 91, days(20))  # flagged (lost on D), a case meanwhile
    CaseFactory(client=after_case, opened_on=D)
    control = client("control", 95, days(5))  # flagged; a control case is nobody's call
    CaseFactory(client=control, opened_on=days(-4), is_control=True)
    old_case = client("old case", 96, days(8))  # flagged; a case closed before they were lost
    CaseFactory(client=old_case, opened_on=days(-120), status="expired", closed_on=days(-60))
    client("never", 92)  # flagged, never came back
    client("later", 94, days(60))  # flagged, back only after the 30-day horizon
    client("lost earlier", 98, days(15))  # lost on D-7: judged on an earlier night
    client("active", 10)  # active on D and never bought again: a miss
    client("sleeping", 50, days(3))  # sleeping on D, came back: not a miss
    client("newcomer", -5)  # first purchase after D: not in the replay
    return Policy.objects.get(segment=None)


def test_the_backtest_judges_the_newly_lost_of_the_window_and_who_came_back_on_their_own(history):
    result = backtest(policy=history, as_of=D, days=30)

    assert result.clients == 9
    assert result.flagged == 6
    assert result.bought_again_on_own == 3  # on own, control, old case
    assert result.bought_again_after_contact == 1
    assert result.returned_later == 1
    assert result.never_came_back == 1
    assert (
        result.bought_again_on_own
        + result.bought_again_after_contact
        + result.returned_later
        + result.never_came_back
        == result.flagged
    )
    assert result.missed == 1  # the active client who never bought again


def test_the_window_decides_who_the_nights_would_have_judged(history):
    assert backtest(policy=history, as_of=D, days=30, window=1).flagged == 1  # lost on D only
    assert backtest(policy=history, as_of=D, days=30, window=8).flagged == 7  # and D-7


def test_the_rule_auc_is_the_share_of_pairs_it_orders_right(history):
    result = backtest(policy=history, as_of=D, days=30)

    # Bought within 30 days: on own (93 days since), after a case (91), control (95), old case
    # (96), sleeping (50), lost earlier (98); not: never (92), later (94), active (10). The rule
    # ranks a smaller days-since / 30 higher; of the 6 x 3 pairs it orders 5 right (93 < 94,
    # 91 < 92 and 94, 50 < 92 and 94).
    assert result.auc_rule == pytest.approx(5 / 18)
    assert result.auc_model is None and result.modelled == 0  # too few clients for a fit
    assert result.as_json() == {
        "flagged": 6,
        "bought_again_on_own": 3,
        "never_came_back": 1,
        "missed": 1,
        "auc_rule": pytest.approx(5 / 18),
        "auc_model": None,
    }


def test_a_later_threshold_flags_fewer_clients(history):
    patient = Policy(segment=None, sleeping_after=2.0, flag_after=6.0)

    result = backtest(policy=patient, as_of=D, days=30)

    assert result.flagged == 0  # at most 98 days since, 6 x 30 = 180


def test_backtest_of_a_segment_policy_sees_only_that_segment(history):
    segment = SegmentFactory(code="coffee")
    own = Policy.objects.create(segment=segment)
    member = ClientFactory(segment=segment)
    _buys(member, days(-91))

    assert backtest(policy=own, as_of=D, days=30).flagged == 1
    assert backtest(policy=history, as_of=D, days=30).flagged == 6


def test_backtest_refuses_a_horizon_or_window_that_is_not_positive(history):
    with pytest.raises(ValueError):
        backtest(policy=history, as_of=D, days=0)
    with pytest.raises(ValueError):
        backtest(policy=history, as_of=D, days=30, window=0)


def _simulated(customers: int = 200) -> None:
    """Clients whose purchase days follow an MBG/NBD process in the year up to D, some buying
    again after it."""
    truth = bgnbd.Params(r=0.6, alpha=25.0, a=0.8, b=3.0)
    x, t_x, _T = bgnbd.simulate(truth, customers=customers, T=365, seed=11)
    rng = np.random.default_rng(11)
    rows = []
    for index, (count, recency) in enumerate(zip(x.astype(int), t_x, strict=True)):
        client = ClientFactory()
        first = D - dt.timedelta(days=365)
        offsets = {0, int(recency)} | set(
            rng.integers(1, max(int(recency), 1), size=max(count - 1, 0)).tolist()
        )
        dates = [first + dt.timedelta(days=o) for o in sorted(offsets)[: count + 1]]
        if index % 3 == 0:
            dates.append(D + dt.timedelta(days=int(rng.integers(1, 60))))
        rows += [
            Transaction(client=client, identity=f"sim:{client.pk}:{d}", date=d, amount=100)
            for d in dates
        ]
    Transaction.objects.bulk_create(rows)


@pytest.mark.django_db
def test_the_model_auc_ranks_by_p_alive_from_the_fit_on_data_up_to_the_date():
    _simulated()
    summaries = {}
    for t in Transaction.objects.filter(date__lte=D).order_by("date"):
        first, last, n = summaries.get(t.client_id, (t.date, t.date, 0))
        summaries[t.client_id] = (first, t.date, n + 1)
    later = {
        t.client_id: t.date
        for t in Transaction.objects.filter(date__gt=D, date__lte=D + dt.timedelta(days=90))
    }
    ids = sorted(summaries)
    x = np.array([summaries[i][2] - 1 for i in ids], dtype=float)
    t_x = np.array([(summaries[i][1] - summaries[i][0]).days for i in ids], dtype=float)
    T = np.array([(D - summaries[i][0]).days for i in ids], dtype=float)
    params = bgnbd.fit(x, t_x, T).params
    expected = roc_auc(bgnbd.p_alive(params, x, t_x, T), [i in later for i in ids])

    result = backtest(as_of=D, days=90)

    assert result.modelled == len(ids) == result.clients
    assert result.auc_model == pytest.approx(expected)
    assert result.auc_expected is not None and result.auc_rule is not None

    # No look-ahead: purchases long after the horizon change no score and no outcome.
    Transaction.objects.bulk_create(
        Transaction(client_id=i, identity=f"late:{i}", date=D + dt.timedelta(days=200), amount=1)
        for i in ids
    )
    again = backtest(as_of=D, days=90)
    assert (again.auc_model, again.auc_rule) == (result.auc_model, result.auc_rule)


@pytest.mark.django_db
def test_the_fitted_prior_of_the_date_sets_the_one_time_buyers_cycle():
    """With enough data the replay fits the segment as of D and one-time buyers get the fitted
    typical gap alpha / r, not the typed 30 days; pinning the typed prior brings 30 back."""
    _simulated()
    lonely = ClientFactory()
    _buys(lonely, days(-91))  # lost on D with a 30-day cycle

    fitted = backtest(as_of=D, days=30, window=1)
    default = Policy.objects.get(segment=None)
    default.cycle_prior = Policy.CyclePrior.TYPED
    default.save()
    typed = backtest(as_of=D, days=30, window=1)

    assert typed.flagged >= 1
    assert fitted.flagged != typed.flagged


@pytest.mark.django_db
def test_backtest_command_prints_the_json_contract(history, capsys):
    call_command("backtest", "--as-of", D.isoformat(), "--days", "30", "--json")

    payload = json.loads(capsys.readouterr().out.strip())
    assert payload == {
        "flagged": 6,
        "bought_again_on_own": 3,
        "never_came_back": 1,
        "missed": 1,
        "auc_rule": pytest.approx(5 / 18),
        "auc_model": None,
    }

    call_command("backtest", "--as-of", D.isoformat(), "--days", "30", "--window", "1", "--json")
    assert json.loads(capsys.readouterr().out.strip())["flagged"] == 1
    for bad in (["--days", "0"], ["--window", "0"], ["--segment", "nope"]):
        with pytest.raises(CommandError):
            call_command("backtest", "--as-of", D.isoformat(), *bad)


@pytest.mark.django_db
def test_policy_preview_counts_newly_lost_and_who_would_enter_the_queue():
    today = dt.date(2026, 11, 23)
    sleeping = [ClientFactory(), ClientFactory(), ClientFactory(do_not_contact=True)]
    for client in sleeping:  # cycle 30: 50 days since is sleeping under 1.0 / 3.0
        _buys(client, today - dt.timedelta(days=50))
    busy = sleeping[1]
    CaseFactory(client=busy, opened_on=today - dt.timedelta(days=5))
    refresh_clients(client_ids=None, as_of=today)

    stricter = Policy(segment=None, sleeping_after=0.5, flag_after=1.5, cost_per_call=0)
    preview = policy_preview(policy=stricter, as_of=today)

    assert (preview.clients, preview.lost_now, preview.lost, preview.newly_lost) == (3, 0, 3, 3)
    assert preview.would_queue == 1  # one has an open case, one is do-not-contact
    assert Case.objects.count() == 1  # a preview writes nothing


def test_the_better_ranking_is_the_higher_auc_and_needs_both():
    from reactivation.backtest import BacktestResult

    def result(rule, model):
        return BacktestResult(D, 30, 7, 10, 1, 0, 0, 0, 1, 0, rule, model, None, 0, D)

    assert result(0.70, 0.76).better_ranking == "model"
    assert result(0.76, 0.70).better_ranking == "rule"
    assert result(0.70, 0.70).better_ranking == "rule"  # the model must do better to be chosen
    assert result(0.70, None).better_ranking is None
