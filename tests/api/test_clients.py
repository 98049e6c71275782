"""Clients through the API: scoping by key, the list's filters and cursor, one client, upsert."""

from __future__ import annotations

import datetime as dt

import pytest

from clients.models import Client
from reactivation.models import Case
from tests.factories import ClientFactory, SegmentFactory

pytestmark = pytest.mark.django_db


def _ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["external_id"] for row in response.json()["results"]}


def test_a_managers_key_sees_what_that_manager_sees(api, keys, world):
    assert _ids(api.get("/api/v1/clients", key=keys["alice"])) == {"ALICE-1", "POOL-1"}
    assert _ids(api.get("/api/v1/clients", key=keys["bob"])) == {"BOB-1", "POOL-1"}
    assert _ids(api.get("/api/v1/clients", key=keys["owner"])) == {"ALICE-1", "BOB-1", "POOL-1"}
    assert api.get("/api/v1/clients/ALICE-1", key=keys["alice"]).status_code == 200


def test_a_managers_key_gets_404_on_a_colleagues_client(api, keys, world):
    response = api.get("/api/v1/clients/BOB-1", key=keys["alice"])
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    # The same answer as for a client that does not exist: nothing tells them apart.
    missing = api.get("/api/v1/clients/NOBODY", key=keys["alice"])
    assert missing.status_code == 404
    assert missing.json() == response.json()


def test_one_client_carries_its_status_cycle_due_date_p_alive_and_open_case(api, keys, world):
    segment = SegmentFactory(code="coffee", model_r=1.2, model_alpha=40.0, model_a=0.8, model_b=2.5)
    world["mine"].segment = segment
    world["mine"].save()
    Client.objects.filter(pk=world["mine"].pk).update(abc_class="A")
    body = api.get("/api/v1/clients/ALICE-1", key=keys["alice"]).json()
    assert body["external_id"] == "ALICE-1"
    assert body["name"] == "Anna Alpha"
    assert body["status"] == "lost"
    assert body["cycle_days"] == 30.0
    assert body["last_purchase_on"] == "2026-06-01"
    assert body["manager"] == "alice"
    assert body["segment"] == "coffee"
    assert body["abc_class"] == "A"
    assert body["open_case"] == world["my_case"].pk
    assert 0.0 < body["p_alive"] < 1.0
    # Without a fitted model there is no estimate.
    assert api.get("/api/v1/clients/POOL-1", key=keys["alice"]).json()["p_alive"] is None


def test_an_open_case_the_key_may_not_see_is_not_named(api, keys, world, bob):
    # The pool client's case was claimed by bob: alice still sees the client, not bob's case.
    Case.objects.filter(pk=world["pool_case"].pk).update(assigned_to=bob)
    assert api.get("/api/v1/clients/POOL-1", key=keys["alice"]).json()["open_case"] is None
    assert (
        api.get("/api/v1/clients/POOL-1", key=keys["bob"]).json()["open_case"]
        == world["pool_case"].pk
    )


def test_filter_by_search(api, keys, world):
    assert _ids(api.get("/api/v1/clients", key=keys["admin"], q="boris")) == {"BOB-1"}
    assert _ids(api.get("/api/v1/clients", key=keys["admin"], q="pool-1")) == {"POOL-1"}


def test_filter_by_status(api, keys, world):
    ClientFactory(external_id="NEW-1")
    assert _ids(api.get("/api/v1/clients", key=keys["admin"], status="none")) == {"NEW-1"}
    assert "NEW-1" not in _ids(api.get("/api/v1/clients", key=keys["admin"], status="lost"))


def test_filter_by_segment(api, keys, world):
    SegmentFactory(code="coffee")
    ClientFactory(external_id="C-1", segment=SegmentFactory(code="tea"))
    assert _ids(api.get("/api/v1/clients", key=keys["admin"], segment="tea")) == {"C-1"}
    assert _ids(api.get("/api/v1/clients", key=keys["admin"], segment="coffee")) == set()
    unknown = api.get("/api/v1/clients", key=keys["admin"], segment="nope")
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "segment"


def test_filter_by_manager(api, keys, world):
    assert _ids(api.get("/api/v1/clients", key=keys["admin"], manager="bob")) == {"BOB-1"}
    assert api.get("/api/v1/clients", key=keys["admin"], manager="nobody").status_code == 400


def test_filter_by_abc_class(api, keys, world):
    Client.objects.filter(pk=world["theirs"].pk).update(abc_class="B")
    assert _ids(api.get("/api/v1/clients", key=keys["admin"], abc_class="B")) == {"BOB-1"}
    wrong = api.get("/api/v1/clients", key=keys["admin"], abc_class="Z")
    assert wrong.status_code == 400
    assert wrong.json()["errors"][0]["field"] == "abc_class"


def test_the_list_pages_by_cursor(api, keys, world):
    for n in range(5):
        ClientFactory(external_id=f"Z-{n}")
    seen, url, params = [], "/api/v1/clients", {"limit": 3}
    while url:
        response = api.get(url, key=keys["admin"], **params)
        body = response.json()
        seen += [row["external_id"] for row in body["results"]]
        assert len(body["results"]) <= 3
        url, params = body["next"], {}
    assert seen == sorted(["ALICE-1", "BOB-1", "POOL-1"] + [f"Z-{n}" for n in range(5)])
    assert api.get("/api/v1/clients", key=keys["admin"], cursor="garbage").status_code == 404


def test_the_list_runs_a_fixed_number_of_queries(api, keys, world, django_assert_max_num_queries):
    for n in range(30):
        ClientFactory(external_id=f"Q-{n}", manager=world["mine"].manager)
    with django_assert_max_num_queries(8):
        response = api.get("/api/v1/clients", key=keys["alice"])
    assert len(response.json()["results"]) == 32


# --- Upsert ----------------------------------------------------------------------------------------


def test_put_creates_a_client_then_changes_only_the_fields_given(api, keys, alice):
    SegmentFactory(code="coffee")
    created = api.put(
        "/api/v1/clients/SHOP-77",
        {
            "name": "Olga Shop",
            "phone": "8 (916) 123-45-67",
            "segment": "coffee",
            "manager": "alice",
        },
        key=keys["admin"],
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["external_id"], body["status"], body["manager"]) == ("SHOP-77", "none", "alice")
    client = Client.objects.get(external_id="SHOP-77")
    assert client.phone == "+79161234567"  # stored in E.164, as the import stores it
    assert client.stats.status == "none"
    updated = api.put("/api/v1/clients/SHOP-77", {"email": "olga@example.com"}, key=keys["admin"])
    assert updated.status_code == 200
    client.refresh_from_db()
    assert (client.name, client.email, client.segment.code) == (
        "Olga Shop",
        "olga@example.com",
        "coffee",
    )
    cleared = api.put(
        "/api/v1/clients/SHOP-77", {"manager": "", "abc_class": "A"}, key=keys["admin"]
    )
    assert cleared.status_code == 200
    client.refresh_from_db()
    assert (client.manager, client.abc_class, client.abc_pinned) == (None, "A", True)


def test_put_refuses_bad_values_naming_the_field(api, keys):
    no_name = api.put("/api/v1/clients/NEW", {"phone": "+79160000000"}, key=keys["admin"])
    assert no_name.status_code == 400
    assert no_name.json()["errors"] == [
        {"index": None, "id": None, "field": "name", "message": "A new client needs a name."}
    ]
    for body, field in (
        ({"name": "X", "segment": "nope"}, "segment"),
        ({"name": "X", "manager": "nobody"}, "manager"),
        ({"name": "X", "email": "not-an-email"}, "email"),
        ({"name": "X", "abc_class": "Q"}, "abc_class"),
    ):
        response = api.put("/api/v1/clients/NEW", body, key=keys["admin"])
        assert response.status_code == 400, body
        assert [e["field"] for e in response.json()["errors"]] == [field]
    assert not Client.objects.filter(external_id="NEW").exists()
    too_long = api.put("/api/v1/clients/" + "x" * 65, {"name": "X"}, key=keys["admin"])
    assert too_long.status_code == 400


def test_only_an_admin_key_writes_clients(api, keys, world):
    for role in ("owner", "alice"):
        response = api.put("/api/v1/clients/ALICE-1", {"name": "Renamed"}, key=keys[role])
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"
    world["mine"].refresh_from_db()
    assert world["mine"].name == "Anna Alpha"


def test_bad_json_is_400(api, keys):
    response = api.http.put(
        "/api/v1/clients/X",
        "{not json",
        content_type="application/json",
        headers={"Authorization": f"Api-Key {keys['admin']}"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_json"


def test_dates_are_iso(api, keys, world):
    body = api.get("/api/v1/clients/ALICE-1", key=keys["admin"]).json()
    assert dt.date.fromisoformat(body["last_purchase_on"]) == dt.date(2026, 6, 1)
