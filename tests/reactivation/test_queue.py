"""My week and the pool: order, filters, counters, claiming, and who sees what."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from calls.models import Call, Reason
from calls.services import CallInput, call_record
from clients.search import format_phone
from reactivation.models import Case, WeeklyPlan
from reactivation.services.cases import ERR_ALREADY_CLAIMED, CaseError, case_claim
from reactivation.services.offers import offer_issue
from tests.factories import OfferTemplateFactory, SegmentFactory
from tests.reactivation.queue_helpers import NOW, TODAY, catalogue, open_case, page_ids

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_the_week_puts_call_backs_due_today_first_then_overdue_then_priority(alice, login):
    later = open_case(
        manager=alice, abc_class="A", priority=99, next_call_on=TODAY + dt.timedelta(days=2)
    )
    low_b = open_case(manager=alice, abc_class="B", priority=50)
    high_a = open_case(manager=alice, abc_class="A", priority=10, potential_value=Decimal("100"))
    best_a = open_case(manager=alice, abc_class="A", priority=10, potential_value=Decimal("900"))
    carried = open_case(manager=alice, abc_class="C", assigned_on=dt.date(2026, 11, 9))
    missed = open_case(manager=alice, abc_class="B", next_call_on=TODAY - dt.timedelta(days=1))
    due = open_case(manager=alice, abc_class="C", next_call_on=TODAY)
    response = login(alice).get("/queue/")
    assert response.status_code == 200
    assert page_ids(response) == [
        due.pk,
        missed.pk,
        carried.pk,
        best_a.pk,
        high_a.pk,
        low_b.pk,
        later.pk,
    ]


def test_the_week_shows_only_my_open_cases(alice, bob, login):
    mine = open_case(manager=alice)
    open_case(manager=bob)
    open_case()  # the pool
    open_case(manager=alice, status=Case.Status.DECLINED, closed_on=TODAY)
    open_case(manager=alice, is_control=True)
    assert page_ids(login(alice).get("/queue/")) == [mine.pk]


def test_filter_by_segment(alice, login):
    coffee = SegmentFactory(code="coffee")
    match = open_case(manager=alice)
    match.client.segment = coffee
    match.client.save(update_fields=["segment"])
    open_case(manager=alice)
    assert page_ids(login(alice).get("/queue/", {"segment": coffee.pk})) == [match.pk]


def test_filter_by_status(alice, login):
    open_case(manager=alice)
    won = open_case(manager=alice, status=Case.Status.WON_BACK, closed_on=TODAY)
    assert page_ids(login(alice).get("/queue/", {"status": "won_back"})) == [won.pk]
    assert len(page_ids(login(alice).get("/queue/", {"status": ""}))) == 2


def test_filter_by_abc_class(alice, login):
    b = open_case(manager=alice, abc_class="B")
    open_case(manager=alice, abc_class="A")
    assert page_ids(login(alice).get("/queue/", {"abc_class": "B"})) == [b.pk]


def test_filter_by_reason(alice, login):
    catalogue()
    price = Reason.objects.get(code="price")
    match = open_case(manager=alice)
    other = open_case(manager=alice)
    call_record(
        case=match,
        manager=alice,
        data=CallInput(outcome="reached", reason=price),
        script_version=None,
    )
    call_record(case=other, manager=alice, data=CallInput(outcome="reached"), script_version=None)
    assert page_ids(login(alice).get("/queue/", {"reason": price.pk})) == [match.pk]


def test_filter_by_reason_reads_the_latest_reason_given(alice, login):
    catalogue()
    price, service = Reason.objects.get(code="price"), Reason.objects.get(code="service")
    changed_mind = open_case(manager=alice)
    for reason in (price, service):
        call_record(
            case=changed_mind,
            manager=alice,
            data=CallInput(outcome="reached", reason=reason),
            script_version=None,
        )
    client = login(alice)
    assert page_ids(client.get("/queue/", {"reason": price.pk})) == []
    assert page_ids(client.get("/queue/", {"reason": service.pk})) == [changed_mind.pk]


def test_filter_by_offer_state(alice, login):
    with_offer = open_case(manager=alice)
    without = open_case(manager=alice)
    expired = open_case(manager=alice)
    template = OfferTemplateFactory(validity_days=3)
    offer_issue(case=with_offer, template=template, by=alice)
    offer_issue(case=expired, template=template, by=alice, today=TODAY - dt.timedelta(days=10))
    client = login(alice)
    assert page_ids(client.get("/queue/", {"offer": "live"})) == [with_offer.pk]
    assert page_ids(client.get("/queue/", {"offer": "none"})) == [without.pk]
    assert page_ids(client.get("/queue/", {"offer": "expired"})) == [expired.pk]
    assert page_ids(client.get("/queue/", {"offer": "redeemed"})) == []


def test_the_filter_bar_marks_the_chosen_options(alice, login):
    catalogue()
    price = Reason.objects.get(code="price")
    open_case(manager=alice, status=Case.Status.DECLINED, closed_on=TODAY)
    body = login(alice).get("/queue/", {"status": "declined", "reason": price.pk}).content.decode()
    assert '<option value="declined" selected>' in body
    assert f'<option value="{price.pk}" selected>' in body
    assert body.count(" selected>") == 2
    assert '<option value="" selected>' not in body


def test_a_case_shows_its_status_as_django_would(alice):
    case = open_case(manager=alice)
    for status in Case.Status:
        case.status = status
        assert case.get_status_display() == str(status.label)
    case.status = "bogus"
    assert case.get_status_display() == "bogus"


def test_the_queue_page_keeps_a_constant_number_of_queries(
    alice, login, django_assert_max_num_queries
):
    client = login(alice)
    for _ in range(30):  # more than a page: the pager counts
        open_case(manager=alice)
    client.get("/queue/")
    with django_assert_max_num_queries(17) as few:
        client.get("/queue/")
    for _ in range(60):
        open_case(manager=alice, abc_class="A")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/queue/")
    assert len(page_ids(response)) == 25 and response.context["page"].total == 90


def test_htmx_filtering_returns_only_the_results(alice, login):
    open_case(manager=alice)
    response = login(alice).get("/queue/", {"abc_class": "A"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body and "No cases match these filters." in body
    assert "HX-Request" in response["Vary"]


def test_an_empty_week_says_so(alice, login):
    response = login(alice).get("/queue/")
    assert "No cases this week" in response.content.decode()


def test_plan_counters_without_a_plan_show_the_defaults_and_only_my_work(alice, bob, login):
    mine, theirs = open_case(manager=alice), open_case(manager=bob)
    call_record(case=mine, manager=alice, data=CallInput(outcome="busy"), script_version=None)
    call_record(case=theirs, manager=bob, data=CallInput(outcome="reached"), script_version=None)
    offer_issue(case=theirs, template=OfferTemplateFactory(), by=bob)
    Case.objects.filter(pk=theirs.pk).update(
        status="won_back", closed_on=TODAY, credited_manager=bob
    )
    # Work of the previous plan week does not count either.
    earlier = open_case(manager=alice)
    offer = offer_issue(case=earlier, template=OfferTemplateFactory(), by=alice)
    type(offer).objects.filter(pk=offer.pk).update(issued_on=TODAY - dt.timedelta(days=7))
    Case.objects.filter(pk=earlier.pk).update(
        status="won_back", closed_on=TODAY - dt.timedelta(days=7), credited_manager=alice
    )
    response = login(alice).get("/queue/")
    plan = response.context["plan"]
    defaults = WeeklyPlan()
    assert not plan.has_plan
    assert [(c.key, c.done, c.target) for c in plan.counters] == [
        ("calls", 1, defaults.calls),
        ("reached", 0, defaults.reached),
        ("offers", 0, defaults.offers),
        ("wins", 0, defaults.wins),
    ]
    assert "No weekly plan is set for you yet" in response.content.decode()


def test_plan_counters_count_this_weeks_work(alice, login):
    WeeklyPlan.objects.create(manager=alice, calls=10, reached=5, offers=4, wins=2)
    first, second = open_case(manager=alice), open_case(manager=alice)
    call_record(case=first, manager=alice, data=CallInput(outcome="reached"), script_version=None)
    call_record(case=second, manager=alice, data=CallInput(outcome="busy"), script_version=None)
    # A call from the previous plan week does not count.
    Call.objects.create(
        case=first,
        client=first.client,
        manager=alice,
        outcome="reached",
        called_at=NOW - dt.timedelta(days=7),
    )
    offer_issue(case=first, template=OfferTemplateFactory(), by=alice)
    Case.objects.filter(pk=second.pk).update(
        status="won_back", closed_on=TODAY, credited_manager=alice
    )
    plan = login(alice).get("/queue/").context["plan"]
    assert plan.week_start == dt.date(2026, 11, 16)
    assert [(c.key, c.done, c.target) for c in plan.counters] == [
        ("calls", 2, 10),
        ("reached", 1, 5),
        ("offers", 1, 4),
        ("wins", 1, 2),
    ]


def test_the_pool_lists_unassigned_cases_and_hides_colleagues_clients(alice, bob, login):
    free = open_case(abc_class="A")
    own_client = open_case(client_manager=alice)
    open_case(client_manager=bob)  # bob's own client: his, not the pool's
    open_case(manager=bob)
    open_case(is_control=True)
    ids = page_ids(login(alice).get("/queue/pool/"))
    assert ids == [free.pk, own_client.pk]


def test_the_pool_page_keeps_a_constant_number_of_queries(
    alice, login, django_assert_max_num_queries
):
    client = login(alice)
    for _ in range(30):
        open_case()
    client.get("/queue/pool/")
    with django_assert_max_num_queries(12) as few:
        client.get("/queue/pool/")
    for _ in range(60):
        open_case()
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/queue/pool/")
    assert len(page_ids(response)) == 25


def test_claiming_moves_the_case_to_my_week(alice, login):
    case = open_case()
    response = login(alice).post(f"/cases/{case.pk}/claim/")
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.pk}/"
    case.refresh_from_db()
    assert case.assigned_to == alice and case.assigned_on == TODAY


def test_a_second_claim_is_told_the_case_is_taken(alice, bob):
    case = open_case()
    case_claim(case_id=case.pk, user=alice)
    with pytest.raises(CaseError) as error:
        case_claim(case_id=case.pk, user=bob)
    assert error.value.message == ERR_ALREADY_CLAIMED
    case.refresh_from_db()
    assert case.assigned_to == alice


def test_claim_with_htmx_swaps_the_row(alice, login):
    case = open_case()
    response = login(alice).post(f"/cases/{case.pk}/claim/", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert (
        response.status_code == 200 and f'id="pool-case-{case.pk}"' in body and "Yours now" in body
    )


def test_a_manager_cannot_claim_a_colleagues_case_or_client(alice, bob, login):
    taken = open_case(manager=bob)
    bobs_client = open_case(client_manager=bob)
    client = login(alice)
    assert client.post(f"/cases/{taken.pk}/claim/").status_code == 404
    assert client.post(f"/cases/{bobs_client.pk}/claim/").status_code == 404
    bobs_client.refresh_from_db()
    assert bobs_client.assigned_to is None


def test_claiming_needs_post(alice, login):
    assert login(alice).get(f"/cases/{open_case().pk}/claim/").status_code == 405


def test_pages_need_a_role(charlie, login, client):
    assert client.get("/queue/").status_code == 302
    assert login(charlie).get("/queue/").status_code == 403
    assert login(charlie).get("/queue/pool/").status_code == 403


def test_the_pool_is_exactly_the_pool_part_of_the_case_scope(alice, bob):
    from reactivation.selectors.queue import pool_list

    for manager in (None, alice, bob):
        open_case(client_manager=manager)
        open_case(client_manager=manager, is_control=True)
    open_case(manager=bob)
    for user in (alice, bob):
        listed = set(pool_list(user=user, filters=None).queryset.values_list("pk", flat=True))
        scoped = set(
            Case.objects.visible_to(user)
            .filter(assigned_to__isnull=True, status="open")
            .values_list("pk", flat=True)
        )
        assert listed == scoped and len(listed) == 2


def test_one_case_is_visible_exactly_when_the_case_scope_lists_it(alice, bob, owner, admin_user):
    """``Case.is_visible_to`` (the case page) and ``visible_to`` (the lists) agree on every
    kind of case, for every role."""
    cases = [
        open_case(manager=assigned, client_manager=client_manager, is_control=control)
        for assigned in (None, alice, bob)
        for client_manager in (None, alice, bob)
        for control in (False, True)
    ]
    for user in (alice, bob, owner, admin_user):
        scoped = set(Case.objects.visible_to(user).values_list("pk", flat=True))
        for case in Case.objects.select_related("client").filter(pk__in=[c.pk for c in cases]):
            assert case.is_visible_to(user) == (case.pk in scoped), (user, case.pk)
    # Her own six (control ones too) and the two pool cases of no or her own client.
    assert len(set(Case.objects.visible_to(alice).values_list("pk", flat=True))) == 6 + 2


def test_claiming_a_case_a_colleague_just_took_says_so(alice, bob, login):
    case = open_case()
    case_claim(case_id=case.pk, user=bob)
    response = login(alice).post(f"/cases/{case.pk}/claim/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert str(ERR_ALREADY_CLAIMED) in response.content.decode()
    plain = login(alice).post(f"/cases/{case.pk}/claim/")
    assert plain.status_code == 302 and plain["Location"] == "/queue/pool/"
    case.refresh_from_db()
    assert case.assigned_to == bob


def test_case_ids_in_the_page_are_not_formatted_as_numbers(alice, login):
    """A thousands separator in an id (1,463) would break every script and form using it."""
    from reactivation.models import Case
    from tests.factories import CaseFactory, ClientFactory

    case = CaseFactory(client=ClientFactory(manager=alice), assigned_to=alice)
    Case.objects.filter(pk=case.pk).update(id=123456)
    body = login(alice).get("/queue/").content.decode()
    assert 'data-case="123456"' in body


def test_a_row_of_the_week_shows_the_case_and_its_client(alice, login):
    segment = SegmentFactory(code="horeca", name="Рестораны")
    case = open_case(
        manager=alice,
        abc_class="B",
        potential_value=Decimal("12345.60"),
        next_call_on=TODAY + dt.timedelta(days=3),
        attempts=2,
    )
    case.client.segment = segment
    case.client.save()
    response = login(alice).get("/queue/", HTTP_ACCEPT_LANGUAGE="en")
    [row] = response.context["page"].object_list
    assert (row.pk, row.bucket, row.status, row.is_open) == (case.pk, 3, "open", True)
    assert row.next_call_on == TODAY + dt.timedelta(days=3)
    assert row.last_purchase_on == dt.date(2026, 6, 1)
    assert row.potential_value == Decimal("12345.60")
    assert (row.client_name, row.external_id, row.phone) == (
        case.client.name,
        case.client.external_id,
        case.client.phone,
    )
    assert (row.segment_name, row.abc_class, row.attempts) == ("Рестораны", "B", 2)
    assert row.get_status_display() == "Open"
    html = response.content.decode()
    phone = format_phone(case.client.phone)
    for shown in (case.client.name, phone, "Рестораны", f"/cases/{case.pk}/"):
        assert shown in html


def test_a_row_of_the_pool_shows_the_case_and_its_client(alice, login):
    segment = SegmentFactory(code="retail", name="Розница")
    case = open_case(abc_class="A", potential_value=Decimal("900"))
    case.client.segment = segment
    case.client.save()
    response = login(alice).get("/queue/pool/")
    [row] = response.context["page"].object_list
    assert row.pk == case.pk
    html = response.content.decode()
    for shown in (case.client.name, case.client.external_id, "Розница", f"/cases/{case.pk}/claim/"):
        assert shown in html
