"""A small business whose dashboard figures are computed by hand (see each comment).

June 2026 is the period; every policy keeps the default cycle of 30 days for a first purchase
(sleeping after 30 days, lost after 90). Purchases (1,000 each unless said otherwise):
- K, 8 clients: 20 May and 15 June: customers on 31 May and on 30 June (retained);
- D, 2 clients: 15 March: sleeping on 31 May (77 days), lost on 30 June (107 days);
- R, 1 client: 1 December 2025 (lost on 31 May) and 20 June: returned;
- Y, 5 clients: 20 June 2025 (lost on 31 May) and 10 June: returned;
- L, 5 clients: 1 June 2025 only: customers on 30 June 2025, lost since;
- the called case's clients 1 (1 June: 700, 20 June) and 2 (25 June: 2,000) and control client
  0 (10 June): first purchases in June, new.
So for June: S = K + D = 10, E = 17 = retained 8 + returned 6 + new 3; retention 8 / 10 = 80%;
lost at the end D + L = 7; clients ever 24. Over the year to 30 June: customers on 30 June 2025
Y + L = 10, of them Y still customers: retention 50%, churn 50%, lifetime 2 years; they made
5 purchase days in the year: 0.5 purchases a year. June: 18,700 of revenue on 18 purchase
days, margin 30% of it (no margins imported): margin per purchase 18,700 x 0.3 / 18.
LTV = 18,700 x 0.3 / 18 x 0.5 x 2; rule of thumb = 24 x 20% x 0.5 x 18,700 / 18.
- 10 cases to call in June (alice, opened 2 June): 6 contacted, 4 reached, 3 offered, 2 won
  back (clients 1 and 2 bought after the case opened); 10 control cases (3 June), 1 bought
  within the case lifetime (control client 0) and one more closed "won back" by hand without a
  purchase, which counts for nothing: uplift 20% - 10% = 10 points, Newcombe's interval
  -23.62 to 42.05 points; only 10 control cases, so no measured share.
- revenue won back: 1,000 + 500 + 300 (client 1, days 0 to 89 after the win) + 2,000 (client 2)
  = 3,800; incremental revenue = 0.1 x 10 x 3,800 / 2 = 1,900.
- cost: 2 redeemed offers x 300 + 8 calls x 50 = 1,000.
- reasons: price 3, quality 1.
- the status mix, the cohorts and the value table come from their own tables (below).
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
            TransactionFactory(client=control.client, date=dt.date(2026, 6, 10))
        if index in (0, 1):  # the second one typed in by hand, with no purchase behind it
            control.status = Case.Status.WON_BACK
            control.save()
    history(coffee)

    refresh()
    return {"coffee": coffee, "office": office, "cases": cases, "price": price, "quality": quality}


def history(segment) -> None:
    """The purchases of K, D, R, Y and L (see the module docstring)."""
    groups = (
        (8, (dt.date(2026, 5, 20), dt.date(2026, 6, 15))),
        (2, (dt.date(2026, 3, 15),)),
        (1, (dt.date(2025, 12, 1), dt.date(2026, 6, 20))),
        (5, (dt.date(2025, 6, 20), dt.date(2026, 6, 10))),
        (5, (dt.date(2025, 6, 1),)),
    )
    for count, days in groups:
        for _ in range(count):
            client = ClientFactory(segment=segment)
            for day in days:
                TransactionFactory(client=client, date=day, amount=Decimal("1000"))


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
