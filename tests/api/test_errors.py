"""Every error status in the one shape: {"code", "message", "errors": [{index, id, field, message}]}."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def _shape(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "errors"}
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    for error in body["errors"]:
        assert set(error) == {"index", "id", "field", "message"}
    return body


def test_each_error_status_has_the_one_shape(api, keys, world, settings):
    _shape(api.post("/api/v1/transactions", [{"id": "1"}], key=keys["admin"]), 400, "invalid_items")
    _shape(api.get("/api/v1/clients", key=None), 401, "unauthorized")
    _shape(api.post("/api/v1/transactions", [], key=keys["owner"]), 403, "forbidden")
    _shape(api.get("/api/v1/clients/BOB-1", key=keys["alice"]), 404, "not_found")
    _shape(
        api.post(
            f"/api/v1/cases/{world['pool_case'].pk}/calls",
            {"outcome": "reached"},
            key=keys["alice"],
        ),
        409,
        "conflict",
    )
    form = api.http.post(
        "/api/v1/transactions", {"id": "1"}, headers={"Authorization": f"Api-Key {keys['admin']}"}
    )
    _shape(form, 415, "unsupported_media_type")
    settings.API_RATE_LIMIT = "1/hour"
    api.get("/api/v1/clients", key=keys["bob"])
    limited = _shape(api.get("/api/v1/clients", key=keys["bob"]), 429, "rate_limited")
    assert limited["errors"] == []


def test_errors_are_in_the_requests_language(api, keys, world):
    response = api.http.get(
        "/api/v1/clients/BOB-1",
        headers={"Authorization": f"Api-Key {keys['alice']}", "Accept-Language": "ru"},
    )
    assert response.json()["message"] == "Нет клиента с таким внешним кодом."


def test_a_path_with_a_trailing_slash_is_not_the_api(api, keys):
    assert api.get("/api/v1/clients/", key=keys["admin"]).status_code == 404
