"""The phone-system fields of a case's calls, as the API lists them."""

from __future__ import annotations

import datetime as dt

import pytest

from reactivation.telephony.models import PhoneCall
from reactivation.telephony.selectors import phone_calls_for_case
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def test_a_cases_calls_with_their_phone_fields(zadarma, alice):
    case = CaseFactory(assigned_to=alice)
    start = dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC)
    older = PhoneCall.objects.create(
        account=zadarma,
        provider_call_id="a",
        direction="inbound",
        case=case,
        result="no_answer",
        duration=0,
        started_at=start,
    )
    newer = PhoneCall.objects.create(
        account=zadarma,
        provider_call_id="b",
        direction="outbound",
        case=case,
        result="answered",
        duration=61,
        manager=alice,
        started_at=start + dt.timedelta(hours=1),
        recording_ref="r",
    )
    PhoneCall.objects.create(account=zadarma, provider_call_id="c", direction="inbound")
    rows = phone_calls_for_case(case_id=case.pk)
    assert [r["id"] for r in rows] == [newer.pk, older.pk]
    expected = {
        "direction": "outbound",
        "result": "answered",
        "duration": 61,
        "manager": "alice",
        "started_at": start + dt.timedelta(hours=1),
        "recording": f"/phone/calls/{newer.pk}/recording/",
    }
    assert {key: rows[0][key] for key in expected} == expected
    assert rows[1]["recording"] is None


@pytest.mark.parametrize(
    ("typed", "phone", "counted"),
    [
        ("no_answer", "answered", "reached"),
        ("busy", "answered", "reached"),
        ("reached", "answered", "reached"),
        ("reached", "no_answer", "no_answer"),
        ("call_back", "failed", "no_answer"),
        ("reached", "busy", "busy"),
        ("wrong_number", "answered", "wrong_number"),
        ("no_answer", "no_answer", "no_answer"),
        ("reached", None, "reached"),
    ],
)
def test_the_phone_systems_outcome_counts_where_the_typed_one_contradicts_it(
    zadarma, alice, typed, phone, counted
):
    from calls.models import Call
    from calls.outcomes import counted_outcome
    from reactivation.models import Case

    case = CaseFactory(assigned_to=alice)
    call = Call.objects.create(
        case=case,
        client=case.client,
        manager=alice,
        called_at=dt.datetime(2026, 12, 4, tzinfo=dt.UTC),
        outcome=typed,
        next_call_on=dt.date(2026, 12, 5) if typed == "call_back" else None,
    )
    if phone:
        PhoneCall.objects.create(
            account=zadarma,
            provider_call_id="x",
            direction="outbound",
            case=case,
            result=phone,
            call=call,
        )
    assert Call.objects.annotate(counted=counted_outcome()).get().counted == counted
    through_case = Case.objects.annotate(counted=counted_outcome("calls__")).get()
    assert through_case.counted == counted


def test_the_funnel_and_the_managers_figures_count_what_the_phone_system_saw(zadarma, alice):
    from calls.models import Call
    from reactivation.models import CaseCohortDaily, ManagerDaily
    from reactivation.services.activity import activity_refresh

    day = dt.date(2026, 12, 3)
    answered = CaseFactory(assigned_to=alice, opened_on=day)  # typed "no answer", was answered
    unanswered = CaseFactory(assigned_to=alice, opened_on=day)  # typed "reached", never answered
    for case, typed, result in (
        (answered, "no_answer", "answered"),
        (unanswered, "reached", "no_answer"),
    ):
        call = Call.objects.create(
            case=case,
            client=case.client,
            manager=alice,
            called_at=dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC),
            outcome=typed,
        )
        PhoneCall.objects.create(
            account=zadarma,
            provider_call_id=f"p{case.pk}",
            direction="outbound",
            case=case,
            result=result,
            call=call,
        )
    activity_refresh(start=day, end=day)
    cohort = CaseCohortDaily.objects.filter(day=day)
    assert sum(row.reached for row in cohort) == 1
    assert sum(row.contacted for row in cohort) == 2
    managers = ManagerDaily.objects.filter(day=day, manager=alice)
    assert (sum(r.calls for r in managers), sum(r.reached for r in managers)) == (2, 1)
