"""The backtest on a hand-made history, and the policy preview."""

from __future__ import annotations

import datetime as dt

import pytest

from clients.stats import refresh_clients
from reactivation.backtest import backtest, policy_preview
from reactivation.models import Case, Policy
from tests.factories import CaseFactory, ClientFactory, SegmentFactory, TransactionFactory

D = dt.date(2026, 5, 1)


def _buys(client, *dates):
    for date in dates:
        TransactionFactory(client=client, date=date)


def _every_ten_days(client, start=dt.date(2026, 1, 1), until=dt.date(2026, 3, 1)):
    day = start
    while day <= until:
        TransactionFactory(client=client, date=day)
        day += dt.timedelta(days=10)


@pytest.fixture
def history(db):
    """Four regular buyers (1 January to 20 February every 10 days: cycle (30 + 50) / 6 = 13.3
    days, lost after 40 days): three stopped on 20 February, one still buys; one client only
    starts after D."""
    came_back_soon = ClientFactory(name="came back soon")
    _every_ten_days(came_back_soon)
    _buys(came_back_soon, dt.date(2026, 5, 20))
    never = ClientFactory(name="never came back")
    _every_ten_days(never)
    came_back_late = ClientFactory(name="came back late")
    _every_ten_days(came_back_late)
    _buys(came_back_late, dt.date(2026, 9, 1))
    still_buying = ClientFactory(name="still buying")
    _every_ten_days(still_buying, until=dt.date(2026, 4, 25))
    newcomer = ClientFactory(name="newcomer")
    _buys(newcomer, dt.date(2026, 5, 10))
    return Policy.objects.get(segment=None)


def test_backtest_counts_who_was_flagged_and_who_came_back_on_their_own(history):
    result = backtest(policy=history, as_of=D, days=30)

    assert result.clients == 4
    assert result.flagged == 3
    assert result.bought_again_within == 1
    assert result.returned_later == 1
    assert result.never_returned == 1
    assert result.share == pytest.approx(1 / 3)
    assert result.window_complete


def test_a_later_threshold_flags_fewer_clients(history):
    patient = Policy(segment=None, sleeping_after=2.0, flag_after=6.0)

    result = backtest(policy=patient, as_of=D, days=30)

    assert result.flagged == 0  # 70 days since 20 February < 6 x 13.3


def test_a_longer_window_counts_the_late_return_as_within(history):
    result = backtest(policy=history, as_of=D, days=150)
    assert (result.bought_again_within, result.returned_later, result.never_returned) == (2, 0, 1)


def test_backtest_of_a_segment_policy_sees_only_that_segment(history):
    segment = SegmentFactory(code="coffee")
    own = Policy.objects.create(segment=segment)
    member = ClientFactory(segment=segment)
    _every_ten_days(member)

    assert backtest(policy=own, as_of=D, days=30).flagged == 1
    assert backtest(policy=history, as_of=D, days=30).flagged == 3


def test_backtest_refuses_a_window_that_is_not_positive(history):
    with pytest.raises(ValueError):
        backtest(policy=history, as_of=D, days=0)


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
