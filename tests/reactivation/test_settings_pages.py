"""Settings pages: schedule, offer templates, reasons, weekly plans, users and roles."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from calls.models import Reason
from reactivation.models import BusinessSettings, OfferTemplate, WeeklyPlan
from reactivation.roles import roles_of
from reactivation.services import admin as services
from tests.factories import PASSWORD, CaseFactory, ClientFactory, OfferTemplateFactory, UserFactory

User = get_user_model()


@pytest.fixture
def admin_client(login, admin_user):
    return login(admin_user)


def test_the_overview_links_every_section(admin_client):
    response = admin_client.get(reverse("settings_home"))
    assert response.status_code == 200
    body = response.content.decode()
    for name in [
        "settings_policies",
        "settings_models",
        "settings_scripts",
        "settings_offers",
        "settings_reasons",
        "settings_plans",
        "settings_schedule",
        "settings_users",
        "settings_audit",
    ]:
        assert reverse(name) in body


def test_the_nightly_schedule_and_assignment_day_are_saved(admin_client):
    response = admin_client.post(
        reverse("settings_schedule"),
        {
            "company_name": "Acme",
            "nightly_at": "03:30",
            "assignment_weekday": "2",
            "abc_window_days": "180",
            "abc_a_share": "0.7",
            "abc_b_share": "0.2",
            "margin_rate": "0.25",
            "return_share": "0.2",
            "won_back_window_days": "90",
        },
    )
    assert response.status_code == 302
    row = BusinessSettings.load()
    assert (row.nightly_at, row.assignment_weekday, row.company_name) == (dt.time(3, 30), 2, "Acme")


def test_an_invalid_schedule_keeps_what_was_typed(admin_client):
    response = admin_client.post(
        reverse("settings_schedule"),
        {
            "company_name": "Acme",
            "nightly_at": "25:99",
            "assignment_weekday": "2",
            "abc_window_days": "180",
            "abc_a_share": "0.7",
            "abc_b_share": "0.2",
            "margin_rate": "3",
            "return_share": "0.2",
            "won_back_window_days": "90",
        },
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"nightly_at", "margin_rate"}
    assert 'value="Acme"' in response.content.decode()
    assert BusinessSettings.load().company_name == ""


def test_offer_templates_are_created_and_a_percentage_over_100_refused(admin_client):
    data = {
        "name": "Half off",
        "kind": "percent",
        "value": "150",
        "validity_days": "14",
        "cost": "0",
        "description": "",
        "active": "on",
    }
    response = admin_client.post(reverse("settings_offer_create"), data)
    assert response.status_code == 200
    assert response.context["form"].errors["value"]
    assert not OfferTemplate.objects.exists()
    response = admin_client.post(reverse("settings_offer_create"), {**data, "value": "50"})
    assert response.status_code == 302
    assert OfferTemplate.objects.get().value == 50


def test_the_offer_templates_list_has_an_empty_state_and_pages(
    admin_client, django_assert_max_num_queries
):
    assert "empty-state" in admin_client.get(reverse("settings_offers")).content.decode()
    OfferTemplateFactory.create_batch(55)
    with django_assert_max_num_queries(10):
        response = admin_client.get(reverse("settings_offers"))
    assert len(response.context["page"].object_list) == 50
    assert response.context["page"].has_next


def test_reasons_are_added_and_switched_off(admin_client):
    response = admin_client.post(
        reverse("settings_reason_create"),
        {"code": "delivery", "name": "Delivery", "position": "8", "active": "on"},
    )
    assert response.status_code == 302
    reason = Reason.objects.get(code="delivery")
    admin_client.post(
        reverse("settings_reason_edit", args=[reason.pk]),
        {"code": "delivery", "name": "Delivery", "position": "8"},
    )
    reason.refresh_from_db()
    assert not reason.active


def test_a_weekly_plan_is_set_for_a_manager_only(admin_client, alice, owner):
    response = admin_client.post(
        reverse("settings_plan_edit", args=[alice.pk]),
        {"calls": "45", "reached": "20", "offers": "8", "wins": "3"},
    )
    assert response.status_code == 302
    assert WeeklyPlan.objects.get(manager=alice).calls == 45
    assert admin_client.get(reverse("settings_plan_edit", args=[owner.pk])).status_code == 404


def test_the_plans_page_lists_managers(admin_client, alice, bob, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        response = admin_client.get(reverse("settings_plans"))
    assert {m.username for m in response.context["page"].object_list} == {"alice", "bob"}


def test_an_admin_creates_a_user_with_roles_who_can_log_in(admin_client, client):
    response = admin_client.post(
        reverse("settings_user_create"),
        {
            "username": "dmitry",
            "first_name": "Dmitry",
            "last_name": "Petrov",
            "email": "d@example.com",
            "roles": ["manager", "owner"],
            "is_active": "on",
            "password1": "violet-harbour-2041",
            "password2": "violet-harbour-2041",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="dmitry")
    assert roles_of(user) == {"manager", "owner"}
    assert not user.is_staff
    assert user.check_password("violet-harbour-2041")


def test_mismatched_passwords_and_taken_names_are_refused(admin_client, alice):
    response = admin_client.post(
        reverse("settings_user_create"),
        {
            "username": "ALICE",
            "roles": ["manager"],
            "is_active": "on",
            "password1": "violet-harbour-2041",
            "password2": "violet-harbour-2042",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["password2"]
    response = admin_client.post(
        reverse("settings_user_create"),
        {
            "username": "ALICE",
            "roles": ["manager"],
            "is_active": "on",
            "password1": "violet-harbour-2041",
            "password2": "violet-harbour-2041",
        },
    )
    assert response.context["form"].errors["username"]
    assert User.objects.filter(username__iexact="alice").count() == 1


def test_making_someone_admin_lets_them_into_the_data_administration(admin_client, alice):
    admin_client.post(
        reverse("settings_user_edit", args=[alice.pk]),
        {
            "first_name": "Alice",
            "last_name": "Manager",
            "email": "",
            "roles": ["manager", "admin"],
            "is_active": "on",
        },
    )
    alice.refresh_from_db()
    alice._roles_cache = None
    assert "admin" in roles_of(alice) and alice.is_staff


def test_a_leaving_manager_returns_cases_to_the_pool(admin_client, alice):
    case = CaseFactory(
        client=ClientFactory(manager=alice), assigned_to=alice, assigned_on=dt.date(2026, 11, 2)
    )
    response = admin_client.post(
        reverse("settings_user_edit", args=[alice.pk]),
        {
            "first_name": "Alice",
            "last_name": "Manager",
            "email": "",
            "roles": ["manager"],
        },
    )
    assert response.status_code == 302
    case.refresh_from_db()
    alice.refresh_from_db()
    assert case.assigned_to is None and not alice.is_active
    assert case.status == "open"  # nothing is deleted or closed


def test_the_last_admin_cannot_remove_their_own_access(admin_client, admin_user):
    response = admin_client.post(
        reverse("settings_user_edit", args=[admin_user.pk]),
        {
            "first_name": "Adam",
            "last_name": "Admin",
            "email": "",
            "roles": ["owner"],
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert str(services.ERR_LAST_ADMIN) in response.content.decode()
    admin_user._roles_cache = None
    assert "admin" in roles_of(admin_user)


def test_an_admin_sets_a_new_password(admin_client, alice, client):
    response = admin_client.post(
        reverse("settings_user_password", args=[alice.pk]),
        {
            "password1": "quiet-meadow-7731",
            "password2": "quiet-meadow-7731",
        },
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("quiet-meadow-7731")
    assert not alice.check_password(PASSWORD)


def test_the_users_page_shows_roles_with_few_queries(
    admin_client, alice, owner, django_assert_max_num_queries
):
    UserFactory.create_batch(10, role="manager")
    with django_assert_max_num_queries(10):
        response = admin_client.get(reverse("settings_users"))
    assert response.status_code == 200
    assert "alice" in response.content.decode()
