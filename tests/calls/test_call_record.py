"""Recording a call: every outcome's effect on the case and the client, the attempt cap, the
script version kept, the form keeping what was typed, and who may call."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from calls import services
from calls.models import Call, Reason, Script
from reactivation.models import Case, Policy
from tests.reactivation.queue_helpers import NOW, TODAY, catalogue, open_case

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def setup(alice):
    catalogue()
    return open_case(manager=alice)


def _post(client, case, **data):
    payload = {"outcome": "reached", "then": "stay", **data}
    return client.post(f"/cases/{case.pk}/call/", payload)


def test_reached_keeps_the_case_open_and_stores_reason_answers_and_version(alice, login, setup):
    case = setup
    reason = Reason.objects.get(code="price")
    version = Script.objects.get(language="ru").current_version
    response = _post(
        login(alice),
        case,
        reason=reason.pk,
        notes="Too dear",
        script_version=version.pk,
        **{"answer-greet": "Да, удобно", "answer-noticed": "Дальше", "answer-bogus": "x"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.pk}/"
    call = Call.objects.get(case=case)
    assert (call.outcome, call.reason, call.notes, call.manager) == (
        "reached",
        reason,
        "Too dear",
        alice,
    )
    assert call.script_version == version
    assert call.answers == {"greet": "Да, удобно", "noticed": "Дальше"}
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN and case.attempts == 0 and case.last_call_at is not None


def test_call_back_schedules_the_case(alice, login, setup):
    case = setup
    response = _post(login(alice), case, outcome="call_back", next_call_on="2026-11-20")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.next_call_on == dt.date(2026, 11, 20) and case.is_open


def test_call_back_without_a_date_is_refused_and_keeps_what_was_typed(alice, login, setup):
    case = setup
    response = _post(login(alice), case, outcome="call_back", notes="ring after lunch")
    assert response.status_code == 200
    body = response.content.decode()
    assert str(services.ERR_CALL_BACK_DATE) in body
    assert "ring after lunch" in body
    assert 'id="outcome-call_back" value="call_back" autocomplete="off" checked' in body
    assert not Call.objects.exists()


def test_a_next_call_date_in_the_past_is_refused(alice, login, setup):
    response = _post(login(alice), setup, outcome="call_back", next_call_on="2026-11-01")
    assert str(services.ERR_NEXT_CALL_PAST) in response.content.decode()
    assert not Call.objects.exists()


def test_do_not_call_closes_the_case_and_marks_the_client(alice, login, setup):
    case = setup
    _post(login(alice), case, outcome="do_not_call")
    case.refresh_from_db()
    case.client.refresh_from_db()
    assert case.status == Case.Status.DECLINED and case.closed_on == TODAY
    assert case.client.do_not_contact is True


@pytest.mark.parametrize("outcome", ["no_answer", "busy", "wrong_number"])
def test_an_unanswered_call_counts_an_attempt_and_comes_back_tomorrow(alice, login, setup, outcome):
    case = setup
    _post(login(alice), case, outcome=outcome)
    case.refresh_from_db()
    assert case.attempts == 1 and case.is_open
    assert case.next_call_on == TODAY + dt.timedelta(days=1)


def test_the_attempt_cap_closes_the_case_as_unreachable(alice, setup):
    case = setup
    Policy.objects.filter(segment__isnull=True).update(attempt_cap=2)
    for expected_status in (Case.Status.OPEN, Case.Status.UNREACHABLE):
        services.call_record(
            case=case,
            manager=alice,
            data=services.CallInput(outcome="no_answer"),
            script_version=None,
        )
        case.refresh_from_db()
        assert case.status == expected_status
    assert case.attempts == 2 and case.closed_on == TODAY
    with pytest.raises(services.CallError) as error:
        services.call_record(
            case=case, manager=alice, data=services.CallInput(outcome="busy"), script_version=None
        )
    assert error.value.message == services.ERR_CASE_CLOSED


def test_a_call_cannot_close_a_case_as_won_back(alice, login, setup):
    """Won back means the client bought: the call form has no such choice, and a form that
    sends it anyway is refused with the case left open."""
    case = setup
    client = login(alice)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert 'value="won_back"' not in page and 'value="promised"' in page
    response = _post(client, case, close_as="won_back")
    assert response.status_code == 200  # the form again, with the refusal
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN and case.credited_manager is None
    assert not Call.objects.filter(case=case).exists()
    with pytest.raises(services.CallError) as error:
        services.call_record(
            case=case,
            manager=alice,
            data=services.CallInput(outcome="reached", close_as="won_back"),
            script_version=None,
        )
    assert error.value.message == services.ERR_WIN_NEEDS_PURCHASE


def test_a_promise_to_buy_keeps_the_case_open_until_the_purchase(alice, login, setup):
    from reactivation.services.cases import case_win_back_on_purchase
    from tests.factories import TransactionFactory

    case = setup
    reason = Reason.objects.get(code="price")
    version = Script.objects.get(language="ru").current_version
    next_week = TODAY + dt.timedelta(days=7)
    _post(
        login(alice),
        case,
        close_as="promised",
        reason=reason.pk,
        script_version=version.pk,
        next_call_on=next_week.isoformat(),
    )
    case.refresh_from_db()
    call = Call.objects.get(case=case)
    assert call.promised_to_buy and call.outcome == "reached"
    assert case.status == Case.Status.OPEN and case.next_call_on == next_week
    assert case.credited_manager is None
    # The purchase is what wins the client back, credited to the call's manager and reason.
    purchase = TransactionFactory(client=case.client, date=TODAY + dt.timedelta(days=2))
    case_win_back_on_purchase(transaction_row=purchase)
    case.refresh_from_db()
    assert case.status == Case.Status.WON_BACK and case.won_transaction == purchase
    assert (case.credited_manager, case.credited_reason, case.credited_script_version) == (
        alice,
        reason,
        version,
    )


def test_a_promise_needs_the_client_reached(alice, setup):
    with pytest.raises(services.CallError) as error:
        services.call_record(
            case=setup,
            manager=alice,
            data=services.CallInput(outcome="no_answer", close_as="promised"),
            script_version=None,
        )
    assert error.value.message == services.ERR_PROMISE_NEEDS_REACHED


def test_a_call_back_takes_a_date_and_an_optional_time(alice, login, setup):
    case = setup
    on = TODAY + dt.timedelta(days=2)
    client = login(alice)
    _post(client, case, outcome="call_back", next_call_on=on.isoformat(), next_call_time="14:30")
    call = Call.objects.get(case=case)
    assert (call.next_call_on, call.next_call_time) == (on, dt.time(14, 30))
    # A time without a date is refused; the date alone is enough.
    response = _post(client, case, outcome="reached", next_call_time="10:00")
    assert response.status_code == 200 and Call.objects.filter(case=case).count() == 1
    assert "next_call_time" in response.context["call_form"].errors
    _post(client, case, outcome="call_back", next_call_on=on.isoformat())
    assert Call.objects.filter(case=case).latest("id").next_call_time is None


def test_a_script_answer_that_names_a_reason_fills_it(alice, login, setup):
    """«Дорого» in the script is the reason "price": the manager does not enter it twice."""
    case = setup
    version = Script.objects.get(language="ru").current_version
    answers = {
        "answer-greet": "Да, удобно",
        "answer-noticed": "Дальше",
        "answer-why": "Дорого",
    }
    _post(login(alice), case, script_version=version.pk, **answers)
    call = Call.objects.get(case=case)
    case.refresh_from_db()
    assert call.reason == Reason.objects.get(code="price")
    assert case.last_reason == call.reason


def test_a_reason_chosen_in_the_form_wins_over_the_scripts_answer(alice, login, setup):
    case = setup
    version = Script.objects.get(language="ru").current_version
    service = Reason.objects.get(code="service")
    answers = {"answer-greet": "Да, удобно", "answer-noticed": "Дальше", "answer-why": "Дорого"}
    _post(login(alice), case, script_version=version.pk, reason=service.pk, **answers)
    assert Call.objects.get(case=case).reason == service


def test_a_reason_given_becomes_the_cases_latest_reason(alice, login, setup):
    case = setup
    price, service = Reason.objects.get(code="price"), Reason.objects.get(code="service")
    client = login(alice)
    _post(client, case, reason=price.pk)
    case.refresh_from_db()
    assert case.last_reason == price
    _post(client, case, outcome="no_answer")  # a call without a reason keeps the last one
    case.refresh_from_db()
    assert case.last_reason == price
    _post(client, case, reason=service.pk)
    case.refresh_from_db()
    assert case.last_reason == service


def test_a_call_recorded_with_an_earlier_time_keeps_the_later_calls_reason(alice, setup):
    case = setup
    price, service = Reason.objects.get(code="price"), Reason.objects.get(code="service")
    for reason, when in ((price, NOW), (service, NOW - dt.timedelta(hours=2))):
        services.call_record(
            case=case,
            manager=alice,
            data=services.CallInput(outcome="reached", reason=reason),
            script_version=None,
            now=when,
        )
    case.refresh_from_db()
    assert case.last_reason == price


def test_reached_and_declined_closes(alice, login, setup):
    case = setup
    _post(login(alice), case, close_as="declined")
    case.refresh_from_db()
    assert case.status == Case.Status.DECLINED


def test_closing_from_a_call_needs_the_client_reached(alice, setup):
    with pytest.raises(services.CallError) as error:
        services.call_record(
            case=setup,
            manager=alice,
            data=services.CallInput(outcome="busy", close_as="declined"),
            script_version=None,
        )
    assert error.value.message == services.ERR_CLOSE_NEEDS_REACHED


def test_save_and_next_goes_to_the_next_case(alice, login, setup):
    case = setup
    second = open_case(manager=alice)
    response = _post(login(alice), case, then="next")
    assert response.status_code == 302 and response["Location"] == f"/cases/{second.pk}/"


def test_htmx_save_returns_the_workspace_with_the_call(alice, login, setup):
    case = setup
    response = login(alice).post(
        f"/cases/{case.pk}/call/", {"outcome": "busy", "then": "stay"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body and 'id="call-form"' in body and "case-notice" in body
    assert response["Vary"].lower().count("hx-request") == 1


def test_a_colleague_cannot_call_alices_case(alice, bob, login, setup):
    response = _post(login(bob), setup)
    assert response.status_code == 404
    assert not Call.objects.exists()


def test_someone_without_a_role_cannot_call(charlie, login, setup):
    assert _post(login(charlie), setup).status_code == 403


def test_a_pool_case_must_be_claimed_before_calling(alice, login):
    catalogue()
    case = open_case()
    response = _post(login(alice), case)
    assert response.status_code == 200
    assert str(services.ERR_NOT_ASSIGNED) in response.content.decode()
    assert not Call.objects.exists()


def test_get_is_not_allowed(alice, login, setup):
    assert login(alice).get(f"/cases/{setup.pk}/call/").status_code == 405


def test_a_call_written_in_sql_is_no_promise(alice, setup):
    """Calls written set-wise (a phone system's import, the benchmarks) name only the columns
    they know; the promise defaults to false in the database too."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO calls_call (case_id, client_id, manager_id, called_at, outcome, answers,"
            " notes) VALUES (%s, %s, %s, %s, 'no_answer', '{}', '')",
            [setup.pk, setup.client_id, alice.pk, NOW],
        )
    assert Call.objects.get(case=setup).promised_to_buy is False
