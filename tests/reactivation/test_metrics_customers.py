"""Customers at a period's two ends, from the transactions: S, E, retained, returned, new."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reactivation import rules
from reactivation.models import Policy
from reactivation.selectors.customers import (
    ALL_SEGMENTS,
    EPOCH,
    CustomerCounts,
    PurchaseLog,
    customers_between,
)
from tests.factories import ClientFactory, SegmentFactory, TransactionFactory

START, END = dt.date(2026, 6, 1), dt.date(2026, 6, 30)


def _bought(client, *days, amount="1000"):
    for day in days:
        TransactionFactory(client=client, date=day, amount=Decimal(amount))


@pytest.fixture
def base(db):
    """The default policy (cycle 30 days for a one-time buyer, sleeping after 30 days, lost
    after 90) and, by hand, on 31 May and 30 June:

    - kept: bought 20 May (twice that day): active, then sleeping (41 days): retained;
    - back: bought 1 January, lost on 31 May (150 days), bought 15 June: cycle
      (30 + 165) / 2 = 97.5, active at the end: returned;
    - fresh: first purchase 10 June: new;
    - fading: bought 15 March: sleeping on 31 May (77 days), lost on 30 June (107): in S only;
    - never: no purchase; refund: only a return; later: first purchase in July.
    """
    Policy.objects.update_or_create(segment=None, defaults={"default_cycle_days": 30.0})
    coffee = SegmentFactory(code="coffee")
    Policy.objects.create(segment=coffee, default_cycle_days=30.0)
    kept, back, fading = ClientFactory(), ClientFactory(), ClientFactory()
    fresh = ClientFactory(segment=coffee)
    _bought(kept, dt.date(2026, 5, 20), dt.date(2026, 5, 20))
    _bought(back, dt.date(2026, 1, 1), dt.date(2026, 6, 15))
    _bought(fresh, dt.date(2026, 6, 10))
    _bought(fading, dt.date(2026, 3, 15))
    ClientFactory()
    _bought(ClientFactory(), dt.date(2026, 6, 5), amount="-500")
    _bought(ClientFactory(), dt.date(2026, 7, 5))
    return coffee


def test_customers_split_into_retained_returned_and_new(base):
    counts = customers_between(start=START, end=END)

    assert counts == CustomerCounts(
        start=2, end=3, retained=1, returned=1, new=1, lost_at_end=1, clients_ever=4
    )
    assert counts.end == counts.retained + counts.returned + counts.new
    assert counts.retention_rate == pytest.approx(0.5)


def test_a_segment_and_the_clients_without_one(base):
    coffee = customers_between(start=START, end=END, segment_id=base.pk)
    # A period with no customers at its start: no retention rate, one new customer.
    assert (coffee.start, coffee.end, coffee.new) == (0, 1, 1)
    assert coffee.retention_rate is None

    rest = customers_between(start=START, end=END, segment_id=None)
    assert (rest.start, rest.end, rest.retained, rest.returned, rest.new) == (2, 2, 1, 1, 0)


def test_a_period_with_no_purchases_at_all(db):
    counts = customers_between(start=START, end=END, segment_id=ALL_SEGMENTS)
    assert counts == CustomerCounts(0, 0, 0, 0, 0)
    assert counts.retention_rate is None


def test_the_segments_policy_decides_the_status(base):
    # With a 10-day default cycle, "fresh" (bought 10 June) is lost after 30 days: on 10 July
    # it is still a customer, on 11 July it is not.
    Policy.objects.filter(segment=base).update(default_cycle_days=10.0)
    assert customers_between(start=START, end=dt.date(2026, 7, 10), segment_id=base.pk).end == 1
    assert customers_between(start=START, end=dt.date(2026, 7, 11), segment_id=base.pk).end == 0


def test_a_period_ending_before_it_starts_is_refused(db):
    with pytest.raises(ValueError):
        customers_between(start=END, end=START)


# --- the identity on generated histories -------------------------------------------------------

RULE = {
    "prior_strength": 1.0,
    "default_cycle": 30.0,
    "min_cycle": 1.0,
    "max_cycle": 3650.0,
    "sleeping_after": 1.0,
    "flag_after": 3.0,
}

histories = st.lists(
    st.lists(st.integers(0, 400), min_size=1, max_size=8).map(lambda days: sorted(set(days))),
    min_size=0,
    max_size=30,
)


def _log(history: list[list[int]], until: int) -> PurchaseLog:
    rows = [
        (client, -1, day) for client, days in enumerate(history, 1) for day in days if day <= until
    ]
    table = np.array(rows, dtype=np.int64).reshape(-1, 3)
    return PurchaseLog.from_rows(
        until=EPOCH + dt.timedelta(days=until), rows=table, parameters=RULE
    )


def _status(days: list[int], on: int) -> str:
    """The scalar rule, client by client: the reference the set-wise counts must match."""
    seen = [day for day in days if day <= on]
    if not seen:
        return rules.NONE
    cycle = rules.cycle_days(
        purchase_days=len(seen),
        span_days=seen[-1] - seen[0],
        prior_strength=RULE["prior_strength"],
        default_cycle=RULE["default_cycle"],
        min_cycle=RULE["min_cycle"],
        max_cycle=RULE["max_cycle"],
    )
    return rules.status_for(
        days_since=on - seen[-1],
        cycle_days=cycle,
        sleeping_after=RULE["sleeping_after"],
        flag_after=RULE["flag_after"],
    )


@settings(max_examples=200, deadline=None)
@given(history=histories, start=st.integers(1, 400), length=st.integers(1, 200))
def test_end_is_retained_plus_returned_plus_new_and_retention_at_most_one(history, start, length):
    end = start + length - 1
    log = _log(history, end)
    counts = log.counts_between(
        start=EPOCH + dt.timedelta(days=start), end=EPOCH + dt.timedelta(days=end)
    )

    assert counts.end == counts.retained + counts.returned + counts.new
    assert min(counts.retained, counts.returned, counts.new) >= 0
    assert counts.retention_rate is None or 0 <= counts.retention_rate <= 1

    customer = {rules.ACTIVE, rules.SLEEPING}
    at_start = [_status(days, start - 1) in customer for days in history]
    at_end = [_status(days, end) in customer for days in history]
    first_in = [days[0] >= start for days in history]
    assert counts.start == sum(at_start)
    assert counts.end == sum(at_end)
    assert counts.retained == sum(s and e for s, e in zip(at_start, at_end, strict=True))
    assert counts.new == sum(e and f for e, f in zip(at_end, first_in, strict=True))
    assert counts.lost_at_end == sum(_status(days, end) == rules.LOST for days in history)
