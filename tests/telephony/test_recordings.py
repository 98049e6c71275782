"""Recordings play on the case page for the case's manager, owners and admins only; the
recording is streamed from the phone system (its links expire and stay hidden)."""

from __future__ import annotations

import pytest

from reactivation.telephony.models import PhoneCall
from tests.factories import CaseFactory, ClientFactory
from tests.telephony.conftest import ZADARMA_KEY, ZADARMA_SECRET, make_account

pytestmark = pytest.mark.django_db

AUDIO = b"ID3\x03\x00fake-mp3-bytes" * 100


@pytest.fixture
def recorded(httpserver, alice):
    account = make_account(
        "zadarma", key=ZADARMA_KEY, secret=ZADARMA_SECRET, base_url=httpserver.url_for("/")
    )
    httpserver.expect_request(
        "/v1/pbx/record/request/", query_string={"call_id": "rec-9"}
    ).respond_with_json(
        {
            "status": "success",
            "link": httpserver.url_for("/files/rec-9.mp3"),
            "lifetime_till": "2026-12-05 10:00:00",
        }
    )
    httpserver.expect_request("/files/rec-9.mp3").respond_with_data(
        AUDIO, content_type="audio/mpeg"
    )
    # A client of alice's own, so the case is not in the pool for colleagues.
    case = CaseFactory(client=ClientFactory(manager=alice), assigned_to=alice)
    return PhoneCall.objects.create(
        account=account,
        provider_call_id="p-9",
        direction="inbound",
        number="+79161234567",
        client=case.client,
        case=case,
        result="answered",
        duration=30,
        recording_ref="rec-9",
    )


def test_the_cases_manager_plays_the_recording(recorded, login, alice):
    client = login(alice)
    page = client.get(f"/cases/{recorded.case_id}/").content.decode()
    assert f'src="/phone/calls/{recorded.pk}/recording/"' in page
    response = client.get(f"/phone/calls/{recorded.pk}/recording/")
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/mpeg"
    assert b"".join(response.streaming_content) == AUDIO
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("who", ["owner", "admin_user"])
def test_owners_and_admins_play_it(recorded, login, request, who):
    response = login(request.getfixturevalue(who)).get(f"/phone/calls/{recorded.pk}/recording/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == AUDIO


def test_a_colleague_may_not(recorded, login, bob):
    assert login(bob).get(f"/phone/calls/{recorded.pk}/recording/").status_code == 404
    assert login(bob).get(f"/cases/{recorded.case_id}/").status_code == 404


def test_a_colleague_who_sees_a_pool_case_still_may_not_listen(recorded, login, bob):
    case = recorded.case
    case.assigned_to = None
    case.save()
    client = case.client
    client.manager = None
    client.save()
    page = login(bob).get(f"/cases/{case.pk}/")
    assert page.status_code == 200
    assert "/recording/" not in page.content.decode()
    assert login(bob).get(f"/phone/calls/{recorded.pk}/recording/").status_code == 403


def test_a_user_without_a_role_may_not(recorded, login, charlie):
    assert login(charlie).get(f"/phone/calls/{recorded.pk}/recording/").status_code == 403


def test_anonymous_is_sent_to_log_in(recorded, client):
    response = client.get(f"/phone/calls/{recorded.pk}/recording/")
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_the_phone_system_failing_is_a_502(httpserver, login, alice):
    account = make_account(
        "zadarma", key=ZADARMA_KEY, secret=ZADARMA_SECRET, base_url=httpserver.url_for("/")
    )
    httpserver.expect_request("/v1/pbx/record/request/").respond_with_json(
        {"status": "error", "message": "not found"}, status=404
    )
    case = CaseFactory(client=ClientFactory(manager=alice), assigned_to=alice)
    call = PhoneCall.objects.create(
        account=account,
        provider_call_id="p-1",
        direction="inbound",
        case=case,
        client=case.client,
        recording_ref="gone",
    )
    assert login(alice).get(f"/phone/calls/{call.pk}/recording/").status_code == 502


def test_a_call_without_recording_is_404(login, alice, zadarma):
    case = CaseFactory(client=ClientFactory(manager=alice), assigned_to=alice)
    call = PhoneCall.objects.create(
        account=zadarma, provider_call_id="p-2", direction="inbound", case=case, client=case.client
    )
    assert login(alice).get(f"/phone/calls/{call.pk}/recording/").status_code == 404
