"""The period's figures on larger histories: the forecast against the model fit on the shared
CDNOW summary, and the natural bounds of the value figures on a generated base."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from django.core.cache import cache

from clients.models import Client, Transaction
from reactivation import bgnbd, metrics
from reactivation.models import Case, Policy
from reactivation.selectors.customers import ALL_SEGMENTS, PurchaseLog
from reactivation.selectors.dashboard_figures import period_figures, uplift_from_log
from tests.factories import CaseFactory, ClientFactory, TransactionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The forecast is cached per end date; each test builds its own business."""
    cache.clear()


CDNOW = Path(__file__).resolve().parent.parent / "data" / "cdnow_customers_summary.csv"
CALIBRATION_END = dt.date(1997, 9, 30)


def _bulk_history(histories: list[list[int]], *, origin: dt.date, amounts=None) -> list[int]:
    """Clients with purchases on the given day offsets from ``origin``; returns their ids."""
    clients = Client.objects.bulk_create(
        [Client(external_id=f"G{i:06d}", name=f"G{i}") for i in range(len(histories))]
    )
    rows = []
    for client, days in zip(clients, histories, strict=True):
        for n, day in enumerate(days):
            amount = amounts(client.pk, n) if amounts else Decimal("40.00")
            rows.append(
                Transaction(
                    client=client,
                    identity=f"g:{client.pk}:{n}",
                    date=origin + dt.timedelta(days=int(day)),
                    amount=amount,
                )
            )
    Transaction.objects.bulk_create(rows, batch_size=5000)
    return [client.pk for client in clients]


def _cdnow_days():
    """The summary in whole days: (x, t_x, T) and each customer's purchase days, the first one
    T days before the end of the calibration period, the last t_x days after the first and
    the repeats spread evenly in between."""
    data = np.genfromtxt(CDNOW, delimiter=",", names=True)
    x = data["frequency"].astype(int)
    t_x = np.rint(data["recency"] * 7).astype(int)
    age = np.rint(data["T"] * 7).astype(int)
    histories = []
    for repeats, recency, span in zip(x, t_x, age, strict=True):
        first = -int(span)
        days = [first]
        if repeats:
            steps = np.unique(np.rint(np.linspace(0, recency, repeats + 1)[1:]).astype(int))
            days += [first + int(step) for step in steps]
        histories.append(days)
    return x, t_x, age, histories


def test_forecast_is_the_models_expected_purchases_fitted_on_the_cdnow_summary():
    x, t_x, age, histories = _cdnow_days()
    assert all(len(days) == repeats + 1 for days, repeats in zip(histories, x, strict=True))
    _bulk_history(histories, origin=CALIBRATION_END)

    figures = period_figures(start=dt.date(1997, 1, 1), end=CALIBRATION_END, horizon_days=39 * 7)

    # The same MBG/NBD fit on the summary itself (in days), summed over the 2,357 customers.
    fit = bgnbd.fit(x, t_x, age)
    expected = metrics.expected_purchases_total(
        fit.params, horizon=39 * 7, frequency=x, recency=t_x, age=age
    )
    assert figures.forecast.clients == 2357
    assert figures.forecast.expected_purchases == pytest.approx(expected, rel=1e-6)
    # And it does not depend on the unit: the fit in weeks on the published summary forecasts
    # the same 39 weeks to within the rounding of weeks to days.
    data = np.genfromtxt(CDNOW, delimiter=",", names=True)
    weekly = bgnbd.fit(data["frequency"], data["recency"], data["T"])
    in_weeks = metrics.expected_purchases_total(
        weekly.params,
        horizon=39,
        frequency=data["frequency"],
        recency=data["recency"],
        age=data["T"],
    )
    assert figures.forecast.expected_purchases == pytest.approx(in_weeks, rel=0.01)


def _generated_base(seed: int = 7, clients: int = 1500, days: int = 3 * 365):
    """Clients arriving over three years who, while alive, buy at their own gamma-distributed
    rate and leave after any purchase with their own beta-distributed probability (the BG/NBD
    story), with checks from 500 to 5,000. Each client lost during the last year gets a case
    91 days after their last purchase, a fifth of them as control; 5% of control clients come
    back on their own within the case lifetime and 15% of called ones do."""
    rng = np.random.default_rng(seed)
    histories, cases = [], []
    for index in range(clients):
        day = int(rng.integers(0, days))
        rate = rng.gamma(0.8, 1 / 40)  # purchases a day
        leave = rng.beta(1.0, 3.0)
        purchases = []
        while day < days:
            purchases.append(day)
            if rng.random() < leave:
                break
            day += max(1, int(rng.exponential(1 / rate)))
        purchases = sorted(set(purchases))
        opened = purchases[-1] + 91
        if days - 365 <= opened < days:
            control = index % 5 == 0
            if rng.random() < (0.05 if control else 0.15):
                purchases.append(opened + int(rng.integers(0, 60)))
            cases.append((index, opened, control))
        histories.append(purchases)
    return histories, cases, rng


def test_revenue_left_on_the_table_stays_below_the_bases_yearly_revenue():
    histories, planned, rng = _generated_base()
    origin = dt.date(2023, 1, 1)
    checks = rng.integers(500, 5000, size=len(histories))
    ids = _bulk_history(
        histories, origin=origin, amounts=lambda pk, n: Decimal(int(checks[pk % len(checks)]))
    )
    end = origin + dt.timedelta(days=3 * 365 - 1)
    start = end - dt.timedelta(days=364)
    Policy.objects.update_or_create(segment=None, defaults={"case_lifetime_days": 60})
    Case.objects.bulk_create(
        [
            Case(client_id=ids[index], opened_on=origin + dt.timedelta(days=day), is_control=c)
            for index, day, c in planned
        ]
    )

    figures = period_figures(start=start, end=end, segment_id=ALL_SEGMENTS)
    left = figures.revenue_left

    assert figures.revenue > 0 and figures.customers.start > 0
    assert left.enough_control and left.measured is not None
    assert 0 < left.measured_return_share < 0.5
    assert left.rule_of_thumb <= figures.revenue
    assert left.measured <= figures.revenue
    # And the figures hold their own bounds.
    assert 0 <= figures.retention_rate <= 1
    c = figures.customers
    assert c.end == c.retained + c.returned + c.new
    assert figures.lifetime.years <= metrics.MAX_LIFETIME_YEARS


def test_called_and_control_cases_are_counted_by_the_same_outcome():
    """Two pairs of clients with the same purchases, one of each pair called and one held out:
    the same answer for both, whatever the case's status says."""
    Policy.objects.update_or_create(segment=None, defaults={"case_lifetime_days": 60})
    opened, end = dt.date(2026, 3, 2), dt.date(2026, 6, 30)
    statuses = {False: Case.Status.DECLINED, True: Case.Status.CONTROL}
    for is_control in (False, True):
        # Bought on the last day of the case's lifetime (opened + 60): a return.
        on_time = ClientFactory()
        TransactionFactory(client=on_time, date=opened + dt.timedelta(days=60))
        # Bought a day later: none, although the case is closed "won back" by hand.
        late = ClientFactory()
        TransactionFactory(client=late, date=opened + dt.timedelta(days=61))
        CaseFactory(
            client=on_time,
            opened_on=opened,
            is_control=is_control,
            status=statuses[is_control],
            closed_on=opened + dt.timedelta(days=3),
        )
        CaseFactory(
            client=late,
            opened_on=opened,
            is_control=is_control,
            status=Case.Status.WON_BACK,
            closed_on=opened + dt.timedelta(days=61),
        )

    log = PurchaseLog.load(until=end)
    result, _comparable = uplift_from_log(
        log, start=dt.date(2026, 3, 1), end=end, segment_id=ALL_SEGMENTS
    )
    assert (result.treated, result.treated_returned) == (2, 1)
    assert (result.control, result.control_returned) == (2, 1)
    assert result.uplift == 0.0

    # Cut at the period's end for both alike: a period ending before the purchases sees none.
    early_end = opened + dt.timedelta(days=59)
    early, _ = uplift_from_log(
        PurchaseLog.load(until=early_end),
        start=dt.date(2026, 3, 1),
        end=early_end,
        segment_id=ALL_SEGMENTS,
    )
    assert (early.treated_returned, early.control_returned) == (0, 0)
