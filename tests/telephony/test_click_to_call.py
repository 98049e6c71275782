"""Click-to-call against a fake phone system on 127.0.0.1, and matching the events that follow
to the call made at once as dialling: by the phone system's call id, by our request id, or by
extension, number and time window."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from urllib.parse import urlencode

import pytest
import time_machine
from werkzeug import Response

from reactivation.telephony.models import PhoneCall
from reactivation.telephony.services import extension_set
from tests.factories import CaseFactory, ClientFactory
from tests.telephony.conftest import (
    MANGO_KEY,
    MANGO_SALT,
    ZADARMA_KEY,
    ZADARMA_SECRET,
    generic_headers,
    hook_url,
    make_account,
    mango_form,
    zadarma_signature,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC)  # 11:00 in Moscow


@pytest.fixture
def case(alice):
    extension_set(user=alice, extension="101")
    return CaseFactory(client=ClientFactory(phone="+79161234567"), assigned_to=alice)


def zadarma_auth(method: str, params: dict) -> str:
    query = urlencode(sorted(params.items()))
    text = method + query + hashlib.md5(query.encode()).hexdigest()
    digest = hmac.new(ZADARMA_SECRET.encode(), text.encode(), hashlib.sha1).hexdigest()
    return f"{ZADARMA_KEY}:{base64.b64encode(digest.encode()).decode()}"


def test_zadarma_callback_is_asked_with_its_signed_header(httpserver, login, alice, case):
    account = make_account(
        "zadarma", key=ZADARMA_KEY, secret=ZADARMA_SECRET, base_url=httpserver.url_for("/")
    )
    httpserver.expect_oneshot_request(
        "/v1/request/callback/",
        method="GET",
        query_string={"from": "101", "to": "79161234567"},
        headers={
            "Authorization": zadarma_auth(
                "/v1/request/callback/", {"from": "101", "to": "79161234567"}
            )
        },
    ).respond_with_json({"status": "success", "from": 101, "to": 79161234567, "time": 1733300000})
    with time_machine.travel(NOW, tick=False):
        response = login(alice).post(f"/cases/{case.pk}/dial/")
    assert response.status_code == 302
    httpserver.check_assertions()
    call = PhoneCall.objects.get()
    assert (call.result, call.direction, call.case, call.client, call.manager) == (
        "dialling",
        "outbound",
        case,
        case.client,
        alice,
    )
    assert call.account == account and call.provider_call_id == ""


def test_zadarma_events_match_the_dialling_call_within_the_window(
    httpserver, login, alice, case, send
):
    account = make_account(
        "zadarma", key=ZADARMA_KEY, secret=ZADARMA_SECRET, base_url=httpserver.url_for("/")
    )
    httpserver.expect_request("/v1/request/callback/").respond_with_json({"status": "success"})
    with time_machine.travel(NOW, tick=False):
        login(alice).post(f"/cases/{case.pk}/dial/")
    dialled = PhoneCall.objects.get()
    # Zadarma reports the call in the account's timezone (Moscow), a few seconds later.
    start = {
        "event": "NOTIFY_OUT_START",
        "call_start": "2026-12-04 11:00:20",
        "pbx_call_id": "out-77",
        "internal": "101",
        "destination": "79161234567",
    }
    end = {
        **start,
        "event": "NOTIFY_OUT_END",
        "duration": "42",
        "disposition": "answered",
        "is_recorded": "0",
        "caller_id": "74951112233",
    }
    for form in (start, end):
        assert (
            send(hook_url(account), form=form, signature=zadarma_signature(form)).status_code == 200
        )
    assert PhoneCall.objects.count() == 1
    dialled.refresh_from_db()
    assert dialled.provider_call_id == "out-77"
    assert dialled.result == "answered"
    assert dialled.duration == 42


def test_an_event_outside_the_window_makes_its_own_call(httpserver, login, alice, case, send):
    account = make_account(
        "zadarma", key=ZADARMA_KEY, secret=ZADARMA_SECRET, base_url=httpserver.url_for("/")
    )
    httpserver.expect_request("/v1/request/callback/").respond_with_json({"status": "success"})
    with time_machine.travel(NOW, tick=False):
        login(alice).post(f"/cases/{case.pk}/dial/")
    late = {
        "event": "NOTIFY_OUT_START",
        "call_start": "2026-12-04 11:30:00",
        "pbx_call_id": "out-78",
        "internal": "101",
        "destination": "79161234567",
    }
    send(hook_url(account), form=late, signature=zadarma_signature(late))
    assert PhoneCall.objects.count() == 2
    assert PhoneCall.objects.get(provider_call_id="").result == "dialling"
    # Matched to the client and the case by number all the same.
    assert PhoneCall.objects.get(provider_call_id="out-78").case == case


def test_another_extension_in_the_window_is_not_matched(httpserver, login, alice, bob, case, send):
    account = make_account(
        "zadarma", key=ZADARMA_KEY, secret=ZADARMA_SECRET, base_url=httpserver.url_for("/")
    )
    httpserver.expect_request("/v1/request/callback/").respond_with_json({"status": "success"})
    with time_machine.travel(NOW, tick=False):
        login(alice).post(f"/cases/{case.pk}/dial/")
    other = {
        "event": "NOTIFY_OUT_START",
        "call_start": "2026-12-04 11:00:10",
        "pbx_call_id": "out-79",
        "internal": "102",
        "destination": "79161234567",
    }
    send(hook_url(account), form=other, signature=zadarma_signature(other))
    assert PhoneCall.objects.filter(provider_call_id="").count() == 1


def test_mango_callback_and_its_command_id(httpserver, login, alice, case, send):
    account = make_account(
        "mango", key=MANGO_KEY, secret=MANGO_SALT, base_url=httpserver.url_for("/")
    )
    seen = {}

    def handler(request):
        form = request.form
        text = form["json"]
        seen.update(json.loads(text))
        assert form["vpbx_api_key"] == MANGO_KEY
        assert form["sign"] == hashlib.sha256((MANGO_KEY + text + MANGO_SALT).encode()).hexdigest()
        return Response(json.dumps({"result": 1000}), content_type="application/json")

    httpserver.expect_oneshot_request(
        "/vpbx/commands/callback", method="POST"
    ).respond_with_handler(handler)
    login(alice).post(f"/cases/{case.pk}/dial/")
    httpserver.check_assertions()
    dialled = PhoneCall.objects.get()
    assert seen["from"] == {"extension": "101"} and seen["to_number"] == "79161234567"
    assert seen["command_id"] == dialled.request_id
    # The leg carries the command id back, at any time: matched by it, not by the window.
    leg = {
        "entry_id": "E1",
        "call_id": "C1",
        "seq": 1,
        "call_state": "Appeared",
        "timestamp": int(dt.datetime(2026, 12, 5, tzinfo=dt.UTC).timestamp()),
        "command_id": dialled.request_id,
        "from": {"extension": "101"},
        "to": {"number": "79161234567"},
    }
    send(hook_url(account, "events/call"), form=mango_form(leg))
    dialled.refresh_from_db()
    assert dialled.provider_call_id == "E1"
    assert PhoneCall.objects.count() == 1


def test_generic_call_id_returned_by_the_phone_system_matches_its_events(
    httpserver, login, alice, case, send
):
    account = make_account(
        "generic",
        key="tok",
        secret="whsec_" + base64.b64encode(b"k" * 32).decode(),
        base_url=httpserver.url_for("/"),
    )
    sent = {}

    def handler(request):
        sent.update(request.get_json())
        return Response(json.dumps({"call_id": "prov-555"}), content_type="application/json")

    httpserver.expect_oneshot_request(
        "/calls", method="POST", headers={"Authorization": "Bearer tok"}
    ).respond_with_handler(handler)
    login(alice).post(f"/cases/{case.pk}/dial/")
    dialled = PhoneCall.objects.get()
    assert sent == {"extension": "101", "number": "+79161234567", "request_id": dialled.request_id}
    assert dialled.provider_call_id == "prov-555"
    body = json.dumps(
        {
            "type": "end",
            "call_id": "prov-555",
            "direction": "outbound",
            "number": "+79161234567",
            "extension": "999",
            "at": "2026-12-09T10:00:00",
            "duration": 12,
            "result": "busy",
        }
    )
    headers = generic_headers(body, secret=account.adapter_config().api_secret)
    send(hook_url(account), json_body=body, headers=headers)
    dialled.refresh_from_db()
    assert dialled.result == "busy"
    assert PhoneCall.objects.count() == 1


def test_a_refusal_of_the_phone_system_is_shown_and_the_call_failed(httpserver, login, alice, case):
    make_account(
        "zadarma", key=ZADARMA_KEY, secret=ZADARMA_SECRET, base_url=httpserver.url_for("/")
    )
    httpserver.expect_request("/v1/request/callback/").respond_with_json(
        {"status": "error", "message": "Wrong number"}, status=400
    )
    response = login(alice).post(f"/cases/{case.pk}/dial/", follow=True)
    assert "Wrong number" in response.content.decode()
    assert PhoneCall.objects.get().result == "failed"


def test_without_an_extension_nothing_is_dialled(httpserver, login, bob, alice, case):
    make_account(
        "zadarma", key=ZADARMA_KEY, secret=ZADARMA_SECRET, base_url=httpserver.url_for("/")
    )
    extension_set(user=alice, extension="")
    response = login(alice).post(f"/cases/{case.pk}/dial/", follow=True)
    assert "no extension" in response.content.decode()
    assert PhoneCall.objects.count() == 0
    assert httpserver.log == []


def test_a_colleague_cannot_dial_anothers_case(httpserver, login, bob, case):
    make_account(
        "zadarma", key=ZADARMA_KEY, secret=ZADARMA_SECRET, base_url=httpserver.url_for("/")
    )
    extension_set(user=bob, extension="102")
    assert login(bob).post(f"/cases/{case.pk}/dial/").status_code == 404
    assert PhoneCall.objects.count() == 0


def test_the_case_page_shows_the_call_button_for_its_manager(httpserver, login, alice, case):
    make_account(
        "zadarma", key=ZADARMA_KEY, secret=ZADARMA_SECRET, base_url=httpserver.url_for("/")
    )
    page = login(alice).get(f"/cases/{case.pk}/").content.decode()
    assert f'action="/cases/{case.pk}/dial/"' in page


def test_no_button_without_a_phone_system(login, alice, case):
    page = login(alice).get(f"/cases/{case.pk}/").content.decode()
    assert "/dial/" not in page
