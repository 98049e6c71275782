"""What my week says is due: the overdue rule at the plan week's boundaries, call-backs by
their date and time, a reached call's call-back date, and a released manager's cases reaching
the pool."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from calls.models import Call, Reason, Script
from calls.services import CallInput, call_record
from clients.models import Client
from reactivation.models import Case
from reactivation.selectors import queue as lists
from reactivation.selectors import week
from reactivation.services.cases import (
    case_claim,
    cases_reassign,
    manager_release_cases,
)
from reactivation.services.offers import offer_issue
from tests.factories import OfferTemplateFactory
from tests.reactivation.queue_helpers import NOW, TODAY, catalogue, open_case, page_ids

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 11, 16)  # the plan week of TODAY starts here (the default weekday)
SUNDAY = MONDAY - dt.timedelta(days=1)  # the last day of the previous plan week


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))


def _buckets(user, today):
    """Each case's bucket as the page reads it, and as the one-ORDER-BY definition gives it."""
    start = week.week_start(today)
    listing = lists.queue_list(user=user, filters={}, today=today, start=start)
    page = week.page_of_week(listing, 1, 100)
    from_page = {row.pk: row.bucket for row in page.object_list}
    from_rule = dict(week._ordered(listing.own, today, start).values_list("pk", "bucket"))
    assert from_page == from_rule
    return from_page


def test_a_call_back_on_a_later_day_is_never_overdue(alice):
    with time_machine.travel(NOW, tick=False):
        carried = open_case(
            manager=alice, assigned_on=dt.date(2026, 11, 2), next_call_on=TODAY + dt.timedelta(1)
        )
        fresh = open_case(manager=alice, next_call_on=TODAY + dt.timedelta(days=5))
        buckets = _buckets(alice, TODAY)
    assert buckets == {carried.pk: week.LATER, fresh.pk: week.LATER}


def test_a_reached_call_with_an_offer_and_a_date_waits_for_that_date(alice, login):
    """The day's report: a case due today, called and reached, an offer issued and a next
    call date given, must show "Call back on <date>", not a red "Overdue" at the top."""
    with time_machine.travel(NOW, tick=False):
        catalogue()
        case = open_case(manager=alice, assigned_on=dt.date(2026, 11, 9), next_call_on=TODAY)
        offer_issue(case=case, template=OfferTemplateFactory(), by=alice)
        client = login(alice)
        on = TODAY + dt.timedelta(days=3)
        response = client.post(
            f"/cases/{case.pk}/call/",
            {"outcome": "reached", "next_call_on": on.isoformat(), "then": "stay"},
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert response.status_code == 302
        page = client.get("/queue/", HTTP_ACCEPT_LANGUAGE="en")
    row = page.context["page"].object_list[0]
    assert (row.pk, row.bucket, row.next_call_on) == (case.pk, week.LATER, on)
    body = page.content.decode()
    assert f"Call back on {on:%m/%d/%Y}" in body
    assert "Overdue" not in body


def test_a_carried_over_case_is_overdue_only_until_it_is_called(alice):
    with time_machine.travel(NOW, tick=False):
        case = open_case(manager=alice, assigned_on=dt.date(2026, 11, 5))
        assert _buckets(alice, TODAY) == {case.pk: week.OVERDUE}
        # Reached today, no date given: it is this week's work, not overdue any more.
        call_record(
            case=case, manager=alice, data=CallInput(outcome="reached"), script_version=None
        )
        assert _buckets(alice, TODAY) == {case.pk: week.THIS_WEEK}


def test_a_carried_over_case_called_last_week_after_its_assignment_is_not_overdue(alice):
    case = open_case(manager=alice, assigned_on=dt.date(2026, 11, 10))
    with time_machine.travel(_at(dt.date(2026, 11, 12)), tick=False):
        call_record(
            case=case, manager=alice, data=CallInput(outcome="reached"), script_version=None
        )
    with time_machine.travel(NOW, tick=False):
        assert _buckets(alice, TODAY) == {case.pk: week.THIS_WEEK}


def test_a_case_called_before_it_was_given_to_me_is_overdue_when_carried_over(alice, bob):
    case = open_case(manager=bob, assigned_on=dt.date(2026, 11, 2))
    with time_machine.travel(_at(dt.date(2026, 11, 3)), tick=False):
        call_record(case=case, manager=bob, data=CallInput(outcome="reached"), script_version=None)
    Case.objects.filter(pk=case.pk).update(assigned_to=alice, assigned_on=dt.date(2026, 11, 9))
    with time_machine.travel(NOW, tick=False):
        assert _buckets(alice, TODAY) == {case.pk: week.OVERDUE}


@pytest.mark.parametrize(
    ("today", "assigned_on", "expected"),
    [
        # On the week's first day: a case of the previous week's last day is carried over.
        (MONDAY, SUNDAY, week.OVERDUE),
        (MONDAY, MONDAY, week.THIS_WEEK),
        # On the previous week's last day the same case is that week's own.
        (SUNDAY, SUNDAY, week.THIS_WEEK),
        (SUNDAY, SUNDAY - dt.timedelta(days=6), week.THIS_WEEK),  # that week's Monday
        (SUNDAY, SUNDAY - dt.timedelta(days=7), week.OVERDUE),
    ],
)
def test_the_overdue_rule_at_the_weeks_boundaries(alice, today, assigned_on, expected):
    with time_machine.travel(_at(today), tick=False):
        case = open_case(manager=alice, assigned_on=assigned_on)
        assert _buckets(alice, today) == {case.pk: expected}


@pytest.mark.parametrize(
    ("call_back", "expected"),
    [
        (SUNDAY, week.OVERDUE),  # missed on the previous week's last day
        (MONDAY, week.DUE_TODAY),
        (MONDAY + dt.timedelta(days=1), week.LATER),
    ],
)
def test_call_backs_at_the_weeks_first_day(alice, call_back, expected):
    with time_machine.travel(_at(MONDAY), tick=False):
        case = open_case(manager=alice, assigned_on=SUNDAY, next_call_on=call_back)
        assert _buckets(alice, MONDAY) == {case.pk: expected}


def test_call_backs_are_listed_by_date_then_time(alice, login):
    """08.12, 07.12, 05.12 (and classes that would say otherwise) come as 05, 07, 08; on one
    day a call-back with a time comes by its time, before those without one."""
    with time_machine.travel(NOW, tick=False):
        dec = {n: dt.date(2026, 12, n) for n in (5, 7, 8)}
        eighth = open_case(manager=alice, abc_class="A", next_call_on=dec[8])
        seventh = open_case(manager=alice, abc_class="B", next_call_on=dec[7])
        fifth_untimed = open_case(manager=alice, abc_class="A", next_call_on=dec[5])
        fifth_late, fifth_early = (
            open_case(manager=alice, abc_class="C", next_call_on=dec[5]) for _ in range(2)
        )
        for case, hour in ((fifth_late, 15), (fifth_early, 10)):
            call_record(
                case=case,
                manager=alice,
                data=CallInput(
                    outcome="call_back", next_call_on=dec[5], next_call_time=dt.time(hour, 0)
                ),
                script_version=None,
            )
        today_late, today_untimed = (open_case(manager=alice, abc_class="A") for _ in range(2))
        call_record(
            case=today_late,
            manager=alice,
            data=CallInput(outcome="call_back", next_call_on=TODAY, next_call_time=dt.time(17)),
            script_version=None,
        )
        Case.objects.filter(pk=today_untimed.pk).update(next_call_on=TODAY)
        response = login(alice).get("/queue/", HTTP_ACCEPT_LANGUAGE="en")
    assert page_ids(response) == [
        today_late.pk,
        today_untimed.pk,
        fifth_early.pk,
        fifth_late.pk,
        fifth_untimed.pk,
        seventh.pk,
        eighth.pk,
    ]
    body = response.content.decode()
    assert "Call back today at 17:00" in body and "Call back on 12/05/2026 at 10:00" in body


def test_start_calling_skips_a_carried_over_case_called_today(alice):
    with time_machine.travel(NOW, tick=False):
        called = open_case(manager=alice, abc_class="A", assigned_on=dt.date(2026, 11, 2))
        other = open_case(manager=alice, abc_class="C")
        call_record(
            case=called, manager=alice, data=CallInput(outcome="reached"), script_version=None
        )
        assert week.next_case_id(user=alice, today=TODAY) == other.pk


# --- A leaving manager's cases reach the pool ------------------------------------------------


def _pool_ids(user):
    return list(lists.pool_list(user=user, filters={}).queryset.values_list("pk", flat=True))


def test_released_cases_are_in_a_colleagues_pool_and_can_be_claimed(alice, bob, admin_user, login):
    """The admin's "return his cases": the cases of bob's own clients leave bob, and alice's
    pool shows them (it hid them while the clients were still bob's), and she can claim one."""
    cases = [open_case(manager=bob, client_manager=bob) for _ in range(3)]
    untouched = open_case(manager=alice, client_manager=alice)
    assert _pool_ids(alice) == []
    response = login(admin_user).post("/queue/pool/release/", {"manager": bob.pk})
    assert response.status_code == 302
    for case in cases:
        case.refresh_from_db()
        case.client.refresh_from_db()
        assert case.assigned_to is None and case.client.manager is None
    assert sorted(_pool_ids(alice)) == sorted(c.pk for c in cases)
    pool_page = login(alice).get("/queue/pool/")
    assert {c.pk for c in pool_page.context["page"].object_list} == {c.pk for c in cases}
    claimed = case_claim(case_id=cases[0].pk, user=alice)
    assert claimed.assigned_to == alice
    assert login(alice).get(f"/cases/{cases[0].pk}/").status_code == 200
    # The others' clients and cases are left alone, and the history says who released them.
    untouched.refresh_from_db()
    assert untouched.assigned_to == alice and untouched.client.manager == alice
    latest = Client.history.filter(id=cases[1].client_id).latest("history_date")
    assert latest.manager_id is None and latest.history_user == admin_user


def test_the_service_alone_releases_the_clients_too(alice, bob):
    case = open_case(manager=bob, client_manager=bob)
    assert manager_release_cases(manager=bob) == 1
    assert _pool_ids(alice) == [case.pk]


def test_cases_given_back_to_the_pool_by_hand_are_claimable(alice, bob):
    case = open_case(manager=bob, client_manager=bob)
    cases_reassign(case_ids=[case.pk], manager=None)
    assert _pool_ids(alice) == [case.pk]


def test_a_manager_who_leaves_hands_their_clients_to_the_successor(alice, bob, admin_user):
    from reactivation.services.admin import manager_hand_over

    case = open_case(manager=bob, client_manager=bob)
    assert manager_hand_over(manager=bob, to=alice, acting_user=admin_user) == 1
    case.refresh_from_db()
    case.client.refresh_from_db()
    assert case.assigned_to == alice and case.client.manager == alice


def test_the_reason_filter_of_a_call_made_with_the_script(alice, login):
    """The reason a script answer filled is the one the week's reason filter finds."""
    with time_machine.travel(NOW, tick=False):
        catalogue()
        case = open_case(manager=alice)
        version = Script.objects.get(language="ru").current_version
        call_record(
            case=case,
            manager=alice,
            data=CallInput(
                outcome="reached",
                answers={"greet": "Да, удобно", "noticed": "Дальше", "why": "Дорого"},
            ),
            script_version=version,
        )
        price = Reason.objects.get(code="price")
        assert Call.objects.get(case=case).reason == price
        response = login(alice).get("/queue/", {"reason": price.pk})
    assert page_ids(response) == [case.pk]
