"""Offers: personal codes, expiry, one valid offer per case, redemption by code and by purchase."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine

from calls.models import Reason, Script
from calls.services import CallInput, call_record
from reactivation.models import Case, Offer, OfferTemplate
from reactivation.services import offers
from reactivation.services.cases import case_win_back_on_purchase
from tests.factories import OfferTemplateFactory, TransactionFactory
from tests.reactivation.queue_helpers import NOW, TODAY, catalogue, open_case

pytestmark = pytest.mark.django_db
CODE_RE = re.compile(r"^WB-[23456789ABCDEFGHJKMNPQRSTWXYZ]{4}-[23456789ABCDEFGHJKMNPQRSTWXYZ]{4}$")


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_codes_are_readable_and_unguessable():
    codes = {offers.code_generate() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(CODE_RE.match(code) for code in codes)
    assert not any(ch in code for code in codes for ch in "01OILUV")


def test_typed_codes_are_normalised():
    assert offers.code_normalize(" wb 7kq4 m2xp ") == "WB-7KQ4-M2XP"
    assert offers.code_normalize("wb-7kq4-m2xp") == "WB-7KQ4-M2XP"


def test_issuing_an_offer_makes_a_personal_code_with_the_template_validity(alice):
    case = open_case(manager=alice)
    template = OfferTemplateFactory(
        validity_days=10, kind=OfferTemplate.Kind.AMOUNT, value=Decimal("500")
    )
    offer = offers.offer_issue(case=case, template=template, by=alice)
    assert CODE_RE.match(offer.code)
    assert (offer.client, offer.case, offer.issued_by) == (case.client, case, alice)
    assert (offer.issued_on, offer.expires_on) == (TODAY, TODAY + dt.timedelta(days=10))
    assert (offer.kind, offer.value, offer.cost) == ("amount", Decimal("500"), template.cost)


def test_a_code_collision_is_retried(alice, monkeypatch):
    first = open_case(manager=alice)
    second = open_case(manager=alice)
    template = OfferTemplateFactory()
    codes = iter(["WB-AAAA-BBBB", "WB-AAAA-BBBB", "WB-CCCC-DDDD"])
    monkeypatch.setattr(offers, "code_generate", lambda: next(codes))
    assert offers.offer_issue(case=first, template=template, by=alice).code == "WB-AAAA-BBBB"
    assert offers.offer_issue(case=second, template=template, by=alice).code == "WB-CCCC-DDDD"


def test_a_second_valid_offer_on_the_same_case_is_refused_until_the_first_expires(alice):
    case = open_case(manager=alice)
    template = OfferTemplateFactory(validity_days=3)
    offers.offer_issue(case=case, template=template, by=alice)
    with pytest.raises(offers.OfferError) as error:
        offers.offer_issue(case=case, template=template, by=alice)
    assert error.value.message == offers.ERR_LIVE_OFFER
    later = offers.offer_issue(
        case=case, template=template, by=alice, today=TODAY + dt.timedelta(days=4)
    )
    assert later.issued_on == TODAY + dt.timedelta(days=4)
    assert Offer.objects.filter(case=case).count() == 2


def test_no_offer_for_a_do_not_contact_client_or_a_closed_case(alice):
    template = OfferTemplateFactory()
    case = open_case(manager=alice)
    case.client.do_not_contact = True
    case.client.save(update_fields=["do_not_contact"])
    with pytest.raises(offers.OfferError) as error:
        offers.offer_issue(case=case, template=template, by=alice)
    assert error.value.message == offers.ERR_DO_NOT_CONTACT
    closed = open_case(manager=alice, status=Case.Status.DECLINED, closed_on=TODAY)
    with pytest.raises(offers.OfferError) as error:
        offers.offer_issue(case=closed, template=template, by=alice)
    assert error.value.message == offers.ERR_CASE_CLOSED
    assert not Offer.objects.exists()


def test_a_switched_off_template_cannot_be_issued(alice):
    with pytest.raises(offers.OfferError) as error:
        offers.offer_issue(
            case=open_case(manager=alice), template=OfferTemplateFactory(active=False), by=alice
        )
    assert error.value.message == offers.ERR_TEMPLATE_INACTIVE


def _worked_case(alice):
    catalogue()
    case = open_case(manager=alice)
    version = Script.objects.get(language="ru").current_version
    reason = Reason.objects.get(code="price")
    call_record(
        case=case,
        manager=alice,
        data=CallInput(outcome="reached", reason=reason),
        script_version=version,
    )
    return case, version, reason


def test_redeeming_a_code_closes_the_case_as_won_back_and_credits(alice):
    case, version, reason = _worked_case(alice)
    offer = offers.offer_issue(case=case, template=OfferTemplate.objects.first(), by=alice)
    purchase = TransactionFactory(
        client=case.client, date=TODAY + dt.timedelta(days=2), promo_code=offer.code
    )
    redeemed = offers.offer_redeem_code(code=offer.code.lower(), transaction_row=purchase)
    assert (redeemed.status, redeemed.redeemed_on, redeemed.transaction) == (
        "redeemed",
        purchase.date,
        purchase,
    )
    case.refresh_from_db()
    assert case.status == Case.Status.WON_BACK and case.closed_on == purchase.date
    assert (case.credited_manager, case.credited_script_version, case.credited_reason) == (
        alice,
        version,
        reason,
    )
    assert case.won_transaction == purchase


def test_a_used_code_cannot_be_redeemed_again(alice):
    case, *_ = _worked_case(alice)
    offer = offers.offer_issue(case=case, template=OfferTemplate.objects.first(), by=alice)
    purchase = TransactionFactory(client=case.client, date=TODAY)
    offers.offer_redeem_code(code=offer.code, transaction_row=purchase)
    again = TransactionFactory(client=case.client, date=TODAY)
    with pytest.raises(offers.OfferError) as error:
        offers.offer_redeem_code(code=offer.code, transaction_row=again)
    assert error.value.message == offers.ERR_CODE_USED


def test_an_expired_code_cannot_be_redeemed(alice):
    case = open_case(manager=alice)
    offer = offers.offer_issue(case=case, template=OfferTemplateFactory(validity_days=14), by=alice)
    late = TransactionFactory(client=case.client, date=offer.expires_on + dt.timedelta(days=1))
    with pytest.raises(offers.OfferError) as error:
        offers.offer_redeem_code(code=offer.code, transaction_row=late)
    assert error.value.message == offers.ERR_CODE_EXPIRED
    on_the_last_day = TransactionFactory(client=case.client, date=offer.expires_on)
    assert (
        offers.offer_redeem_code(code=offer.code, transaction_row=on_the_last_day).status
        == "redeemed"
    )


def test_another_clients_code_or_an_unknown_one_is_refused(alice):
    case = open_case(manager=alice)
    other = open_case(manager=alice)
    offer = offers.offer_issue(case=case, template=OfferTemplateFactory(), by=alice)
    purchase = TransactionFactory(client=other.client, date=TODAY)
    with pytest.raises(offers.OfferError) as error:
        offers.offer_redeem_code(code=offer.code, transaction_row=purchase)
    assert error.value.message == offers.ERR_CODE_OTHER_CLIENT
    with pytest.raises(offers.OfferError) as error:
        offers.offer_redeem_code(code="WB-ZZZZ-ZZZZ", transaction_row=purchase)
    assert error.value.message == offers.ERR_CODE_UNKNOWN


def test_any_purchase_while_the_case_is_open_wins_it_back(alice):
    case, version, reason = _worked_case(alice)
    purchase = TransactionFactory(client=case.client, date=TODAY + dt.timedelta(days=1))
    assert case_win_back_on_purchase(transaction_row=purchase) == case
    case.refresh_from_db()
    assert case.status == Case.Status.WON_BACK
    assert (case.credited_manager, case.credited_script_version, case.credited_reason) == (
        alice,
        version,
        reason,
    )


def test_a_return_does_not_win_a_case_back(alice):
    case = open_case(manager=alice)
    refund = TransactionFactory(client=case.client, date=TODAY, amount=Decimal("-100"))
    assert case_win_back_on_purchase(transaction_row=refund) is None
    case.refresh_from_db()
    assert case.is_open


def test_issue_through_the_page_shows_the_code_to_copy_and_read_out(alice, login):
    catalogue()
    case = open_case(manager=alice)
    template = OfferTemplate.objects.get(kind="percent")
    response = login(alice).post(
        f"/cases/{case.pk}/offer/", {"template": template.pk}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    offer = Offer.objects.get(case=case)
    body = response.content.decode()
    assert f'data-copy="{offer.code}"' in body and 'class="offer-spelled"' in body
    again = login(alice).post(f"/cases/{case.pk}/offer/", {"template": template.pk})
    assert str(offers.ERR_LIVE_OFFER) in again.content.decode()
    assert Offer.objects.filter(case=case).count() == 1


def test_plain_post_issues_and_redirects(alice, login):
    catalogue()
    case = open_case(manager=alice)
    response = login(alice).post(
        f"/cases/{case.pk}/offer/", {"template": OfferTemplate.objects.first().pk}
    )
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.pk}/"
    assert Offer.objects.filter(case=case, issued_by=alice).count() == 1


def test_a_colleague_cannot_issue_an_offer_on_alices_case(alice, bob, login):
    catalogue()
    case = open_case(manager=alice)
    response = login(bob).post(
        f"/cases/{case.pk}/offer/", {"template": OfferTemplate.objects.first().pk}
    )
    assert response.status_code == 404
    assert not Offer.objects.exists()
