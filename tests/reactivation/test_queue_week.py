"""My week read page by page: the order across buckets, each filter on more than a page of
cases, and a number of queries that does not grow with the week."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
import time_machine

from calls.models import Reason
from calls.services import CallInput, call_record
from reactivation.models import Case
from reactivation.selectors import queue as lists
from reactivation.selectors import week
from reactivation.services.offers import offer_issue
from tests.factories import OfferTemplateFactory, SegmentFactory
from tests.reactivation.queue_helpers import NOW, TODAY, catalogue, open_case, page_ids

pytestmark = pytest.mark.django_db

WEEK_START = dt.date(2026, 11, 16)
ABC_RANK = {"A": 0, "B": 1, "C": 2}


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _bucket(case):
    """The queue's rule, written out again: call-backs today, overdue, this week, later; a
    carried-over case is overdue while it has not been called since it was assigned."""
    if case.next_call_on is not None:
        if case.next_call_on == TODAY:
            return 0
        return 1 if case.next_call_on < TODAY else 3
    carried = case.assigned_on and case.assigned_on < WEEK_START
    called_since = case.last_call_at and case.last_call_at.date() >= case.assigned_on
    return 1 if carried and not called_since else 2


def _expected(cases):
    ordered = sorted(
        cases,
        key=lambda c: (
            _bucket(c),
            c.next_call_on or dt.date.max,
            ABC_RANK.get(c.abc_class, 3),
            -c.priority,
            -c.potential_value,
            c.pk,
        ),
    )
    return [c.pk for c in ordered]


def _week_of_every_bucket(manager, per_bucket=8, seed=7):
    """``4 * per_bucket`` open cases spread over the four buckets, with mixed classes,
    priorities (some equal, so value and id decide) and values."""
    rng = random.Random(seed)
    shapes = [
        {"next_call_on": TODAY},
        {"next_call_on": TODAY - dt.timedelta(days=3)},
        {"assigned_on": dt.date(2026, 11, 2)},  # carried over from an earlier week
        {},  # this week's
        {"next_call_on": TODAY + dt.timedelta(days=4)},
        {"assigned_on": None},  # assigned without a date: this week's
    ]
    cases = []
    for n in range(4 * per_bucket):
        shape = shapes[n % len(shapes)]
        cases.append(
            open_case(
                manager=manager,
                abc_class=rng.choice(["A", "B", "C", ""]),
                priority=rng.choice([0.1, 0.5, 0.5, 0.9]),
                potential_value=Decimal(rng.choice([100, 500, 500, 900])),
                **shape,
            )
        )
    return cases


def test_the_order_holds_across_buckets_on_page_one_and_two(alice, login):
    cases = _week_of_every_bucket(alice, per_bucket=9)  # 36 cases: two pages
    expected = _expected(cases)
    client = login(alice)
    first = client.get("/queue/")
    second = client.get("/queue/", {"page": 2})
    assert page_ids(first) == expected[:25]
    assert page_ids(second) == expected[25:]
    assert first.context["page"].total == 36 and not first.context["page"].total_is_estimate
    assert first.context["page"].has_next and not second.context["page"].has_next


def test_each_row_shows_its_bucket(alice, login):
    open_case(manager=alice, next_call_on=TODAY)
    open_case(manager=alice, next_call_on=TODAY - dt.timedelta(days=1))
    open_case(manager=alice)
    open_case(manager=alice, next_call_on=TODAY + dt.timedelta(days=2))
    response = login(alice).get("/queue/")
    assert [case.bucket for case in response.context["page"].object_list] == [0, 1, 2, 3]
    body = response.content.decode()
    for label in ("Call back today", "Overdue", "This week", "Call back "):
        assert label in body


def test_the_paged_week_is_the_week_in_one_order_by(alice, bob):
    """Reading bucket by bucket gives exactly the rows of the one ORDER BY that defines the
    order, page after page, also when the list mixes open and closed cases."""
    cases = _week_of_every_bucket(alice, per_bucket=10, seed=11)
    for n, case in enumerate(cases[::3]):
        closed = [Case.Status.DECLINED, Case.Status.WON_BACK, Case.Status.EXPIRED][n % 3]
        Case.objects.filter(pk=case.pk).update(status=closed, closed_on=TODAY)
    _week_of_every_bucket(bob, per_bucket=3)
    for status in ("", Case.Status.OPEN, Case.Status.DECLINED):
        listing = lists.queue_list(user=alice, filters={"status": status}, today=TODAY)
        reference = list(listing.queryset.values_list("pk", flat=True))
        paged = []
        for number in (1, 2, 3, 4):
            paged += [case.pk for case in week.page_of_week(listing, number, 12).object_list]
        assert paged == reference and reference, status


def test_filter_by_segment_keeps_the_order_beyond_a_page(alice, login):
    coffee = SegmentFactory(code="coffee")
    cases = _week_of_every_bucket(alice, per_bucket=9)
    matching = cases[::2]
    for case in matching:
        case.client.segment = coffee
        case.client.save(update_fields=["segment"])
    response = login(alice).get("/queue/", {"segment": coffee.pk})
    assert page_ids(response) == _expected(matching)


def test_filter_by_a_closed_status_lists_only_those_in_order(alice, login):
    cases = _week_of_every_bucket(alice, per_bucket=8)
    declined = cases[1::2]
    Case.objects.filter(pk__in=[c.pk for c in declined]).update(
        status=Case.Status.DECLINED, closed_on=TODAY
    )
    response = login(alice).get("/queue/", {"status": "declined"})
    assert page_ids(response) == _expected(declined)


def test_any_status_mixes_open_and_closed_cases_in_one_order(alice, login):
    cases = _week_of_every_bucket(alice, per_bucket=8)
    Case.objects.filter(pk__in=[c.pk for c in cases[::4]]).update(
        status=Case.Status.WON_BACK, closed_on=TODAY
    )
    open_case(manager=alice, is_control=True)  # never in the week, whatever the status
    client = login(alice)
    assert page_ids(client.get("/queue/", {"status": ""})) == _expected(cases)[:25]
    assert page_ids(client.get("/queue/", {"status": "", "page": 2})) == _expected(cases)[25:]


def test_filter_by_abc_class_keeps_the_order_beyond_a_page(alice, login):
    cases = _week_of_every_bucket(alice, per_bucket=10)
    b_cases = [c for c in cases if c.abc_class == "B"]
    assert b_cases
    assert page_ids(login(alice).get("/queue/", {"abc_class": "B"})) == _expected(b_cases)


def test_filter_by_reason_keeps_the_order(alice, login):
    catalogue()
    price = Reason.objects.get(code="price")
    cases = _week_of_every_bucket(alice, per_bucket=7)
    stated = cases[::3]
    for case in stated:
        # The call moves the case to a call-back today, as a call does.
        call_record(
            case=case,
            manager=alice,
            data=CallInput(outcome="call_back", reason=price, next_call_on=TODAY),
            script_version=None,
        )
    for case in stated:
        case.refresh_from_db()
    assert page_ids(login(alice).get("/queue/", {"reason": price.pk})) == _expected(stated)


@pytest.mark.parametrize("state", ["none", "live", "expired", "redeemed"])
def test_filter_by_offer_state_keeps_the_order(alice, login, state):
    cases = _week_of_every_bucket(alice, per_bucket=8)
    template = OfferTemplateFactory(validity_days=3)
    live, expired, redeemed = cases[0::4], cases[1::4], cases[2::4]
    for case in live:
        offer_issue(case=case, template=template, by=alice)
    for case in expired:
        offer_issue(case=case, template=template, by=alice, today=TODAY - dt.timedelta(days=10))
    for case in redeemed:
        offer = offer_issue(case=case, template=template, by=alice)
        type(offer).objects.filter(pk=offer.pk).update(status="redeemed", redeemed_on=TODAY)
    expected = {
        "none": cases[3::4],
        "live": live,
        "expired": expired,
        "redeemed": redeemed,
    }[state]
    assert page_ids(login(alice).get("/queue/", {"offer": state})) == _expected(expected)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"page": 2},
        {"status": ""},
        {"offer": "none"},
        {"abc_class": "A"},
        {"segment": "x"},
        {"reason": "x"},
    ],
)
def test_the_week_reads_the_same_number_of_queries_as_it_grows(
    alice, login, django_assert_max_num_queries, query
):
    catalogue()
    coffee = SegmentFactory(code="coffee")
    price = Reason.objects.get(code="price")
    if query.get("segment"):
        query = {**query, "segment": coffee.pk}
    if query.get("reason"):
        query = {**query, "reason": price.pk}

    def grow(per_bucket, seed):
        """Cases of every bucket that every query of this test lists."""
        for case in _week_of_every_bucket(alice, per_bucket=per_bucket, seed=seed):
            Case.objects.filter(pk=case.pk).update(abc_class="A", last_reason=price)
            case.client.segment = coffee
            case.client.save(update_fields=["segment"])

    client = login(alice)
    grow(8, seed=1)  # 32 cases: page 2 exists, and the pager counts
    client.get("/queue/", query)
    with django_assert_max_num_queries(17) as few:
        client.get("/queue/", query)
    grow(20, seed=3)
    _week_of_every_bucket(alice, per_bucket=5)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/queue/", query)
    assert len(page_ids(response)) == 25


def test_a_week_beyond_the_exact_count_shows_about_how_many(
    alice, login, monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr(week, "EXACT_TOTAL_UP_TO", 30)
    client = login(alice)
    _week_of_every_bucket(alice, per_bucket=7)  # 28: counted exactly
    page = client.get("/queue/", {"page": 2}).context["page"]
    assert (page.total, page.total_is_estimate) == (28, False)
    _week_of_every_bucket(alice, per_bucket=5, seed=5)  # 48: past the cap
    with django_assert_max_num_queries(17):
        response = client.get("/queue/")
    page = response.context["page"]
    assert page.total_is_estimate and page.total >= 31
    assert "of about" in response.content.decode()


def test_next_case_follows_the_week_order_and_skips_later_call_backs(alice, login):
    later = open_case(manager=alice, abc_class="A", next_call_on=TODAY + dt.timedelta(days=1))
    this_week = open_case(manager=alice, abc_class="A", priority=0.9)
    overdue = open_case(manager=alice, abc_class="C", next_call_on=TODAY - dt.timedelta(days=2))
    client = login(alice)
    assert client.get("/queue/next/")["Location"] == f"/cases/{overdue.pk}/"
    assert client.get("/queue/next/", {"after": overdue.pk})["Location"] == (
        f"/cases/{this_week.pk}/"
    )
    Case.objects.filter(pk__in=[overdue.pk, this_week.pk]).update(
        status=Case.Status.DECLINED, closed_on=TODAY
    )
    assert client.get("/queue/next/")["Location"] == "/queue/"
    assert page_ids(client.get("/queue/")) == [later.pk]


def test_the_class_filter_ranks_classes_as_the_list_order_does(alice):
    from django.db.models import Value
    from django.db.models.lookups import Exact

    from reactivation.filters import ABC_RANK
    from reactivation.models import abc_order_expression

    for abc in ("A", "B", "C"):
        open_case(manager=alice, abc_class=abc)
    for abc, rank in ABC_RANK.items():
        ranked = Case.objects.filter(Exact(abc_order_expression(), Value(rank)))
        assert list(ranked.values_list("abc_class", flat=True)) == [abc]


def test_the_pool_filters_by_class_in_its_order(alice, login):
    best = open_case(abc_class="B", priority=0.9)
    second = open_case(abc_class="B", priority=0.2)
    open_case(abc_class="A", priority=0.5)
    assert page_ids(login(alice).get("/queue/pool/", {"abc_class": "B"})) == [best.pk, second.pk]
