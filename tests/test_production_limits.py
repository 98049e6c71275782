"""Numbers past what the database can hold, in links: a page number or an id that no row can
have is "page not found" (404), never a database error (500)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter

from reactivation.converters import IdConverter
from tests.factories import CaseFactory, ClientFactory, TransactionFactory

PAST_BIGINT = "10000000000000000000"  # 10^19 > 2^63 - 1
LARGEST_ID = str(2**63 - 1)


def _routes(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.pattern.converters


def _product_routes():
    return [
        (route, converters)
        for route, converters in _routes(get_resolver().url_patterns)
        if not route.startswith(("admin/", "^media/"))
    ]


def test_every_id_in_the_products_urls_is_limited_to_a_64_bit_key():
    plain_ints = [
        route
        for route, converters in _product_routes()
        if any(type(c) is IntConverter for c in converters.values())
    ]
    assert plain_ints == []
    with_ids = [
        r for r, c in _product_routes() if any(isinstance(v, IdConverter) for v in c.values())
    ]
    assert "clients/<id:client_id>/" in with_ids
    assert "cases/<id:case_id>/" in with_ids


def _with_id(route: str, value: str) -> str:
    return "/" + re.sub(r"<id:\w+>", value, re.sub(r"<slug:\w+>", "clients", route))


@pytest.mark.parametrize("value", [PAST_BIGINT, "9" * 40, LARGEST_ID])
def test_an_id_past_the_largest_key_is_not_found_on_every_url(login, admin_user, value):
    """Every URL that names a row by id, asked with an id no row has (the largest key too,
    which fits but names no row): 404, or 405 for an action that refuses GET; never a 500."""
    admin_user.is_staff = True
    admin_user.save(update_fields=["is_staff"])
    client = login(admin_user)
    client.raise_request_exception = False
    checked = []
    for route, converters in _product_routes():
        if not any(isinstance(v, IdConverter) for v in converters.values()):
            continue
        path = _with_id(route, value)
        response = client.get(path)
        assert response.status_code in (404, 405), (path, response.status_code)
        checked.append(path)
    assert len(checked) >= 20


def test_the_largest_id_reaches_the_view_and_a_larger_one_does_not_resolve():
    from django.urls import Resolver404, resolve

    assert resolve(f"/clients/{LARGEST_ID}/").kwargs == {"client_id": 2**63 - 1}
    with pytest.raises(Resolver404):
        resolve(f"/clients/{2**63}/")


@pytest.fixture
def busy_world(alice, owner, admin_user):
    client = ClientFactory(manager=alice)
    TransactionFactory(client=client, date=dt.date(2026, 1, 15), amount=Decimal("100"))
    CaseFactory(client=client, assigned_to=alice, assigned_on=dt.date(2026, 11, 2))
    CaseFactory(client=ClientFactory(), assigned_to=None)
    return client


def _pages(client_id: int) -> list[tuple[str, str]]:
    return [
        ("owner", "/clients/"),
        ("owner", f"/clients/{client_id}/"),
        ("manager", "/queue/"),
        ("manager", "/queue/pool/"),
        ("admin", "/import/"),
        ("admin", "/settings/audit/"),
        ("admin", "/settings/offers/"),
        ("admin", "/settings/reasons/"),
        ("admin", "/settings/plans/"),
        ("admin", "/settings/users/"),
        ("admin", "/settings/scripts/"),
    ]


@pytest.mark.parametrize("index", range(len(_pages(0))), ids=[p for _r, p in _pages(0)])
def test_a_page_number_past_what_the_database_can_offset_is_not_found(
    login, alice, owner, admin_user, busy_world, index
):
    role, path = _pages(busy_world.pk)[index]
    user = {"manager": alice, "owner": owner, "admin": admin_user}[role]
    client = login(user)
    client.raise_request_exception = False
    assert client.get(path).status_code == 200
    for page in (PAST_BIGINT, str(2**63 // 10), "1" * 30):
        response = client.get(path, {"page": page})
        assert response.status_code == 404, (path, page, response.status_code)
    # A page past the end that the database can still offset is an empty page, as before.
    assert client.get(path, {"page": "1000000"}).status_code == 200
    assert client.get(path, {"page": "not-a-number"}).status_code == 200


def test_the_paginator_refuses_a_page_whose_offset_is_past_a_64_bit_integer():
    from django.http import Http404

    from clients.paginator import requested_page

    assert requested_page(None, 50) == 1
    assert requested_page("-3", 50) == 1
    assert requested_page("7", 50) == 7
    largest = (2**63 - 2) // 50
    assert requested_page(str(largest), 50) == largest
    with pytest.raises(Http404):
        requested_page(str(largest + 1), 50)
