"""Offer codes at the checkout: validate and redeem, each answer distinct; redeem idempotent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from clients.models import Transaction
from reactivation.models import Case, Offer
from tests.factories import OfferTemplateFactory, TransactionFactory

pytestmark = pytest.mark.django_db

VALIDATE = "/api/v1/offers/validate"
REDEEM = "/api/v1/offers/redeem"


@pytest.fixture
def offers(world, alice, bob):
    template = OfferTemplateFactory(description="10% off your next order")

    def make(code, client, case, **kwargs):
        values = {
            "template": template,
            "client": client,
            "case": case,
            "code": code,
            "kind": "percent",
            "value": Decimal("10"),
            "issued_on": dt.date(2026, 11, 16),
            "expires_on": dt.date(2026, 11, 30),
            "issued_by": alice,
        }
        values.update(kwargs)
        return Offer.objects.create(**values)

    return {
        "valid": make("WB-AAAA-BBBB", world["mine"], world["my_case"]),
        "expired": make(
            "WB-CCCC-DDDD",
            world["mine"],
            None,
            issued_on=dt.date(2026, 10, 1),
            expires_on=dt.date(2026, 10, 15),
        ),
        "used": make(
            "WB-EEEE-FFFF",
            world["mine"],
            None,
            status="redeemed",
            redeemed_on=dt.date(2026, 11, 17),
        ),
        "bobs": make("WB-GGGG-HHHH", world["theirs"], world["their_case"], issued_by=bob),
    }


def _answer(response):
    return response.status_code, response.json().get("code")


def test_a_valid_code_answers_200_with_the_offers_terms(api, keys, offers):
    response = api.post(
        VALIDATE, {"code": "wb aaaa bbbb", "client": "ALICE-1", "amount": "2500"}, key=keys["admin"]
    )
    assert response.status_code == 200
    assert response.json() == {
        "code": "WB-AAAA-BBBB",
        "client": "ALICE-1",
        "kind": "percent",
        "value": "10.00",
        "status": "issued",
        "issued_on": "2026-11-16",
        "expires_on": "2026-11-30",
        "redeemed_on": None,
        "discount": "250.00",
        "description": "10% off your next order",
    }


def test_each_refusal_of_validate_is_distinct(api, keys, offers):
    key = keys["admin"]
    assert _answer(api.post(VALIDATE, {"code": "WB-ZZZZ-ZZZZ"}, key=key)) == (404, "code_unknown")
    assert _answer(api.post(VALIDATE, {"code": "WB-CCCC-DDDD"}, key=key)) == (409, "code_expired")
    assert _answer(api.post(VALIDATE, {"code": "WB-EEEE-FFFF"}, key=key)) == (409, "code_used")
    other = api.post(VALIDATE, {"code": "WB-GGGG-HHHH", "client": "ALICE-1"}, key=key)
    assert _answer(other) == (409, "code_other_client")
    assert other.json()["message"] == "This code belongs to another client."
    assert _answer(api.post(VALIDATE, {}, key=key)) == (400, "invalid")


def test_a_managers_key_does_not_learn_of_a_colleagues_code(api, keys, offers):
    assert _answer(api.post(VALIDATE, {"code": "WB-GGGG-HHHH"}, key=keys["alice"])) == (
        404,
        "code_unknown",
    )
    assert api.post(VALIDATE, {"code": "WB-GGGG-HHHH"}, key=keys["bob"]).status_code == 200


def test_redeem_records_the_purchase_redeems_the_code_and_wins_the_case_back(
    api, keys, offers, world
):
    body = {"code": "WB-AAAA-BBBB", "client": "ALICE-1", "amount": "2500", "transaction": "CHK-1"}
    response = api.post(REDEEM, body, key=keys["admin"])
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "redeemed"
    row = Transaction.objects.get(identity="id:CHK-1")
    assert (row.client, row.amount, row.date, row.promo_code) == (
        world["mine"],
        Decimal("2500"),
        dt.date(2026, 11, 18),
        "WB-AAAA-BBBB",
    )
    offer = Offer.objects.get(code="WB-AAAA-BBBB")
    assert (offer.status, offer.transaction) == ("redeemed", row)
    case = Case.objects.get(pk=world["my_case"].pk)
    assert (case.status, case.won_transaction) == ("won_back", row)
    world["mine"].refresh_from_db()
    assert world["mine"].stats.status == "active"


def test_redeem_is_idempotent_for_the_same_transaction(api, keys, offers):
    body = {"code": "WB-AAAA-BBBB", "amount": "2500", "transaction": "CHK-1"}
    first = api.post(REDEEM, body, key=keys["admin"])
    again = api.post(REDEEM, body, key=keys["admin"])
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json() == again.json()
    assert Transaction.objects.filter(identity="id:CHK-1").count() == 1
    other = api.post(REDEEM, {**body, "transaction": "CHK-2"}, key=keys["admin"])
    assert _answer(other) == (409, "code_used")
    assert not Transaction.objects.filter(identity="id:CHK-2").exists()


def test_redeem_with_a_transaction_on_file(api, keys, offers, world):
    row = TransactionFactory(
        client=world["mine"], identity="id:POS-5", date=dt.date(2026, 11, 18), amount=Decimal("800")
    )
    response = api.post(REDEEM, {"code": "WB-AAAA-BBBB", "transaction": "POS-5"}, key=keys["admin"])
    assert response.status_code == 200
    assert Offer.objects.get(code="WB-AAAA-BBBB").transaction == row
    theirs = TransactionFactory(
        client=world["theirs"], identity="id:POS-6", date=dt.date(2026, 11, 18)
    )
    assert theirs.client != world["mine"]
    refused = api.post(REDEEM, {"code": "WB-GGGG-HHHH", "transaction": "POS-5"}, key=keys["admin"])
    assert _answer(refused) == (409, "code_other_client")


def test_each_refusal_of_redeem_is_distinct_and_writes_nothing(api, keys, offers):
    key = keys["admin"]
    base = {"amount": "100", "transaction": "CHK-9"}
    assert _answer(api.post(REDEEM, {**base, "code": "WB-ZZZZ-ZZZZ"}, key=key)) == (
        404,
        "code_unknown",
    )
    assert _answer(api.post(REDEEM, {**base, "code": "WB-CCCC-DDDD"}, key=key)) == (
        409,
        "code_expired",
    )
    assert _answer(api.post(REDEEM, {**base, "code": "WB-EEEE-FFFF"}, key=key)) == (
        409,
        "code_used",
    )
    assert _answer(
        api.post(REDEEM, {**base, "code": "WB-GGGG-HHHH", "client": "ALICE-1"}, key=key)
    ) == (409, "code_other_client")
    no_amount = api.post(REDEEM, {"code": "WB-AAAA-BBBB", "transaction": "CHK-9"}, key=key)
    assert _answer(no_amount) == (400, "invalid")
    assert no_amount.json()["errors"][0]["field"] == "amount"
    assert not Transaction.objects.exists()
    assert Offer.objects.get(code="WB-AAAA-BBBB").status == "issued"


def test_only_an_admin_key_redeems(api, keys, offers):
    body = {"code": "WB-AAAA-BBBB", "amount": "100", "transaction": "CHK-1"}
    for role in ("owner", "alice"):
        assert api.post(REDEEM, body, key=keys[role]).status_code == 403
    assert Offer.objects.get(code="WB-AAAA-BBBB").status == "issued"
