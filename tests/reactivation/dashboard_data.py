"""A small business whose dashboard figures are computed by hand (see each comment).

June 2026 is the period. Numbers are chosen so that every figure is a round one:
- S = 100 customers on 31 May, E = 95 on 30 June, N = 15 new in June: CRR = (95 - 15) / 100 = 80%.
- 30 purchase days and 60,000 of revenue in June: average check 2,000.
- 150 clients who ever bought, mean cycle 36.5 days: 10 purchases a year.
- twelve months: S = 100 on 30 June 2025, E = 95, N = 15: CRR 80%, churn 20%, lifetime 5 years.
- LTV = 2,000 x 10 x 5 = 100,000; left on the table = 150 x 20% x 10 x 2,000 = 600,000.
- 10 cases to call in June (alice): 6 contacted, 4 reached, 3 offered, 2 won back;
  10 control cases, 1 came back: uplift 20% - 10% = 10 points,
  interval 0.1 +- 1.96 x sqrt(0.2 x 0.8 / 10 + 0.1 x 0.9 / 10) = [-20.99, 40.99] points.
- revenue won back: 1,000 + 500 + 300 (client 1, days 0 to 89 after the win) + 2,000 (client 2)
  = 3,800; incremental revenue = 0.1 x 10 x 3,800 / 2 = 1,900.
- cost: 2 redeemed offers x 300 + 8 calls x 50 = 1,000.
- reasons: price 3, quality 1.
- cohorts: January 10 clients, 6 bought in February, 3 in March: 100%, 60%, 30%.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from calls.models import Call, Reason
from reactivation.models import (
    Case,
    CohortActivity,
    DailySnapshot,
    Offer,
    Policy,
    ValueSnapshot,
    WeeklyPlan,
)
from reactivation.services.activity import activity_refresh
from tests.factories import (
    CaseFactory,
    ClientFactory,
    OfferTemplateFactory,
    SegmentFactory,
    TransactionFactory,
)

START, END = dt.date(2026, 6, 1), dt.date(2026, 6, 30)
PERIOD = {"period": "custom", "start": "2026-06-01", "end": "2026-06-30"}


def _snapshot(day: dt.date, segment=None, **values) -> DailySnapshot:
    return DailySnapshot.objects.create(as_of=day, segment=segment, **values)


def build(*, manager, colleague) -> dict:
    coffee = SegmentFactory(code="coffee", name="Coffee")
    office = SegmentFactory(code="office", name="Office")
    Policy.objects.update_or_create(segment=None, defaults={"cost_per_call": Decimal("50")})
    Policy.objects.create(segment=coffee, cost_per_call=Decimal("50"))

    # Whole base (segment null) and coffee, which holds all of it except a little office.
    _snapshot(dt.date(2025, 6, 30), active=90, sleeping=10, lost=40)
    _snapshot(dt.date(2026, 5, 31), active=80, sleeping=20, lost=50)
    _snapshot(
        dt.date(2026, 6, 10),
        active=85,
        sleeping=15,
        lost=50,
        new_clients=15,
        revenue=Decimal("60000"),
        purchases=30,
        buyers=30,
    )
    _snapshot(END, active=85, sleeping=10, lost=55)
    _snapshot(dt.date(2026, 5, 31), coffee, active=40, sleeping=10, lost=10)
    _snapshot(END, coffee, active=30, sleeping=10, lost=20)
    ValueSnapshot.objects.create(
        as_of=END,
        segment=coffee,
        status="active",
        abc_class="A",
        clients=100,
        cycle_days_sum=100 * 36.5,
        potential_value=Decimal("500000"),
        revenue=Decimal("900000"),
    )
    ValueSnapshot.objects.create(
        as_of=END,
        segment=coffee,
        status="lost",
        abc_class="B",
        clients=50,
        cycle_days_sum=50 * 36.5,
        potential_value=Decimal("120000"),
        revenue=Decimal("100000"),
    )
    for month, clients in (
        (dt.date(2026, 1, 1), 10),
        (dt.date(2026, 2, 1), 6),
        (dt.date(2026, 3, 1), 3),
    ):
        CohortActivity.objects.create(
            cohort=dt.date(2026, 1, 1), month=month, segment=coffee, clients=clients
        )

    price = Reason.objects.create(code="t-price", name="Too expensive", position=1)
    quality = Reason.objects.create(code="t-quality", name="Quality", position=2)
    template = OfferTemplateFactory(cost=Decimal("300"))
    WeeklyPlan.objects.create(manager=manager, calls=7, reached=7, offers=7, wins=7)

    cases = [
        CaseFactory(
            client=ClientFactory(segment=coffee), opened_on=dt.date(2026, 6, 2), assigned_to=manager
        )
        for _ in range(10)
    ]
    moment = timezone.make_aware(dt.datetime(2026, 6, 5, 11, 0))
    outcomes = [
        (0, Call.Outcome.REACHED, price),
        (0, Call.Outcome.NO_ANSWER, None),
        (1, Call.Outcome.REACHED, price),
        (1, Call.Outcome.BUSY, None),
        (2, Call.Outcome.REACHED, price),
        (3, Call.Outcome.REACHED, quality),
        (4, Call.Outcome.NO_ANSWER, None),
        (5, Call.Outcome.NO_ANSWER, None),
    ]
    for index, outcome, reason in outcomes:
        case = cases[index]
        Call.objects.create(
            case=case,
            client=case.client,
            manager=manager,
            called_at=moment,
            outcome=outcome,
            reason=reason,
        )
    for index, status in (
        (0, Offer.Status.REDEEMED),
        (1, Offer.Status.REDEEMED),
        (2, Offer.Status.ISSUED),
    ):
        case = cases[index]
        Offer.objects.create(
            template=template,
            client=case.client,
            case=case,
            code=f"T{index}",
            kind=template.kind,
            cost=Decimal("300"),
            status=status,
            issued_on=dt.date(2026, 6, 5),
            expires_on=dt.date(2026, 6, 19),
            issued_by=manager,
        )
    win = dt.date(2026, 6, 20)
    for case in cases[:2]:
        case.status, case.closed_on, case.credited_manager = Case.Status.WON_BACK, win, manager
        case.save()
    first, second = cases[0].client, cases[1].client
    for day, amount in (
        (dt.date(2026, 6, 1), "700"),  # before the win: not won back
        (win, "1000"),
        (dt.date(2026, 7, 15), "500"),
        (dt.date(2026, 9, 17), "300"),  # day 89 after the win: the last one counted
        (dt.date(2026, 9, 18), "400"),  # day 90: outside the window
    ):
        TransactionFactory(client=first, date=day, amount=Decimal(amount))
    TransactionFactory(client=second, date=dt.date(2026, 6, 25), amount=Decimal("2000"))

    for index in range(10):
        control = CaseFactory(
            client=ClientFactory(segment=coffee),
            opened_on=dt.date(2026, 6, 3),
            is_control=True,
            status=Case.Status.CONTROL,
            closed_on=END,
        )
        if index == 0:
            control.status = Case.Status.WON_BACK
            control.save()

    refresh()
    return {"coffee": coffee, "office": office, "cases": cases, "price": price, "quality": quality}


def refresh() -> None:
    """What the nightly run does for the activity tables, over the whole test year."""
    activity_refresh(start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31))


def build_others(data: dict, *, manager, colleague) -> None:
    """Cases outside the hand-computed figures: a colleague's case in June, an office case in
    June and a case opened in May, for the filter tests."""
    coffee, office = data["coffee"], data["office"]
    CaseFactory(
        client=ClientFactory(segment=coffee), opened_on=dt.date(2026, 6, 8), assigned_to=colleague
    )
    CaseFactory(
        client=ClientFactory(segment=office), opened_on=dt.date(2026, 6, 9), assigned_to=manager
    )
    CaseFactory(
        client=ClientFactory(segment=coffee), opened_on=dt.date(2026, 5, 20), assigned_to=manager
    )
    refresh()
