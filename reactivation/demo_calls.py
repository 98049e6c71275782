"""The demo's eight weeks of calling: on each working day of the replayed nights, the managers
call the cases of their week, as the call form would record them, so that the dashboards show
real work (calls against plan, reasons, offers, wins credited and what the calls added over
the control group) and not only this week's.

Deterministic for a seed, like the rest of the demo: cases are taken in a fixed order and every
draw comes from one generator. Offer codes are random (as in production); nothing else depends
on them.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from calls.models import Call, Reason, Script
from calls.seed import DEMO_NOTES, SCRIPT_RU_NAME
from calls.services import CallInput, call_record
from clients.models import ClientStats, Transaction
from reactivation.models import Case, OfferTemplate
from reactivation.roles import Role
from reactivation.services.offers import OfferError, offer_issue

# Each demo manager's weekly plan, sized to the demo's few thousand clients (the defaults suit
# a full-time caller with a large base).
DEMO_PLAN = {"calls": 12, "reached": 6, "offers": 3, "wins": 1}
CALLS_A_DAY = 4  # at most, per manager
OUTCOMES = [
    (Call.Outcome.REACHED, 45),
    (Call.Outcome.NO_ANSWER, 25),
    (Call.Outcome.BUSY, 10),
    (Call.Outcome.CALL_BACK, 15),
    (Call.Outcome.WRONG_NUMBER, 3),
    (Call.Outcome.DO_NOT_CALL, 2),
]
REASON_WEIGHTS = {
    "no_need": 25,
    "competitor": 20,
    "price": 20,
    "quality": 12,
    "service": 10,
    "moved": 5,
    "other": 8,
}
OFFER_SHARE = 0.6  # of reached clients
DECLINES = 0.3  # of the reached clients who get no offer: the manager closes the case
# How often a reached client buys again within two weeks: with an offer, and without.
COMES_BACK = {True: 0.6, False: 0.25}


def demo_calls_day(*, day: dt.date, end: dt.date, rng: random.Random) -> int:
    """One working day (Monday to Friday) of every manager, before ``end``: each calls up to
    ``CALLS_A_DAY`` open cases of their week that are due (no call-back date, or one on or
    before the day) and not yet called that day. A reached client gives a reason and often
    gets an offer; now and then they buy again a few days later (a purchase dated before
    ``end``, carrying the offer's code), which the nights to come close as won back and credit
    to the call. Returns the calls recorded."""
    if day.weekday() >= 5 or day >= end:
        return 0
    reasons = list(Reason.objects.filter(active=True).order_by("position", "pk"))
    templates = list(OfferTemplate.objects.filter(active=True).order_by("pk"))
    script = Script.objects.filter(name=SCRIPT_RU_NAME).first()
    version = script.current_version if script else None
    managers = get_user_model().objects.filter(groups__name=Role.MANAGER, is_active=True)
    recorded = 0
    for manager in managers.order_by("username"):
        due = (
            Case.objects.filter(
                assigned_to=manager, status=Case.Status.OPEN, is_control=False, opened_on__lte=day
            )
            .filter(Q(next_call_on__isnull=True) | Q(next_call_on__lte=day))
            .exclude(last_call_at__date__gte=day)
            .exclude(client__do_not_contact=True)
            .select_related("client")
            .order_by("next_call_on", "pk")[:CALLS_A_DAY]
        )
        for number, case in enumerate(due):
            _call(case, manager, day, end, rng, number, reasons, templates, version)
            recorded += 1
    return recorded


def _call(case, manager, day, end, rng, number, reasons, templates, version) -> None:
    """One call on ``case``, on ``day`` in working hours, and what follows from it."""
    outcomes, weights = zip(*OUTCOMES, strict=True)
    outcome = rng.choices(outcomes, weights)[0]
    reached = outcome == Call.Outcome.REACHED
    reason, next_call_on, close_as = None, None, ""
    wants_offer = reached and bool(templates) and rng.random() < OFFER_SHARE
    if reached and reasons:
        reason = rng.choices(reasons, [REASON_WEIGHTS.get(r.code, 5) for r in reasons])[0]
    if outcome == Call.Outcome.CALL_BACK:
        next_call_on = day + dt.timedelta(days=rng.choice([1, 2, 3, 6]))
    elif wants_offer:
        next_call_on = day + dt.timedelta(days=7)  # ask about the offer before it expires
    elif reached and rng.random() < DECLINES:
        close_as = Case.Status.DECLINED
    elif reached:
        next_call_on = day + dt.timedelta(days=14)
    when = timezone.make_aware(
        dt.datetime.combine(day, dt.time(10 + 2 * number, rng.randint(0, 59)))
    )
    call = call_record(
        case=case,
        manager=manager,
        data=CallInput(
            outcome=outcome,
            reason=reason,
            notes=rng.choice(DEMO_NOTES),
            next_call_on=next_call_on,
            answers={"greet": "Да, удобно", "noticed": "Дальше"} if reached else {},
            close_as=close_as,
        ),
        script_version=version,
        now=when,
    )
    if not reached or close_as:
        return
    offer = None
    if wants_offer:
        try:
            offer = offer_issue(
                case=case, template=rng.choice(templates), by=manager, call=call, today=day
            )
        except OfferError:
            offer = None
    if rng.random() < COMES_BACK[offer is not None]:
        _purchase(case, day + dt.timedelta(days=rng.randint(1, 12)), end, rng, offer)


def _purchase(case, date, end, rng, offer) -> None:
    """The client's next purchase, about their usual check, if it falls before ``end``."""
    if date >= end:
        return
    stats = ClientStats.objects.filter(client_id=case.client_id).first()
    check, margin_rate = Decimal("1000"), Decimal("0.3")
    if stats is not None and stats.revenue > 0 and stats.purchase_days:
        check = stats.revenue / stats.purchase_days
        margin_rate = max(Decimal("0"), stats.margin / stats.revenue)
    amount = (check * Decimal(str(rng.uniform(0.7, 1.3)))).quantize(Decimal("0.01"))
    client = case.client
    key = f"k:{client.external_id}|{date.isoformat()}|{amount:.2f}"
    repeat = Transaction.objects.filter(identity__startswith=f"{key}|").count() + 1
    Transaction.objects.create(
        client=client,
        identity=f"{key}|{repeat}",
        date=date,
        amount=amount,
        margin=(amount * margin_rate).quantize(Decimal("0.01")),
        promo_code=offer.code if offer is not None and rng.random() < 0.8 else "",
    )
