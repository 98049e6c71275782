"""The client list and card: who sees what, the filters, the sorting and the query budget."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from clients.models import Status
from tests.factories import ClientFactory, SegmentFactory, TransactionFactory

pytestmark = pytest.mark.django_db


def listed(response) -> list[str]:
    return [client.external_id for client in response.context["page"].object_list]


# --- Who sees what ------------------------------------------------------------------------------


def test_anonymous_is_sent_to_log_in(client):
    response = client.get("/clients/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_user_without_role_is_refused(login, charlie):
    assert login(charlie).get("/clients/").status_code == 403


def test_manager_sees_own_clients_and_the_pool_but_not_a_colleagues(login, alice, bob):
    ClientFactory(external_id="ALICE", manager=alice)
    ClientFactory(external_id="BOB", manager=bob)
    ClientFactory(external_id="POOL", manager=None)
    response = login(alice).get("/clients/")
    assert response.status_code == 200
    assert sorted(listed(response)) == ["ALICE", "POOL"]


def test_manager_cannot_open_another_managers_client(login, alice, bob):
    theirs = ClientFactory(manager=bob)
    assert login(alice).get(f"/clients/{theirs.pk}/").status_code == 404


def test_manager_opens_own_client_card(login, alice):
    mine = ClientFactory(manager=alice, name="Кофейня «Зерно»")
    TransactionFactory(client=mine, date=dt.date(2026, 10, 1), amount=Decimal("2500.00"))
    response = login(alice).get(f"/clients/{mine.pk}/")
    assert response.status_code == 200
    assert "Кофейня «Зерно»" in response.content.decode()
    assert response.context["transactions"].object_list[0].amount == Decimal("2500.00")


@pytest.mark.parametrize("who", ["owner", "admin_user"])
def test_owner_and_admin_see_every_client(request, login, who, alice, bob):
    ClientFactory(external_id="ALICE", manager=alice)
    ClientFactory(external_id="BOB", manager=bob)
    response = login(request.getfixturevalue(who)).get("/clients/")
    assert sorted(listed(response)) == ["ALICE", "BOB"]


def test_card_of_missing_client_is_404(login, owner):
    assert login(owner).get("/clients/999999/").status_code == 404


# --- Filters: one test per parameter ---------------------------------------------------------------


@pytest.fixture
def base(alice, bob):
    coffee = SegmentFactory(code="coffee", name="Coffee")
    office = SegmentFactory(code="office", name="Office")
    return {
        "a": ClientFactory(
            external_id="A1",
            name="Anna Beans",
            phone="+79161112233",
            email="anna@beans.ru",
            segment=coffee,
            status=Status.ACTIVE,
            abc_class="A",
            manager=alice,
            revenue=Decimal("900"),
            last_purchase_on=dt.date(2026, 11, 1),
        ),
        "b": ClientFactory(
            external_id="B2",
            name="Boris Paper",
            phone="+79035556677",
            email="boris@paper.ru",
            segment=office,
            status=Status.LOST,
            abc_class="B",
            manager=bob,
            revenue=Decimal("100"),
            last_purchase_on=dt.date(2025, 1, 1),
        ),
        "c": ClientFactory(
            external_id="C3",
            name="Clara Chairs",
            phone="",
            email="",
            segment=office,
            status=Status.SLEEPING,
            abc_class="C",
            manager=None,
            revenue=Decimal("500"),
            last_purchase_on=dt.date(2026, 6, 1),
        ),
    }


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("anna", ["A1"]),
        ("PAPER", ["B2"]),
        ("555-66", ["B2"]),
        ("boris@paper", ["B2"]),
        ("C3", ["C3"]),
        ("zzz", []),
    ],
)
def test_search_box_matches_name_phone_email_and_external_id(login, owner, base, q, expected):
    assert listed(login(owner).get("/clients/", {"q": q})) == expected


def test_filter_by_segment(login, owner, base):
    response = login(owner).get("/clients/", {"segment": base["b"].segment_id})
    assert sorted(listed(response)) == ["B2", "C3"]


def test_filter_by_status(login, owner, base):
    assert listed(login(owner).get("/clients/", {"status": "lost"})) == ["B2"]


def test_filter_by_manager(login, owner, base, alice):
    assert listed(login(owner).get("/clients/", {"manager": alice.pk})) == ["A1"]


def test_filter_by_abc_class(login, owner, base):
    assert listed(login(owner).get("/clients/", {"abc_class": "C"})) == ["C3"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["A1", "B2", "C3"]),
        ("-revenue", ["A1", "C3", "B2"]),
        ("last_purchase_on", ["B2", "C3", "A1"]),
        ("-last_purchase_on", ["A1", "C3", "B2"]),
    ],
)
def test_sorting(login, owner, base, sort, expected):
    assert listed(login(owner).get("/clients/", {"sort": sort})) == expected


def test_invalid_filter_value_shows_an_error_not_a_crash(login, owner, base):
    response = login(owner).get("/clients/", {"status": "gone"})
    assert response.status_code == 200
    assert response.context["filter"].errors


def test_empty_result_shows_an_empty_state(login, owner, base):
    response = login(owner).get("/clients/", {"q": "nobody-like-this"})
    assert "empty-state" in response.content.decode()


def test_htmx_request_gets_only_the_results_fragment(login, owner, base):
    response = login(owner).get("/clients/", {"q": "anna"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body and "Anna Beans" in body
    assert "HX-Request" in response["Vary"]


# --- Pagination and the query budget ---------------------------------------------------------------


def test_pages_move_through_the_list(login, owner, settings):
    settings.CLIENT_LIST_PAGE_SIZE = 2
    for i in range(5):
        ClientFactory(external_id=f"P{i}", name=f"Client {i}")
    http = login(owner)
    first, third = http.get("/clients/"), http.get("/clients/", {"page": 3})
    assert listed(first) == ["P0", "P1"] and first.context["page"].has_next
    assert listed(third) == ["P4"] and not third.context["page"].has_next
    assert first.context["page"].total == 5


def test_query_count_does_not_grow_with_page_size(
    login, owner, settings, django_assert_max_num_queries, alice
):
    segment = SegmentFactory()
    ClientFactory.create_batch(60, segment=segment, manager=alice)
    http = login(owner)
    counts = []
    for size in (5, 50):
        settings.CLIENT_LIST_PAGE_SIZE = size
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert http.get("/clients/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    with django_assert_max_num_queries(counts[1]):
        http.get("/clients/", {"status": "none", "sort": "-revenue"})


def test_page_number_that_is_not_a_number_falls_back_to_the_first(login, owner):
    ClientFactory(external_id="ONLY")
    assert listed(login(owner).get("/clients/", {"page": "x"})) == ["ONLY"]


def test_card_shows_statistics_with_a_tel_link(login, owner):
    card = ClientFactory(
        phone="+79161234567",
        purchase_days=4,
        cycle_days=21.0,
        first_purchase_on=dt.date(2026, 1, 1),
        last_purchase_on=dt.date(2026, 3, 1),
    )
    body = login(owner).get(f"/clients/{card.pk}/").content.decode()
    assert 'href="tel:+79161234567"' in body
    assert re.search(r">\s*21\s*<", body)


def test_filtering_in_place_also_updates_the_export_links(login, owner, base):
    response = login(owner).get("/clients/", {"status": "lost"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert 'id="client-export"' in body and 'hx-swap-oob="true"' in body
    assert "/clients/export/?q=&amp;status=lost" in body or "/clients/export/?status=lost" in body
