"""The demo managers' calls, recorded as the call form records them:

- ``demo_calls_day``: each working day of the eight replayed weeks, the managers call the due
  cases of their week, so that the dashboards show real work (calls against plan, reasons,
  offers, wins credited, what the calls added over the control group);
- ``demo_activity``: then this week's calls of the last two days, on the cases just assigned,
  so that the week and the case pages look lived-in.

Deterministic for a seed, like the rest of the demo: cases are taken in a fixed order and every
draw comes from one generator. Offer codes are random (as in production); nothing else depends
on them.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from calls.models import Call, Reason, Script, ScriptVersion
from calls.seed import SCRIPT_RU_NAME
from calls.services import CallInput, call_record
from clients.models import Transaction
from reactivation.models import Case, Offer, OfferTemplate
from reactivation.roles import Role
from reactivation.services.cases import cases_assign_week
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
NOTES = [
    "Обещал посмотреть каталог",
    "Перезвонить после обеда",
    "Сменили поставщика, но не довольны сроками",
    "",
]
ANSWERS = {"greet": "Да, удобно", "noticed": "Дальше"}


@dataclass(frozen=True)
class Catalogue:
    """What the calls draw on: the active reasons and offer templates, and the script."""

    reasons: list[Reason]
    templates: list[OfferTemplate]
    version: ScriptVersion | None

    @classmethod
    def load(cls) -> Catalogue:
        script = Script.objects.filter(name=SCRIPT_RU_NAME).first()
        return cls(
            reasons=list(Reason.objects.filter(active=True).order_by("position", "pk")),
            templates=list(OfferTemplate.objects.filter(active=True).order_by("pk")),
            version=script.current_version if script else None,
        )


def _record(
    case: Case,
    manager: Any,
    when: dt.datetime,
    rng: random.Random,
    catalogue: Catalogue,
    *,
    outcome: str,
    reason: Reason | None = None,
    next_call_on: dt.date | None = None,
    close_as: str = "",
) -> Call:
    """Record one call through the call service, with a note and the script's first answers."""
    return call_record(
        case=case,
        manager=manager,
        data=CallInput(
            outcome=outcome,
            reason=reason,
            notes=rng.choice(NOTES),
            next_call_on=next_call_on,
            answers=ANSWERS if outcome == Call.Outcome.REACHED else {},
            close_as=close_as,
        ),
        script_version=catalogue.version,
        now=when,
    )


def _offer(
    case: Case, manager: Any, call: Call, day: dt.date, rng: random.Random, catalogue: Catalogue
) -> Offer | None:
    """An offer issued on the call, from a template drawn at random."""
    try:
        return offer_issue(
            case=case, template=rng.choice(catalogue.templates), by=manager, call=call, today=day
        )
    except OfferError:
        return None


def demo_calls_day(*, day: dt.date, end: dt.date, rng: random.Random) -> int:
    """One working day (Monday to Friday) of every manager, before ``end``: each calls up to
    ``CALLS_A_DAY`` open cases of their week that are due (no call-back date, or one on or
    before the day) and not yet called that day. A reached client gives a reason and often
    gets an offer; now and then they buy again a few days later (a purchase dated before
    ``end``, carrying the offer's code), which the nights to come close as won back and credit
    to the call. Returns the calls recorded."""
    if day.weekday() >= 5 or day >= end:
        return 0
    catalogue = Catalogue.load()
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
            .select_related("client__stats")
            .order_by("next_call_on", "pk")[:CALLS_A_DAY]
        )
        for number, case in enumerate(due):
            when = timezone.make_aware(
                dt.datetime.combine(day, dt.time(10 + 2 * number, rng.randint(0, 59)))
            )
            _day_call(case, manager, when, end, rng, catalogue)
            recorded += 1
    return recorded


def _day_call(
    case: Case,
    manager: Any,
    when: dt.datetime,
    end: dt.date,
    rng: random.Random,
    catalogue: Catalogue,
) -> None:
    """One call of ``demo_calls_day`` and what follows from it."""
    day = timezone.localdate(when)
    outcomes, weights = zip(*OUTCOMES, strict=True)
    outcome = rng.choices(outcomes, weights)[0]
    reached = outcome == Call.Outcome.REACHED
    reason, next_call_on, close_as = None, None, ""
    wants_offer = reached and bool(catalogue.templates) and rng.random() < OFFER_SHARE
    if reached and catalogue.reasons:
        weighted = [REASON_WEIGHTS.get(r.code, 5) for r in catalogue.reasons]
        reason = rng.choices(catalogue.reasons, weighted)[0]
    if outcome == Call.Outcome.CALL_BACK:
        next_call_on = day + dt.timedelta(days=rng.choice([1, 2, 3, 6]))
    elif wants_offer:
        next_call_on = day + dt.timedelta(days=7)  # ask about the offer before it expires
    elif reached and rng.random() < DECLINES:
        close_as = Case.Status.DECLINED
    elif reached:
        next_call_on = day + dt.timedelta(days=14)
    call = _record(
        case,
        manager,
        when,
        rng,
        catalogue,
        outcome=outcome,
        reason=reason,
        next_call_on=next_call_on,
        close_as=close_as,
    )
    if not reached or close_as:
        return
    offer = _offer(case, manager, call, day, rng, catalogue) if wants_offer else None
    if rng.random() < COMES_BACK[offer is not None]:
        _purchase(case, day + dt.timedelta(days=rng.randint(1, 12)), end, rng, offer)


def _purchase(
    case: Case, date: dt.date, end: dt.date, rng: random.Random, offer: Offer | None
) -> None:
    """The client's next purchase, about their usual check, if it falls before ``end``."""
    if date >= end:
        return
    client = case.client
    stats = getattr(client, "stats", None)  # read with the case
    check, margin_rate = Decimal("1000"), Decimal("0.3")
    if stats is not None and stats.revenue > 0 and stats.purchase_days:
        check = stats.revenue / stats.purchase_days
        margin_rate = max(Decimal("0"), stats.margin / stats.revenue)
    amount = (check * Decimal(str(rng.uniform(0.7, 1.3)))).quantize(Decimal("0.01"))
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


# This week's calls: every kind of outcome, in turn.
WEEK_OUTCOMES = [
    Call.Outcome.REACHED,
    Call.Outcome.REACHED,
    Call.Outcome.NO_ANSWER,
    Call.Outcome.BUSY,
    Call.Outcome.CALL_BACK,
    Call.Outcome.CALL_BACK,
]


def demo_activity(*, today: dt.date, seed: int = 1, cases: int = 40) -> int:
    """Make the demo's week look lived-in: assign the open cases, then record calls with every
    kind of outcome in the last two days on some of them and issue a few offers. Returns the
    calls recorded."""
    cases_assign_week(as_of=today)
    rng = random.Random(seed)
    catalogue = Catalogue.load()
    worked = list(
        Case.objects.filter(status=Case.Status.OPEN, is_control=False, assigned_to__isnull=False)
        .select_related("assigned_to", "client")
        .order_by("id")[:cases]
    )
    recorded = 0
    for index, case in enumerate(worked):
        if index % 3 == 2 or case.client.do_not_contact:
            continue  # a third of the week is still to call
        outcome = WEEK_OUTCOMES[index % len(WEEK_OUTCOMES)]
        reached = outcome == Call.Outcome.REACHED
        call = _record(
            case,
            case.assigned_to,
            timezone.now() - dt.timedelta(hours=rng.randint(1, 48)),
            rng,
            catalogue,
            outcome=outcome,
            reason=rng.choice(catalogue.reasons) if reached and catalogue.reasons else None,
            next_call_on=today + dt.timedelta(days=rng.choice([0, 1, 2, 3]))
            if outcome == Call.Outcome.CALL_BACK
            else None,
        )
        recorded += 1
        if reached and catalogue.templates and rng.random() < OFFER_SHARE:
            _offer(case, case.assigned_to, call, today, rng, catalogue)
    return recorded
