"""Personal offers: issuing a code to one client and redeeming it with a purchase."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reactivation.models import Case, Offer, OfferTemplate
from reactivation.webhooks import outbox

# No 0/O, 1/I/L or U/V look-alikes: a code is read out over the phone and typed at a till.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
CODE_PREFIX = "WB"
CODE_GROUPS = 2
CODE_GROUP_LENGTH = 4
CODE_ATTEMPTS = 8

ERR_CASE_CLOSED = _("Offers can be issued only on an open case.")
ERR_CONTROL_CASE = _("Control-group clients get no offers.")
ERR_DO_NOT_CONTACT = _("This client asked not to be contacted: no offer can be issued.")
ERR_LIVE_OFFER = _(
    "This case already has a valid offer; it can be issued again only after it expires or is used."
)
ERR_TEMPLATE_INACTIVE = _("This offer template is switched off.")
ERR_CODE_UNKNOWN = _("There is no offer with this code.")
ERR_CODE_USED = _("This code has already been used.")
ERR_CODE_EXPIRED = _("This code has expired.")
ERR_CODE_OTHER_CLIENT = _("This code belongs to another client.")
ERR_CODE_SPACE = _("Could not make a unique code; try again.")


class OfferError(Exception):
    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


def code_generate() -> str:
    """An unguessable code that is easy to read out, e.g. ``WB-7KQ4-M2XP`` (29^8 ≈ 5·10^11)."""
    groups = [
        "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUP_LENGTH))
        for _ in range(CODE_GROUPS)
    ]
    return "-".join([CODE_PREFIX, *groups])


def code_normalize(raw: str) -> str:
    """What a till or a manager typed, as stored: upper case, spaces and dashes put right."""
    text = re.sub(r"[^0-9A-Za-z]", "", raw or "").upper()
    if text.startswith(CODE_PREFIX):
        body = text[len(CODE_PREFIX) :]
        if len(body) == CODE_GROUPS * CODE_GROUP_LENGTH:
            parts = [
                body[i : i + CODE_GROUP_LENGTH] for i in range(0, len(body), CODE_GROUP_LENGTH)
            ]
            return "-".join([CODE_PREFIX, *parts])
    return (raw or "").strip().upper()


def live_offer(case: Case, today: dt.date) -> Offer | None:
    """The case's offer that can still be redeemed, if any."""
    return (
        Offer.objects.filter(case=case, status=Offer.Status.ISSUED, expires_on__gte=today)
        .order_by("-issued_on", "-id")
        .first()
    )


@transaction.atomic
def offer_issue(
    *, case: Case, template: OfferTemplate, by: Any, call: Any = None, today: dt.date | None = None
) -> Offer:
    """Issue a personal offer on an open case.

    1. Refuse a closed or control case, a do-not-contact client, a switched-off template, and a
       second valid offer on the same case (the case row is locked, so two clicks make one).
    2. Make a fresh code; the unique index on the code is the judge, so a collision (about one
       in 10^11) is retried with another code inside a savepoint.
    3. Expiry is the issue date plus the template's validity.
    """
    today = today or timezone.localdate()
    case = Case.objects.select_for_update().select_related("client").get(pk=case.pk)
    if not case.is_open:
        raise OfferError(ERR_CASE_CLOSED)
    if case.is_control:
        raise OfferError(ERR_CONTROL_CASE)
    if case.client.do_not_contact:
        raise OfferError(ERR_DO_NOT_CONTACT)
    if not template.active:
        raise OfferError(ERR_TEMPLATE_INACTIVE)
    if live_offer(case, today) is not None:
        raise OfferError(ERR_LIVE_OFFER)
    for _attempt in range(CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                return outbox.offer_issued(
                    Offer.objects.create(
                        template=template,
                        client=case.client,
                        case=case,
                        call=call,
                        code=code_generate(),
                        kind=template.kind,
                        value=template.value,
                        cost=template.cost,
                        issued_on=today,
                        expires_on=today + dt.timedelta(days=template.validity_days),
                        issued_by=by,
                    )
                )
        except IntegrityError:
            continue
    raise OfferError(ERR_CODE_SPACE)


@transaction.atomic
def offer_redeem_code(*, code: str, transaction_row: Any) -> Offer:
    """Redeem one code with the purchase that carries it.

    The offer must belong to the purchasing client, be unused and not expired on the purchase
    date. A purchase while the client's case is open also closes the case as won back (see
    ``case_win_back_on_purchase``).
    """
    from reactivation.services.cases import case_win_back_on_purchase

    offer = Offer.objects.select_for_update().filter(code=code_normalize(code)).first()
    if offer is None:
        raise OfferError(ERR_CODE_UNKNOWN)
    if offer.client_id != transaction_row.client_id:
        raise OfferError(ERR_CODE_OTHER_CLIENT)
    if offer.status == Offer.Status.REDEEMED:
        raise OfferError(ERR_CODE_USED)
    if not offer.can_redeem(transaction_row.date):
        raise OfferError(ERR_CODE_EXPIRED)
    offer.status = Offer.Status.REDEEMED
    offer.redeemed_on = transaction_row.date
    offer.transaction = transaction_row
    offer.save(update_fields=["status", "redeemed_on", "transaction"])
    case_win_back_on_purchase(transaction_row=transaction_row)
    return outbox.offer_redeemed(offer)
