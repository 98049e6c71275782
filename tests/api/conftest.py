"""API fixtures: a key for each role (alice's and bob's keys act as those managers), and a
client that speaks JSON with a key."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client as HttpClient

from reactivation.api.services import key_create
from tests.factories import CaseFactory, ClientFactory
from tests.reactivation.queue_helpers import NOW


@pytest.fixture(autouse=True)
def _fresh_rate_counts():
    # The per-key rate counts live in the cache: each test starts from none.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def keys(alice, bob, owner, admin_user) -> dict[str, str]:
    return {
        "admin": key_create(name="shop", role="admin")[1],
        "owner": key_create(name="board", role="owner", user=owner)[1],
        "alice": key_create(name="alice phone", role="manager", user=alice)[1],
        "bob": key_create(name="bob phone", role="manager", user=bob)[1],
    }


class Api:
    """``api.get(path, key=...)``, ``api.post(path, body, key=...)``, ``api.put(...)``."""

    def __init__(self) -> None:
        self.http = HttpClient()

    def _headers(self, key: str | None) -> dict[str, str]:
        return {"Authorization": f"Api-Key {key}"} if key else {}

    def get(self, path: str, *, key: str | None, **params: Any):
        return self.http.get(path, params, headers=self._headers(key))

    def post(self, path: str, body: Any, *, key: str | None):
        return self.http.post(
            path, json.dumps(body), content_type="application/json", headers=self._headers(key)
        )

    def put(self, path: str, body: Any, *, key: str | None):
        return self.http.put(
            path, json.dumps(body), content_type="application/json", headers=self._headers(key)
        )


@pytest.fixture
def api() -> Api:
    return Api()


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(alice, bob, frozen):
    """alice's client with her open case, bob's with his, and a pool client with a pool case."""
    lost = {
        "last_purchase_on": dt.date(2026, 6, 1),
        "first_purchase_on": dt.date(2025, 6, 1),
        "purchase_days": 8,
        "cycle_days": 30.0,
        "status": "lost",
    }
    mine = ClientFactory(external_id="ALICE-1", name="Anna Alpha", manager=alice, **lost)
    theirs = ClientFactory(external_id="BOB-1", name="Boris Beta", manager=bob, **lost)
    pool = ClientFactory(external_id="POOL-1", name="Pavel Pool", **lost)
    opened = {"opened_on": dt.date(2026, 11, 10)}
    return {
        "mine": mine,
        "theirs": theirs,
        "pool": pool,
        "my_case": CaseFactory(
            client=mine, assigned_to=alice, assigned_on=dt.date(2026, 11, 16), **opened
        ),
        "their_case": CaseFactory(
            client=theirs, assigned_to=bob, assigned_on=dt.date(2026, 11, 16), **opened
        ),
        "pool_case": CaseFactory(client=pool, assigned_to=None, **opened),
    }
