"""Click-to-call in the browser: the case page's button rings the manager through a fake phone
system on 127.0.0.1, the phone system reports the call, and the call form fills from it."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import requests
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from calls.models import Call
from reactivation.roles import Role
from reactivation.telephony.models import PhoneCall
from reactivation.telephony.services import extension_set
from tests.factories import CaseFactory, ClientFactory
from tests.telephony.conftest import ZADARMA_KEY, ZADARMA_SECRET, make_account, zadarma_signature

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _roles(transactional_db):
    for role in Role.values:
        Group.objects.get_or_create(name=role)


def test_click_to_call_to_a_prefilled_call_form(
    alice, live_server, log_in, page, console_errors, httpserver
):
    account = make_account(
        "zadarma", key=ZADARMA_KEY, secret=ZADARMA_SECRET, base_url=httpserver.url_for("/")
    )
    httpserver.expect_oneshot_request(
        "/v1/request/callback/", query_string={"from": "101", "to": "79161234567"}
    ).respond_with_json({"status": "success"})
    extension_set(user=alice, extension="101")
    today = timezone.localdate()
    case = CaseFactory(
        client=ClientFactory(name="Ivan Petrov", phone="+79161234567", manager=alice),
        assigned_to=alice,
        assigned_on=today,
        opened_on=today - dt.timedelta(days=3),
    )
    log_in(alice)
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    page.get_by_role("button", name="Call through the phone system").click()
    expect(page.get_by_text("your phone (extension 101) rings first")).to_be_visible()
    httpserver.check_assertions()
    expect(page.locator("#phone-calls [data-result=dialling]")).to_have_count(1)

    # The phone system reports the call, as Zadarma does, in the account's timezone.
    started = (
        timezone.now().astimezone(zoneinfo.ZoneInfo("Europe/Moscow")).strftime("%Y-%m-%d %H:%M:%S")
    )
    url = f"{live_server.url}/hooks/phone/zadarma/{account.webhook_token}/"
    base = {
        "call_start": started,
        "pbx_call_id": "out-1",
        "internal": "101",
        "destination": "79161234567",
    }
    for form in (
        {**base, "event": "NOTIFY_OUT_START"},
        {
            **base,
            "event": "NOTIFY_OUT_END",
            "duration": "42",
            "disposition": "answered",
            "is_recorded": "0",
        },
    ):
        response = requests.post(
            url, data=form, headers={"Signature": zadarma_signature(form)}, timeout=10
        )
        assert response.status_code == 200
    assert PhoneCall.objects.get().result == "answered"

    page.reload()
    expect(page.locator("#phone-calls [data-result=answered]")).to_have_count(1)
    page.get_by_role("button", name="Fill the call form").click()
    expect(page.locator("#outcome-reached")).to_be_checked()
    expect(page.locator("#call-form textarea[name=notes]")).to_have_value(
        "Phone system: Answered, 42 s"
    )
    page.get_by_role("button", name="Save call").click()
    expect(page.get_by_text("Call saved.")).to_be_visible()
    call = Call.objects.get()
    assert call.outcome == "reached" and call.notes == "Phone system: Answered, 42 s"
    assert PhoneCall.objects.get().call == call
    assert console_errors == []
