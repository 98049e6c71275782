"""The nightly run's set-wise steps on offers and cases.

Each step is idempotent (a second run for the same date changes nothing) and its cost follows
the number of offers and cases concerned, never the size of the client base:
- ``offers_redeem_by_code``: a purchase carrying an issued offer's code, by that client, within
  the offer's validity, redeems it;
- ``offers_expire``: issued offers past their last valid day expire;
- ``cases_close_won_back``: any purchase by the client on or after the case's opening day,
  while the case is open, closes it as won back, with the purchase and the credit (manager,
  script version and reason of the case's latest reached call); a control case closed this way
  becomes ``control`` with the purchase recorded (the client came back uncalled);
- ``cases_expire``: open cases older than their policy's case lifetime expire; control cases at
  the end of that window close as ``control``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, OuterRef, Subquery

from calls.models import Call
from clients.models import Client, Transaction
from reactivation.models import Case, Offer
from reactivation.planner import BY_KEY, planner_settings
from reactivation.policies import policy_for_segments
from reactivation.webhooks import outbox


@dataclass
class LifecycleCounts:
    redeemed: int = 0
    offers_expired: int = 0
    won_back: int = 0
    control_returned: int = 0
    cases_expired: int = 0
    control_closed: int = 0


def _normalize(code: str) -> str:
    return "".join(code.split()).upper()


@transaction.atomic
def offers_redeem_by_code(*, as_of: dt.date, client_ids: list[int] | None = None) -> int:
    """Redeem offers whose code a purchase of the same client carried within the validity."""
    offers = Offer.objects.filter(
        status__in=[Offer.Status.ISSUED, Offer.Status.EXPIRED], issued_on__lte=as_of
    )
    if client_ids is not None:
        offers = offers.filter(client_id__in=client_ids)
    by_code = {
        offer.code: offer
        for offer in offers.only("pk", "code", "client_id", "issued_on", "expires_on")
    }
    if not by_code:
        return 0
    variants = set(by_code) | {code.lower() for code in by_code}
    purchases = (
        Transaction.objects.filter(promo_code__in=variants, amount__gt=0, date__lte=as_of)
        .order_by("date", "pk")
        .values_list("pk", "client_id", "date", "promo_code")
    )
    redeemed, announced = 0, []
    for transaction_id, client_id, date, promo_code in purchases:
        offer = by_code.get(_normalize(promo_code))
        if (
            offer is None
            or offer.client_id != client_id
            or not (offer.issued_on <= date <= offer.expires_on)
        ):
            continue
        redeemed += Offer.objects.filter(
            pk=offer.pk, status__in=[Offer.Status.ISSUED, Offer.Status.EXPIRED]
        ).update(status=Offer.Status.REDEEMED, redeemed_on=date, transaction_id=transaction_id)
        by_code.pop(offer.code)
        announced.append(offer.pk)
    # One outbox write for the night's redemptions (it keeps those really redeemed now).
    outbox.offers_redeemed(offer_ids=announced)
    return redeemed


def offers_expire(*, as_of: dt.date) -> int:
    """Issued offers whose last valid day is before ``as_of`` expire."""
    return Offer.objects.filter(status=Offer.Status.ISSUED, expires_on__lt=as_of).update(
        status=Offer.Status.EXPIRED
    )


def _credit_subqueries() -> dict:
    reached = Call.objects.filter(case=OuterRef("pk"), outcome=Call.Outcome.REACHED).order_by(
        "-called_at", "-pk"
    )
    return {
        "credit_manager": Subquery(reached.values("manager_id")[:1]),
        "credit_version": Subquery(reached.values("script_version_id")[:1]),
        "credit_reason": Subquery(reached.values("reason_id")[:1]),
    }


@transaction.atomic
def cases_close_won_back(*, as_of: dt.date, client_ids: list[int] | None = None) -> LifecycleCounts:
    """Close open cases whose client bought on or after the case was opened (see the module
    docstring). Only cases whose client's last purchase is on or after the opening are read."""
    counts = LifecycleCounts()
    first_purchase = Transaction.objects.filter(
        client_id=OuterRef("client_id"),
        amount__gt=0,
        date__gte=OuterRef("opened_on"),
        date__lte=as_of,
    ).order_by("date", "pk")
    cases = Case.objects.filter(
        status=Case.Status.OPEN,
        client__stats__last_purchase_on__gte=F("opened_on"),
        opened_on__lte=as_of,
    )
    if client_ids is not None:
        cases = cases.filter(client_id__in=client_ids)
    rows = (
        cases.order_by()
        .annotate(
            won_id=Subquery(first_purchase.values("pk")[:1]),
            won_on=Subquery(first_purchase.values("date")[:1]),
            **_credit_subqueries(),
        )
        .values_list(
            "pk",
            "is_control",
            "won_id",
            "won_on",
            "credit_manager",
            "credit_version",
            "credit_reason",
        )
    )
    # A few thousand open cases against a million clients: PostgreSQL's estimate would hash
    # every client's statistics, a cost that grows with the base; looked up by key, one case
    # at a time, this step costs what the open cases cost.
    with planner_settings(**BY_KEY):
        rows = list(rows)
    for pk, is_control, won_id, won_on, manager_id, version_id, reason_id in rows:
        if won_id is None:
            continue
        open_case = Case.objects.filter(pk=pk, status=Case.Status.OPEN)
        if is_control:
            counts.control_returned += open_case.update(
                status=Case.Status.CONTROL,
                closed_on=won_on,
                won_transaction_id=won_id,
                next_call_on=None,
            )
            continue
        counts.won_back += open_case.update(
            status=Case.Status.WON_BACK,
            closed_on=won_on,
            won_transaction_id=won_id,
            next_call_on=None,
            credited_manager_id=manager_id,
            credited_script_version_id=version_id,
            credited_reason_id=reason_id,
        )
    outbox.cases_closed(case_ids=[row[0] for row in rows])
    return counts


@transaction.atomic
def cases_expire(*, as_of: dt.date) -> LifecycleCounts:
    """Open cases past their policy's lifetime: ``expired``; control cases: ``control``.

    Read from the cases' side: the open cases old enough for the shortest lifetime, then their
    clients' segments by key. (Scoping each policy by segment in SQL let PostgreSQL walk every
    client to find the few cases of the default policy, a cost that grew with the base.)
    """
    counts = LifecycleCounts()
    policies = policy_for_segments()
    shortest = min(policy.case_lifetime_days for policy in policies.values())
    candidates = list(
        Case.objects.filter(
            status=Case.Status.OPEN, opened_on__lt=as_of - dt.timedelta(days=shortest)
        )
        .order_by()
        .values_list("pk", "client_id", "opened_on", "is_control")
    )
    if not candidates:
        return counts
    segment_of = dict(
        Client.objects.filter(pk__in={client_id for _pk, client_id, _on, _c in candidates})
        .order_by()
        .values_list("pk", "segment_id")
    )
    expired, control = [], []
    for pk, client_id, opened_on, is_control in candidates:
        policy = policies.get(segment_of.get(client_id)) or policies[None]
        if opened_on < as_of - dt.timedelta(days=policy.case_lifetime_days):
            (control if is_control else expired).append(pk)
    open_cases = Case.objects.filter(status=Case.Status.OPEN)
    counts.cases_expired = open_cases.filter(pk__in=expired).update(
        status=Case.Status.EXPIRED, closed_on=as_of, next_call_on=None
    )
    counts.control_closed = open_cases.filter(pk__in=control).update(
        status=Case.Status.CONTROL, closed_on=as_of
    )
    outbox.cases_closed(case_ids=expired + control)
    return counts
