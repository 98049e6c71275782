"""An admin tunes a policy with the live preview and edits a call script, in a real browser."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from calls import script_services
from clients import stats
from reactivation.models import Policy
from tests.factories import ClientFactory, TransactionFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _roles(transactional_db):
    """The role groups and the default policy, in case a flush by an earlier transactional test
    on this worker removed what the migrations made."""
    for role in ("manager", "owner", "admin"):
        Group.objects.get_or_create(name=role)
    Policy.objects.get_or_create(segment=None)


def test_the_policy_preview_follows_the_thresholds_as_they_are_typed(
    live_server, page, log_in, admin_user, console_errors
):
    today = timezone.localdate()
    ids = []
    for days_ago in (20, 50, 70, 100):  # default cycle 30 days: active, sleeping, sleeping, lost
        client = ClientFactory()
        TransactionFactory(
            client=client, date=today - dt.timedelta(days=days_ago), amount=Decimal("900")
        )
        ids.append(client.pk)
    stats.refresh_clients(client_ids=ids, as_of=today)
    policy = Policy.objects.get(segment__isnull=True)

    log_in(admin_user)
    page.goto(f"{live_server.url}/settings/policies/{policy.pk}/")
    expect(page.get_by_test_id("preview-lost")).to_have_text("1")
    page.fill("#id_flag_after", "2")
    expect(page.get_by_test_id("preview-lost")).to_have_text("2")
    page.fill("#id_flag_after", "0.5")
    expect(page.locator("#policy-preview .alert-warning")).to_be_visible()
    policy.refresh_from_db()
    assert policy.flag_after == 3.0  # previewing saves nothing
    assert console_errors == []


def test_a_step_is_added_in_the_script_editor_and_saved_as_a_new_version(
    live_server, page, log_in, admin_user, console_errors
):
    script = script_services.script_create(
        name="Win-back",
        segment=None,
        user=admin_user,
        steps=[
            {
                "key": "hello",
                "title": "Greeting",
                "text": "Hello, {client_name}!",
                "choices": [{"label": "Listening", "next": "offer"}],
            },
            {"key": "offer", "title": "Offer", "text": "Here is 10% off.", "choices": []},
        ],
    )
    log_in(admin_user)
    page.goto(f"{live_server.url}/settings/scripts/{script.pk}/")
    page.get_by_role("button", name="Add a step").click()
    steps = page.locator("#script-steps fieldset")
    expect(steps).to_have_count(4)  # two steps, the spare empty form, and the one just added
    page.fill("#id_steps-3-key", "bye")
    page.fill("#id_steps-3-text", "Thank you, {manager_name} will call again.")
    page.fill("#id_steps-1-choices", "Yes => bye\nNo => -")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".alert-success")).to_contain_text("version 2")
    version = script.versions.order_by("-number").first()
    assert version.number == 2
    assert [s["key"] for s in version.steps] == ["hello", "offer", "bye"]
    assert version.steps[1]["choices"] == [
        {"label": "Yes", "next": "bye"},
        {"label": "No", "next": ""},
    ]
    assert console_errors == []
