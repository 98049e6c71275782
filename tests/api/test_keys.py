"""API keys: the command, the settings page, the header, hashing, revoking, the rate limit."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from reactivation.api.models import ApiKey
from reactivation.api.services import key_create

pytestmark = pytest.mark.django_db


def _create(*args: str) -> list[str]:
    out = io.StringIO()
    call_command("api_key", "create", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_the_command_prints_the_key_once_alone_on_its_last_line_and_stores_only_its_hash(
    api, alice
):
    lines = _create("Shop checkout", "--role", "admin")
    key = lines[-1]
    assert " " not in key and "." in key
    row = ApiKey.objects.get(name="Shop checkout")
    assert (row.role, row.user, row.revoked) == ("admin", None, False)
    assert key not in (row.pk, row.hashed_key) and key.split(".")[1] not in row.hashed_key
    assert row.hashed_key.startswith("sha512$$")
    assert api.get("/api/v1/clients", key=key).status_code == 200


def test_a_managers_key_needs_the_manager(alice):
    with pytest.raises(CommandError, match="name the user"):
        _create("Phone", "--role", "manager")
    with pytest.raises(CommandError, match="No such user"):
        _create("Phone", "--role", "manager", "--user", "nobody")
    lines = _create("Phone", "--role", "manager", "--user", "alice")
    assert ApiKey.objects.get(name="Phone").user == alice
    assert lines[-1].count(".") == 1


def test_a_key_cannot_hold_a_role_its_user_does_not(alice):
    with pytest.raises(CommandError, match="does not hold the role"):
        _create("Sneaky", "--role", "owner", "--user", "alice")


def test_a_name_in_use_is_refused_until_its_key_is_revoked(api):
    first = _create("Shop", "--role", "admin")[-1]
    with pytest.raises(CommandError, match="in use"):
        _create("Shop", "--role", "admin")
    out = io.StringIO()
    call_command("api_key", "revoke", "Shop", stdout=out)
    assert "revoked: Shop" in out.getvalue()
    response = api.get("/api/v1/clients", key=first)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    second = _create("Shop", "--role", "admin")[-1]
    assert api.get("/api/v1/clients", key=second).status_code == 200
    with pytest.raises(CommandError, match="no key in use"):
        call_command("api_key", "revoke", "Nope", stdout=io.StringIO())


def test_without_a_key_or_with_a_wrong_one_the_answer_is_401(api, keys):
    for headers in ({}, {"Authorization": "Api-Key nope.nope"}, {"Authorization": "Bearer x"}):
        response = api.http.get("/api/v1/clients", headers=headers)
        assert response.status_code == 401, headers
        assert response["WWW-Authenticate"] == "Api-Key"
        body = response.json()
        assert set(body) == {"code", "message", "errors"}
        assert body["code"] == "unauthorized"
    tampered = keys["admin"][:-1] + ("A" if keys["admin"][-1] != "A" else "B")
    assert api.get("/api/v1/clients", key=tampered).status_code == 401


def test_a_key_of_an_inactive_user_stops_working(api, keys, alice):
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert api.get("/api/v1/clients", key=keys["alice"]).status_code == 401


def test_a_key_stops_working_when_its_user_loses_the_role(api, keys, alice):
    alice.groups.clear()
    response = api.get("/api/v1/clients", key=keys["alice"])
    assert response.status_code == 401
    assert response.json()["message"] == "The user this API key acts as no longer holds its role."


def test_a_managers_key_of_an_admin_acts_as_a_manager(api, admin_user, world):
    key = key_create(name="admin as manager", role="manager", user=admin_user)[1]
    # An admin sees every client; acting as a manager, only their own and the pool.
    assert api.get("/api/v1/clients/BOB-1", key=key).status_code == 404
    assert api.get("/api/v1/clients/POOL-1", key=key).status_code == 200


def test_the_rate_limit_is_per_key_with_retry_after(api, keys, settings):
    settings.API_RATE_LIMIT = "3/min"
    for _ in range(3):
        assert api.get("/api/v1/clients", key=keys["admin"]).status_code == 200
    limited = api.get("/api/v1/clients", key=keys["admin"])
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60
    # Another key has its own count.
    assert api.get("/api/v1/clients", key=keys["owner"]).status_code == 200


def test_last_use_is_recorded(api, keys):
    api.get("/api/v1/clients", key=keys["owner"])
    assert ApiKey.objects.get(name="board").last_used_at is not None
    assert ApiKey.objects.get(name="shop").last_used_at is None


# --- The settings page ----------------------------------------------------------------------------


def test_an_admin_creates_a_key_on_the_settings_page_and_sees_it_once(
    login, admin_user, api, alice
):
    client = login(admin_user)
    response = client.post(
        "/settings/api-keys/", {"name": "1C accounting", "role": "manager", "user": alice.pk}
    )
    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret and secret in response.content.decode()
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    row = ApiKey.objects.get(name="1C accounting")
    assert (row.role, row.user, row.created_by) == ("manager", alice, admin_user)
    again = client.get("/settings/api-keys/")
    assert secret not in again.content.decode()
    assert "1C accounting" in again.content.decode()
    assert api.get("/api/v1/clients", key=secret).status_code == 200


def test_the_settings_page_refuses_a_managers_key_without_a_user(login, admin_user):
    response = login(admin_user).post("/settings/api-keys/", {"name": "x", "role": "manager"})
    assert response.status_code == 400
    assert response.context["secret"] is None
    assert not ApiKey.objects.exists()


def test_an_admin_revokes_a_key_on_the_settings_page(login, admin_user, api, keys):
    row = ApiKey.objects.get(name="shop")
    response = login(admin_user).post(f"/settings/api-keys/{row.prefix}/revoke/")
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.revoked and row.revoked_at is not None
    assert api.get("/api/v1/clients", key=keys["admin"]).status_code == 401


def test_the_settings_page_is_for_admins_only(login, alice, owner, keys):
    prefix = ApiKey.objects.get(name="shop").prefix
    for user in (alice, owner):
        client = login(user)
        assert client.get("/settings/api-keys/").status_code == 403
        assert client.post(f"/settings/api-keys/{prefix}/revoke/").status_code == 403
    assert not ApiKey.objects.get(name="shop").revoked


def test_the_settings_nav_links_the_page(login, admin_user):
    page = login(admin_user).get("/settings/").content.decode()
    assert 'href="/settings/api-keys/"' in page
