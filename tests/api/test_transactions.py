"""POST /api/v1/transactions: all or nothing, idempotent by id, statuses current on return, a
purchase closes its case as won back and its promo code redeems the offer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from clients.models import Client, Transaction
from reactivation.models import Case, Offer
from tests.factories import OfferTemplateFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/transactions"


def _batch():
    return [
        {"id": "T-1", "client": "ALICE-1", "date": "2026-11-17", "amount": "1 500,50"},
        {
            "id": "T-2",
            "client": "SHOP-NEW",
            "date": "17.11.2026",
            "amount": 990,
            "client_name": "New Buyer",
            "phone": "89161112233",
        },
        {"id": "T-3", "client": "SHOP-NEW", "date": "2026-11-18", "amount": 250.25, "margin": "50"},
    ]


def test_a_batch_writes_its_rows_creates_unknown_clients_and_returns_current_statuses(
    api, keys, world
):
    response = api.post(URL, _batch(), key=keys["admin"])
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["created"], body["unchanged"], body["clients_created"]) == (3, 0, 1)
    assert body["clients"] == [
        {"external_id": "ALICE-1", "status": "active"},
        {"external_id": "SHOP-NEW", "status": "active"},
    ]
    new = Client.objects.get(external_id="SHOP-NEW")
    assert (new.name, new.phone) == ("New Buyer", "+79161112233")
    assert (new.stats.purchase_days, new.stats.last_purchase_on) == (2, dt.date(2026, 11, 18))
    assert Transaction.objects.get(identity="id:T-1").amount == Decimal("1500.50")
    assert Transaction.objects.get(identity="id:T-3").amount == Decimal("250.25")
    assert Client.objects.get(external_id="ALICE-1").stats.status == "active"


def test_the_same_batch_twice_changes_nothing(api, keys, world):
    assert api.post(URL, _batch(), key=keys["admin"]).status_code == 201
    before = list(Transaction.objects.order_by("pk").values())
    stats = list(Client.objects.order_by("pk").values_list("stats__status", "stats__purchase_days"))
    again = api.post(URL, _batch(), key=keys["admin"])
    assert again.status_code == 200
    assert (again.json()["created"], again.json()["unchanged"]) == (0, 3)
    assert list(Transaction.objects.order_by("pk").values()) == before
    assert (
        list(Client.objects.order_by("pk").values_list("stats__status", "stats__purchase_days"))
        == stats
    )


def test_a_batch_with_one_bad_item_writes_nothing_and_names_it(api, keys, world):
    batch = _batch()
    batch[1]["date"] = "31.02.2026"
    response = api.post(URL, batch, key=keys["admin"])
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_items"
    assert [(e["index"], e["id"], e["field"]) for e in body["errors"]] == [(1, "T-2", "date")]
    assert body["errors"][0]["message"]
    assert not Transaction.objects.exists()
    assert not Client.objects.filter(external_id="SHOP-NEW").exists()
    assert Case.objects.get(pk=world["my_case"].pk).status == "open"


def test_every_bad_item_is_named_with_its_field(api, keys, world):
    batch = [
        {"id": "A", "client": "X", "date": "2026-11-01", "amount": "abc"},
        {"client": "X", "date": "2026-11-01", "amount": "1"},
        {"id": "C", "date": "2026-11-01", "amount": "1"},
        "not an object",
        {"id": "E", "client": {"x": 1}, "date": "2026-11-01", "amount": "1"},
        {"id": "F", "client": "X", "date": "2026-11-02", "amount": "2"},
        {"id": "G", "client": "X", "date": "2026-11-01", "amount": "1", "email": "nope"},
        {"id": "F", "client": "Y", "date": "2026-11-03", "amount": "3"},
    ]
    errors = api.post(URL, batch, key=keys["admin"]).json()["errors"]
    named = {(e["index"], e["field"]) for e in errors}
    assert {
        (0, "amount"),
        (1, "id"),
        (2, "client"),
        (3, None),
        (4, "client"),
        (6, "email"),
        (7, "id"),
    } <= named
    repeated = next(e for e in errors if e["index"] == 7)
    assert repeated["message"] == "This transaction id already appears at index 5."
    assert not Transaction.objects.exists()


def test_the_batch_shape_is_checked(api, keys):
    assert api.post(URL, {"id": "x"}, key=keys["admin"]).status_code == 400
    assert api.post(URL, [], key=keys["admin"]).status_code == 400
    big = [
        {"id": str(n), "client": "X", "date": "2026-11-01", "amount": "1"} for n in range(10_001)
    ]
    too_many = api.post(URL, big, key=keys["admin"])
    assert too_many.status_code == 400
    assert too_many.json()["code"] == "batch_too_large"


def test_a_purchase_while_a_case_is_open_closes_it_as_won_back(api, keys, world):
    response = api.post(URL, _batch()[:1], key=keys["admin"])
    assert response.status_code == 201
    case = Case.objects.get(pk=world["my_case"].pk)
    assert (case.status, case.closed_on) == ("won_back", dt.date(2026, 11, 17))
    assert case.won_transaction == Transaction.objects.get(identity="id:T-1")


def test_a_purchase_with_an_offers_code_closes_the_case_and_redeems_the_offer(
    api, keys, world, alice
):
    offer = Offer.objects.create(
        template=OfferTemplateFactory(),
        client=world["mine"],
        case=world["my_case"],
        code="WB-7KQ4-M2XP",
        kind="percent",
        value=Decimal("10"),
        issued_on=dt.date(2026, 11, 16),
        expires_on=dt.date(2026, 11, 30),
        issued_by=alice,
    )
    batch = [
        {
            "id": "T-9",
            "client": "ALICE-1",
            "date": "2026-11-18",
            "amount": "2000",
            "promo_code": "wb 7kq4 m2xp",
        }
    ]
    response = api.post(URL, batch, key=keys["admin"])
    assert response.status_code == 201
    offer.refresh_from_db()
    row = Transaction.objects.get(identity="id:T-9")
    assert (offer.status, offer.redeemed_on, offer.transaction) == (
        "redeemed",
        dt.date(2026, 11, 18),
        row,
    )
    case = Case.objects.get(pk=world["my_case"].pk)
    assert (case.status, case.won_transaction) == ("won_back", row)
    assert response.json()["clients"] == [{"external_id": "ALICE-1", "status": "active"}]


def test_only_an_admin_key_sends_transactions(api, keys, world):
    for role in ("owner", "alice"):
        assert api.post(URL, _batch(), key=keys[role]).status_code == 403
    assert not Transaction.objects.exists()


def test_a_changed_amount_under_the_same_id_is_an_update(api, keys, world):
    api.post(URL, _batch()[:1], key=keys["admin"])
    changed = [{"id": "T-1", "client": "ALICE-1", "date": "2026-11-17", "amount": "1600"}]
    response = api.post(URL, changed, key=keys["admin"])
    assert response.status_code == 200
    assert (response.json()["created"], response.json()["updated"]) == (0, 1)
    assert Transaction.objects.get(identity="id:T-1").amount == Decimal("1600")
