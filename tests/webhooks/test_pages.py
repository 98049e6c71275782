"""Settings -> Webhooks: admins register, edit and deactivate endpoints and redeliver."""

from __future__ import annotations

import pytest
from django.urls import reverse

from reactivation.webhooks import services
from reactivation.webhooks.models import Delivery, Endpoint, OutboxEvent

pytestmark = pytest.mark.django_db


def test_an_admin_creates_an_endpoint_and_sees_its_secret_once(login, admin_user):
    client = login(admin_user)
    response = client.post(
        reverse("settings_webhooks"),
        {
            "name": "Shop",
            "url": "https://shop.example.com/hooks",
            "events": ["case.opened", "offer.redeemed"],
        },
    )
    assert response.status_code == 200
    endpoint = Endpoint.objects.get()
    assert endpoint.events == ["case.opened", "offer.redeemed"]
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret in response.content.decode()
    assert endpoint.created_by == admin_user
    assert endpoint.secret not in client.get(reverse("settings_webhooks")).content.decode()
    assert (
        endpoint.secret
        not in client.get(reverse("settings_webhook", args=[endpoint.pk])).content.decode()
    )


def test_an_endpoint_needs_an_event(login, admin_user):
    response = login(admin_user).post(
        reverse("settings_webhooks"), {"name": "Shop", "url": "https://shop.example.com/h"}
    )
    assert response.status_code == 400
    assert not Endpoint.objects.exists()


def test_an_admin_edits_and_deactivates_an_endpoint(login, admin_user):
    endpoint = services.endpoint_create(
        name="a", url="https://a.example.com/", events=["case.opened"]
    )
    client = login(admin_user)
    response = client.post(
        reverse("settings_webhook", args=[endpoint.pk]),
        {"name": "b", "url": "https://b.example.com/", "events": ["case.closed"], "active": "on"},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.name, endpoint.url, endpoint.events) == (
        "b",
        "https://b.example.com/",
        ["case.closed"],
    )
    response = client.post(reverse("settings_webhook_deactivate", args=[endpoint.pk]))
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.active is False


def test_the_page_shows_deliveries_and_their_attempts(
    login, admin_user, httpserver, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    from reactivation.models import Case
    from reactivation.services.cases import case_close
    from tests.factories import CaseFactory

    httpserver.expect_request("/h").respond_with_data("nope", status=503)
    endpoint = services.endpoint_create(
        name="a", url=httpserver.url_for("/h"), events=["case.closed"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            case_close(case=CaseFactory(), status=Case.Status.DECLINED, by=admin_user)
    client = login(admin_user)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("settings_webhook", args=[endpoint.pk]))
    text = response.content.decode()
    assert text.count("case.closed") >= 3
    assert "HTTP 503" in text

    delivery = Delivery.objects.first()
    httpserver.clear()
    httpserver.expect_request("/h").respond_with_data("ok")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("settings_webhook_redeliver", args=[endpoint.pk, delivery.pk])
        )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED
    assert delivery.attempts == 2


def test_managers_owners_and_outsiders_cannot_reach_the_pages(login, alice, owner, charlie):
    endpoint = services.endpoint_create(
        name="a", url="https://a.example.com/", events=["case.opened"]
    )
    for user in (alice, owner, charlie):
        client = login(user)
        for url in (reverse("settings_webhooks"), reverse("settings_webhook", args=[endpoint.pk])):
            assert client.get(url).status_code in (302, 403)
        client.post(reverse("settings_webhook_deactivate", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.active
    assert not OutboxEvent.objects.exists()
