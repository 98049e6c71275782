"""Cases, their calls and offers through the API; recording a call by the call form's service."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from calls.models import Call, Reason
from reactivation.models import Case, Offer
from tests.factories import OfferTemplateFactory

pytestmark = pytest.mark.django_db


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_a_managers_key_lists_their_cases_and_the_pool(api, keys, world):
    mine, pool = world["my_case"].pk, world["pool_case"].pk
    assert _ids(api.get("/api/v1/cases", key=keys["alice"])) == {mine, pool}
    assert _ids(api.get("/api/v1/cases", key=keys["owner"])) == {mine, pool, world["their_case"].pk}


def test_a_managers_key_gets_404_on_a_colleagues_case(api, keys, world):
    case_id = world["their_case"].pk
    for suffix in ("", "/calls", "/offers"):
        response = api.get(f"/api/v1/cases/{case_id}{suffix}", key=keys["alice"])
        assert response.status_code == 404, suffix
        assert response.json()["code"] == "not_found"
    assert api.get(f"/api/v1/cases/{case_id}", key=keys["bob"]).status_code == 200
    refused = api.post(f"/api/v1/cases/{case_id}/calls", {"outcome": "reached"}, key=keys["alice"])
    assert refused.status_code == 404
    assert not Call.objects.exists()


def test_ids_past_any_row_are_404(api, keys, world):
    for raw in ("0", "99999999999999999999999", "abc", "9223372036854775808"):
        assert api.get(f"/api/v1/cases/{raw}", key=keys["admin"]).status_code == 404, raw


def test_filter_cases_by_status(api, keys, world):
    Case.objects.filter(pk=world["pool_case"].pk).update(
        status="expired", closed_on=dt.date(2026, 11, 17)
    )
    assert _ids(api.get("/api/v1/cases", key=keys["admin"], status="expired")) == {
        world["pool_case"].pk
    }
    assert api.get("/api/v1/cases", key=keys["admin"], status="nope").status_code == 400


def test_filter_cases_by_manager(api, keys, world):
    assert _ids(api.get("/api/v1/cases", key=keys["admin"], manager="bob")) == {
        world["their_case"].pk
    }


def test_filter_cases_by_week(api, keys, world):
    Case.objects.filter(pk=world["their_case"].pk).update(assigned_on=dt.date(2026, 11, 9))
    this_week = api.get("/api/v1/cases", key=keys["admin"], week="2026-11-18")
    assert _ids(this_week) == {world["my_case"].pk}
    assert _ids(api.get("/api/v1/cases", key=keys["admin"], week="2026-11-12")) == {
        world["their_case"].pk
    }
    assert api.get("/api/v1/cases", key=keys["admin"], week="last week").status_code == 400


def test_one_case_with_its_calls_and_offers(api, keys, world, alice):
    case = world["my_case"]
    Offer.objects.create(
        template=OfferTemplateFactory(),
        client=case.client,
        case=case,
        code="WB-AAAA-BBBB",
        kind="amount",
        value=Decimal("500"),
        issued_on=dt.date(2026, 11, 16),
        expires_on=dt.date(2026, 11, 30),
        issued_by=alice,
    )
    body = api.get(f"/api/v1/cases/{case.pk}", key=keys["alice"]).json()
    assert (body["id"], body["client"], body["status"], body["assigned_to"]) == (
        case.pk,
        "ALICE-1",
        "open",
        "alice",
    )
    assert body["opened_on"] == "2026-11-10"
    offers = api.get(f"/api/v1/cases/{case.pk}/offers", key=keys["alice"]).json()
    assert [(o["code"], o["kind"], o["value"], o["status"]) for o in offers] == [
        ("WB-AAAA-BBBB", "amount", "500.00", "issued")
    ]
    assert api.get(f"/api/v1/cases/{case.pk}/calls", key=keys["alice"]).json() == []


def test_recording_a_call_goes_through_the_call_forms_service(api, keys, world, alice):
    reason = Reason.objects.get_or_create(code="price", defaults={"name": "Price"})[0]
    case = world["my_case"]
    body = {
        "outcome": "reached",
        "reason": "price",
        "notes": "Will think",
        "next_call_on": "2026-11-20",
    }
    response = api.post(f"/api/v1/cases/{case.pk}/calls", body, key=keys["alice"])
    assert response.status_code == 201, response.content
    call = Call.objects.get()
    assert (call.manager, call.outcome, call.reason, call.notes) == (
        alice,
        "reached",
        reason,
        "Will think",
    )
    case.refresh_from_db()
    assert (case.next_call_on, case.last_reason, case.status) == (
        dt.date(2026, 11, 20),
        reason,
        "open",
    )
    assert response.json()["id"] == call.pk
    listed = api.get(f"/api/v1/cases/{case.pk}/calls", key=keys["alice"]).json()
    assert [(c["outcome"], c["reason"], c["manager"]) for c in listed] == [
        ("reached", "price", "alice")
    ]


def test_a_call_may_record_a_promise_to_buy_but_never_a_win(api, keys, world):
    case = world["my_case"]
    win = api.post(
        f"/api/v1/cases/{case.pk}/calls",
        {"outcome": "reached", "close_as": "won_back"},
        key=keys["alice"],
    )
    assert win.status_code == 400
    assert win.json()["errors"][0]["field"] == "close_as"
    promise = api.post(
        f"/api/v1/cases/{case.pk}/calls",
        {
            "outcome": "reached",
            "close_as": "promised",
            "next_call_on": "2026-11-20",
            "next_call_time": "14:30",
        },
        key=keys["alice"],
    )
    assert promise.status_code == 201, promise.content
    call = Call.objects.get()
    assert (call.promised_to_buy, call.next_call_time) == (True, dt.time(14, 30))
    case.refresh_from_db()
    assert case.status == "open"


def test_the_services_rules_answer_409_or_400(api, keys, world):
    case = world["my_case"]
    missing_date = api.post(
        f"/api/v1/cases/{case.pk}/calls", {"outcome": "call_back"}, key=keys["alice"]
    )
    assert missing_date.status_code == 400
    assert missing_date.json()["errors"][0]["field"] == "next_call_on"
    pool = api.post(
        f"/api/v1/cases/{world['pool_case'].pk}/calls", {"outcome": "reached"}, key=keys["alice"]
    )
    assert pool.status_code == 409
    assert pool.json()["message"] == "Take this case from the pool before calling."
    api.post(f"/api/v1/cases/{case.pk}/calls", {"outcome": "do_not_call"}, key=keys["alice"])
    closed = api.post(f"/api/v1/cases/{case.pk}/calls", {"outcome": "reached"}, key=keys["alice"])
    assert closed.status_code == 409
    assert closed.json()["code"] == "conflict"
    bad = api.post(
        f"/api/v1/cases/{case.pk}/calls",
        {"outcome": "sang a song", "reason": "nope"},
        key=keys["alice"],
    )
    assert bad.status_code == 400
    assert {e["field"] for e in bad.json()["errors"]} == {"outcome", "reason"}


def test_a_key_without_a_user_cannot_record_a_call(api, keys, world):
    response = api.post(
        f"/api/v1/cases/{world['my_case'].pk}/calls", {"outcome": "reached"}, key=keys["admin"]
    )
    assert response.status_code == 403
    assert not Call.objects.exists()


def test_a_cases_calls_carry_the_phone_systems_fields(api, keys, world, alice):
    from reactivation.telephony.models import PhoneAccount, PhoneCall

    case = world["my_case"]
    account = PhoneAccount(name="zadarma", provider="zadarma")
    account.set_api_key("k")
    account.set_api_secret("s")
    account.save()
    typed = Call.objects.create(
        case=case,
        client=case.client,
        manager=alice,
        outcome="reached",
        called_at=dt.datetime(2026, 11, 17, 10, 0, tzinfo=dt.UTC),
    )
    start = dt.datetime(2026, 11, 17, 9, 58, tzinfo=dt.UTC)
    PhoneCall.objects.create(
        account=account,
        provider_call_id="a",
        direction="outbound",
        case=case,
        call=typed,
        result="answered",
        duration=125,
        manager=alice,
        started_at=start,
        recording_ref="r",
    )
    PhoneCall.objects.create(  # logged by the phone system alone, not recorded on the form
        account=account,
        provider_call_id="b",
        direction="inbound",
        case=case,
        result="no_answer",
        duration=0,
        started_at=start + dt.timedelta(hours=2),
    )
    rows = api.get(f"/api/v1/cases/{case.pk}/calls", key=keys["alice"]).json()
    assert [(r["id"], r["outcome"], r["direction"], r["result"]) for r in rows] == [
        (None, None, "inbound", "no_answer"),
        (typed.pk, "reached", "outbound", "answered"),
    ]
    recorded = rows[1]
    assert (recorded["duration"], recorded["started_at"]) == (125, "2026-11-17T12:58:00+03:00")
    assert recorded["recording"].startswith("/phone/calls/")
    assert rows[0]["recording"] is None and rows[0]["called_at"] == "2026-11-17T14:58:00+03:00"
