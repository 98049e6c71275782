"""What a call means for the client's case: attached to the open case, an inbound call of a
sleeping or lost client marked, a missed one raising a call-back, an unknown number in the
inbox until someone attaches it."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from reactivation.models import Case
from reactivation.telephony.models import PhoneCall
from reactivation.telephony.services import extension_set
from tests.factories import CaseFactory, ClientFactory
from tests.telephony.conftest import hook_url, zadarma_signature

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 4)
NOW = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)


def inbound_end(number="79161234567", disposition="no answer", call_id="in-5"):
    return {
        "event": "NOTIFY_END",
        "call_start": "2026-12-04 11:58:00",
        "pbx_call_id": call_id,
        "caller_id": number,
        "called_did": "74951112233",
        "internal": "",
        "duration": "0" if disposition != "answered" else "80",
        "disposition": disposition,
        "status_code": "16",
        "is_recorded": "0",
    }


def deliver(send, account, form):
    with time_machine.travel(NOW, tick=False):
        response = send(hook_url(account), form=form, signature=zadarma_signature(form))
    assert response.status_code == 200


def test_a_call_is_attached_to_the_clients_open_case(send, zadarma, alice):
    client = ClientFactory(phone="+79161234567")
    CaseFactory(
        client=client,
        status=Case.Status.DECLINED,
        closed_on=dt.date(2026, 11, 20),
        opened_on=dt.date(2026, 10, 1),
        assigned_to=alice,
    )
    open_case = CaseFactory(client=client, assigned_to=alice)
    deliver(send, zadarma, inbound_end(disposition="answered"))
    call = PhoneCall.objects.get()
    assert (call.client, call.case) == (client, open_case)


def test_a_number_typed_in_another_form_still_matches(send, zadarma):
    client = ClientFactory(phone="+79161234567")
    deliver(send, zadarma, inbound_end(number="89161234567", disposition="answered"))
    assert PhoneCall.objects.get().client == client


def test_a_missed_inbound_call_raises_a_call_back_for_the_cases_manager(send, zadarma, alice):
    case = CaseFactory(
        client=ClientFactory(phone="+79161234567"),
        assigned_to=alice,
        next_call_on=dt.date(2026, 12, 10),
    )
    deliver(send, zadarma, inbound_end(disposition="no answer"))
    case.refresh_from_db()
    assert case.next_call_on == TODAY
    call = PhoneCall.objects.get()
    assert call.callback_raised
    # The change is in the case's history, as a change made through the model is.
    assert case.history.filter(next_call_on=TODAY).exists()


def test_an_earlier_call_back_is_kept(send, zadarma, alice):
    case = CaseFactory(
        client=ClientFactory(phone="+79161234567"),
        assigned_to=alice,
        next_call_on=dt.date(2026, 12, 1),
    )
    deliver(send, zadarma, inbound_end(disposition="busy"))
    case.refresh_from_db()
    assert case.next_call_on == dt.date(2026, 12, 1)


def test_an_answered_inbound_call_raises_no_call_back(send, zadarma, alice):
    case = CaseFactory(client=ClientFactory(phone="+79161234567"), assigned_to=alice)
    deliver(send, zadarma, inbound_end(disposition="answered"))
    case.refresh_from_db()
    assert case.next_call_on is None
    assert not PhoneCall.objects.get().callback_raised


def test_a_missed_outbound_call_raises_no_call_back(send, zadarma, alice):
    extension_set(user=alice, extension="101")
    case = CaseFactory(client=ClientFactory(phone="+79161234567"), assigned_to=alice)
    form = {
        "event": "NOTIFY_OUT_END",
        "call_start": "2026-12-04 11:58:00",
        "pbx_call_id": "o-1",
        "internal": "101",
        "destination": "79161234567",
        "duration": "0",
        "disposition": "no answer",
        "is_recorded": "0",
    }
    deliver(send, zadarma, form)
    case.refresh_from_db()
    assert case.next_call_on is None


@pytest.mark.parametrize("status", ["lost", "sleeping"])
def test_an_inbound_call_of_a_lost_or_sleeping_client_is_marked_on_their_case(
    send, zadarma, alice, login, status
):
    client = ClientFactory(phone="+79161234567", status=status)
    case = CaseFactory(client=client, assigned_to=alice)
    deliver(send, zadarma, inbound_end(disposition="answered"))
    call = PhoneCall.objects.get()
    assert call.from_returning_client and call.case == case
    page = login(alice).get(f"/cases/{case.pk}/").content.decode()
    assert "data-returning" in page


def test_a_lost_client_without_an_open_case_is_marked_on_their_latest_case(send, zadarma, alice):
    client = ClientFactory(phone="+79161234567", status="lost")
    last = CaseFactory(
        client=client,
        status=Case.Status.UNREACHABLE,
        opened_on=dt.date(2026, 9, 1),
        closed_on=dt.date(2026, 10, 1),
        assigned_to=alice,
    )
    deliver(send, zadarma, inbound_end(disposition="no answer"))
    call = PhoneCall.objects.get()
    assert call.case == last and call.from_returning_client
    assert not call.callback_raised  # a closed case gets no call-back


def test_an_active_clients_call_is_not_marked(send, zadarma, alice):
    CaseFactory(client=ClientFactory(phone="+79161234567", status="active"), assigned_to=alice)
    deliver(send, zadarma, inbound_end(disposition="answered"))
    assert not PhoneCall.objects.get().from_returning_client


def test_an_unknown_number_goes_to_the_inbox_and_can_be_attached(send, zadarma, alice, login):
    deliver(send, zadarma, inbound_end(number="79035550000", disposition="no answer"))
    call = PhoneCall.objects.get()
    assert call.client is None
    page = login(alice).get("/phone/unmatched/")
    assert page.status_code == 200
    assert "+79035550000" in page.content.decode()
    client = ClientFactory(external_id="C-42", phone="+79990001122")
    case = CaseFactory(client=client, assigned_to=alice)
    with time_machine.travel(NOW, tick=False):
        response = login(alice).post(f"/phone/unmatched/{call.pk}/attach/", {"client": "c-42"})
    assert response.status_code == 302 and response.url == f"/cases/{case.pk}/"
    call.refresh_from_db()
    assert (call.client, call.case, call.callback_raised) == (client, case, True)
    case.refresh_from_db()
    assert case.next_call_on == TODAY
    assert "+79035550000" not in login(alice).get("/phone/unmatched/").content.decode()


def test_attach_by_phone_and_an_unknown_client_is_refused(send, zadarma, alice, login):
    deliver(send, zadarma, inbound_end(number="79035550000", disposition="answered"))
    call = PhoneCall.objects.get()
    response = login(alice).post(
        f"/phone/unmatched/{call.pk}/attach/", {"client": "nobody"}, follow=True
    )
    assert "No client has this code or phone" in response.content.decode()
    client = ClientFactory(phone="+79990001122")
    login(alice).post(f"/phone/unmatched/{call.pk}/attach/", {"client": "8 999 000-11-22"})
    call.refresh_from_db()
    assert call.client == client


def test_a_manager_cannot_attach_to_a_colleagues_client(send, zadarma, alice, bob, login):
    deliver(send, zadarma, inbound_end(number="79035550000", disposition="answered"))
    call = PhoneCall.objects.get()
    ClientFactory(external_id="C-7", manager=bob)
    login(alice).post(f"/phone/unmatched/{call.pk}/attach/", {"client": "C-7"})
    call.refresh_from_db()
    assert call.client is None


def test_the_inbox_needs_a_role(charlie, login):
    assert login(charlie).get("/phone/unmatched/").status_code == 403
