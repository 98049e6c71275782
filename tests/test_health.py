from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_logging_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_healthz_reports_a_broker_that_does_not_answer(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"].startswith("error")


@pytest.mark.redis
def test_healthz_checks_the_configured_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["broker"] == "ok"


def test_each_role_lands_on_its_home(login, alice, owner, admin_user, charlie):
    assert login(alice).get("/").url == "/queue/"
    assert login(owner).get("/").url == "/dashboard/"
    assert login(admin_user).get("/").url == "/dashboard/"
    assert login(charlie).get("/").status_code == 403
