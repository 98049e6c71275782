"""The audit history: each kind of change shows who, when, before and after, and it filters."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from calls import script_services
from clients.models import Client
from reactivation.models import Offer, OfferTemplate, Policy
from reactivation.selectors.audit import AuditFilters, audit_list
from reactivation.services import admin as services
from reactivation.services.offers import offer_issue
from tests.factories import CaseFactory, ClientFactory, OfferTemplateFactory, TransactionFactory


def _entries(**filters):
    # In English, whatever language the last request through the test client left active.
    with translation.override("en"):
        return audit_list(filters=AuditFilters(**filters)).entries


def _change(entry, field_label):
    return next(c for c in entry.changes if c.field == field_label)


@pytest.fixture
def admin_client(login, admin_user):
    return login(admin_user)


def _policy_post(policy, **changes):
    data = {
        name: getattr(policy, name)
        for name in [
            "sleeping_after",
            "flag_after",
            "default_cycle_days",
            "prior_strength",
            "min_cycle_days",
            "max_cycle_days",
            "excluded_classes",
            "cooldown_days",
            "cost_per_call",
            "case_lifetime_days",
            "attempt_cap",
            "control_share",
        ]
    }
    data.update(changes)
    return data


def test_a_policy_change_records_who_and_before_and_after(admin_client, admin_user):
    policy = Policy.objects.get(segment__isnull=True)
    response = admin_client.post(
        reverse("settings_policy_edit", args=[policy.pk]), _policy_post(policy, flag_after="4.5")
    )
    assert response.status_code == 302
    entry = _entries(kind="policy")[0]
    assert entry.user == admin_user
    assert entry.action == "~"
    change = _change(entry, "lost after, cycles")
    assert (change.before, change.after) == ("3.0", "4.5")


def test_a_new_script_version_records_the_changed_steps(admin_user):
    steps = [{"key": "hello", "title": "", "text": "Hello", "choices": []}]
    script = script_services.script_create(name="S", segment=None, steps=steps, user=admin_user)
    script_services.script_version_create(
        script=script, steps=[dict(steps[0], text="Good day")], user=admin_user, note="warmer"
    )
    entry = _entries(kind="script_version")[0]
    assert entry.user == admin_user
    assert entry.reason == "warmer"
    assert _change(entry, "version").before == "1"
    step = _change(entry, "step “hello”")
    assert "Hello" in step.before and "Good day" in step.after


def test_an_offer_template_change_is_recorded(admin_client, admin_user):
    admin_client.post(
        reverse("settings_offer_create"),
        {
            "name": "Coffee 10%",
            "kind": "percent",
            "value": "10",
            "validity_days": "14",
            "cost": "300",
            "description": "",
            "active": "on",
        },
    )
    template = OfferTemplate.objects.get(name="Coffee 10%")
    admin_client.post(
        reverse("settings_offer_edit", args=[template.pk]),
        {
            "name": "Coffee 15%",
            "kind": "percent",
            "value": "15",
            "validity_days": "14",
            "cost": "300",
            "description": "",
            "active": "on",
        },
    )
    created, changed = reversed(_entries(kind="offer_template"))
    assert created.action == "+" and changed.action == "~"
    assert changed.user == admin_user
    assert (_change(changed, "value").before, _change(changed, "value").after) == ("10.00", "15.00")


def test_a_plan_change_is_recorded(admin_client, admin_user, alice):
    admin_client.post(
        reverse("settings_plan_edit", args=[alice.pk]),
        {"calls": "50", "reached": "20", "offers": "10", "wins": "4"},
    )
    admin_client.post(
        reverse("settings_plan_edit", args=[alice.pk]),
        {"calls": "60", "reached": "20", "offers": "10", "wins": "4"},
    )
    entry = _entries(kind="weekly_plan")[0]
    assert entry.user == admin_user
    assert [(c.field, c.before, c.after) for c in entry.changes] == [("calls", "50", "60")]


def test_a_case_assignment_is_recorded(admin_client, admin_user, alice, bob):
    case = CaseFactory(client=ClientFactory(), assigned_to=alice, assigned_on=dt.date(2026, 11, 2))
    response = admin_client.post(reverse("case_assign", args=[case.pk]), {"manager": bob.pk})
    assert response.status_code == 302
    entry = _entries(kind="case", object_id=case.pk)[0]
    assert entry.user == admin_user
    change = _change(entry, "manager")
    assert (change.before, change.after) == ("Alice Manager", "Bob Colleague")


def test_cases_handed_over_by_a_leaving_manager_are_recorded(admin_client, admin_user, alice, bob):
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
            "reassign-to": bob.pk,  # "may log in" left unticked: she left
        },
    )
    assert response.status_code == 302
    case.refresh_from_db()
    alice.refresh_from_db()
    assert case.assigned_to == bob and not alice.is_active
    entry = _entries(kind="case", object_id=case.pk)[0]
    assert entry.user == admin_user
    assert (_change(entry, "manager").before, _change(entry, "manager").after) == (
        "Alice Manager",
        "Bob Colleague",
    )
    assert entry.reason


def test_an_issued_offer_is_recorded(alice):
    case = CaseFactory(
        client=ClientFactory(manager=alice), assigned_to=alice, assigned_on=dt.date(2026, 11, 2)
    )
    template = OfferTemplateFactory()
    with time_machine.travel(dt.datetime(2026, 11, 3, 12, tzinfo=dt.UTC)):
        offer = offer_issue(case=case, template=template, by=alice, today=dt.date(2026, 11, 3))
    entry = _entries(kind="offer", object_id=offer.pk)[0]
    assert entry.action == "+"
    assert _change(entry, "code").after == offer.code
    assert Offer.objects.filter(pk=offer.pk).exists()


def test_client_data_changes_and_deletions_are_recorded(admin_client, admin_user):
    client = ClientFactory(name="Old name", external_id="C-1")
    row = TransactionFactory(client=client, date=dt.date(2026, 3, 1), amount=Decimal("500"))
    client.name = "New name"
    client._history_user = admin_user
    client.save()
    entry = _entries(kind="client", object_id=client.pk)[0]
    assert (_change(entry, "name").before, _change(entry, "name").after) == ("Old name", "New name")

    response = admin_client.post(reverse("settings_transaction_delete", args=[row.pk]))
    assert response.status_code == 302
    entry = _entries(kind="client", object_id=client.pk)[0]
    assert entry.user == admin_user
    assert "2026-03-01" in entry.reason and "500" in entry.reason

    response = admin_client.post(
        reverse("settings_client_delete", args=[client.pk]), {"confirm": "C-1"}
    )
    assert response.status_code == 302
    assert not Client.objects.filter(pk=client.pk).exists()
    entry = _entries(kind="client", object_id=client.pk)[0]
    assert entry.action == "-" and entry.user == admin_user
    assert _change(entry, "name").before == "New name"


def test_filters_by_kind_user_action_and_date(admin_user, owner):
    with time_machine.travel(dt.datetime(2026, 10, 1, 9, tzinfo=dt.UTC)):
        policy = Policy.objects.get(segment__isnull=True)
        policy.flag_after = 4.0
        services.policy_save(policy=policy, user=admin_user)
    with time_machine.travel(dt.datetime(2026, 10, 5, 9, tzinfo=dt.UTC)):
        template = OfferTemplateFactory()
        template._history_user = owner
        template.name = "Renamed"
        template.save()
    assert {e.kind for e in _entries(kind="policy")} == {"policy"}
    assert all(e.user == owner for e in _entries(user_id=owner.pk))
    assert _entries(user_id=owner.pk)
    assert {e.action for e in _entries(action="~")} == {"~"}
    october_first = _entries(date_from=dt.date(2026, 10, 1), date_to=dt.date(2026, 10, 1))
    # The change, and the baseline of the migration-made default policy recorded just before it.
    assert [(e.kind, e.action) for e in october_first] == [("policy", "~"), ("policy", "+")]
    later = _entries(date_from=dt.date(2026, 10, 2))
    assert [(e.kind, e.action) for e in later] == [("offer_template", "~"), ("offer_template", "+")]


def test_the_audit_page_lists_and_filters_with_few_queries(
    admin_client, admin_user, django_assert_max_num_queries
):
    for number in range(30):
        template = OfferTemplateFactory(name=f"T{number}")
        template._history_user = admin_user
        template.value = Decimal("20")
        template.save()
    CaseFactory.create_batch(5)
    with django_assert_max_num_queries(25):
        response = admin_client.get(reverse("settings_audit"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "T29" in body
    assert 'rel="next"' in body
    response = admin_client.get(
        reverse("settings_audit"), {"kind": "case"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "T29" not in response.content.decode()
    assert "<html" not in response.content.decode()


def test_deleting_a_client_needs_the_external_id(admin_client):
    client = ClientFactory(external_id="C-9")
    response = admin_client.post(
        reverse("settings_client_delete", args=[client.pk]), {"confirm": "C-8"}
    )
    assert response.status_code == 200
    assert Client.objects.filter(pk=client.pk).exists()
    assert "C-8" in response.content.decode()


def test_deleting_a_transaction_recomputes_the_client(admin_client):
    client = ClientFactory()
    TransactionFactory(client=client, date=dt.date(2026, 1, 1), amount=Decimal("100"))
    last = TransactionFactory(client=client, date=dt.date(2026, 2, 1), amount=Decimal("200"))
    from clients import stats

    stats.refresh_clients(client_ids=[client.pk], as_of=dt.date(2026, 3, 1))
    client.refresh_from_db()
    assert client.purchase_days == 2
    admin_client.post(reverse("settings_transaction_delete", args=[last.pk]))
    client.refresh_from_db()
    assert client.purchase_days == 1
    assert client.last_purchase_on == dt.date(2026, 1, 1)
    assert client.revenue == Decimal("100")


def test_a_manager_has_no_way_to_delete(login, alice):
    client = ClientFactory(manager=alice)
    row = TransactionFactory(client=client)
    user_client = login(alice)
    assert (
        user_client.post(
            reverse("settings_client_delete", args=[client.pk]), {"confirm": client.external_id}
        ).status_code
        == 403
    )
    assert (
        user_client.post(reverse("settings_transaction_delete", args=[row.pk])).status_code == 403
    )
    assert Client.objects.filter(pk=client.pk).exists()


def test_the_data_administration_leaves_deleting_transactions_to_the_client_card(login, admin_user):
    admin_user.is_superuser = True
    admin_user.is_staff = True
    admin_user.save()
    row = TransactionFactory()
    response = login(admin_user).post(
        f"/admin/clients/transaction/{row.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 403
    row.refresh_from_db()


def test_claim_and_reassignment_are_in_the_case_history(alice, bob, admin_user):
    from reactivation.services.cases import case_claim, cases_reassign
    from tests.factories import CaseFactory

    case = CaseFactory()
    case_claim(case_id=case.pk, user=alice)
    latest = case.history.order_by("-history_id").first()
    assert (latest.assigned_to_id, latest.history_user_id, latest.history_type) == (
        alice.pk,
        alice.pk,
        "~",
    )
    cases_reassign(case_ids=[case.pk], manager=bob)
    assert case.history.order_by("-history_id").first().assigned_to_id == bob.pk
