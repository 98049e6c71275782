"""The backlog: clients lost before any night judged them get judged once, as the night would."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command

from clients.stats import refresh_clients
from reactivation.models import Case, QueueExclusion
from reactivation.services.backlog import backlog_count, backlog_queue
from tests.factories import CaseFactory, ClientFactory, TransactionFactory

AS_OF = dt.date(2026, 11, 23)
pytestmark = pytest.mark.django_db


def imported_lost(**kwargs):
    """A client whose imported history made them lost at once (one purchase 200 days ago)."""
    client = ClientFactory(**kwargs)
    TransactionFactory(client=client, date=AS_OF - dt.timedelta(days=200), amount=Decimal("900"))
    refresh_clients(client_ids=[client.pk], as_of=AS_OF)
    return client


def test_lost_clients_never_judged_get_a_case_or_a_reason_once():
    worth = imported_lost(abc_class="A")
    unwanted = imported_lost(do_not_contact=True)
    active = ClientFactory()
    TransactionFactory(client=active, date=AS_OF - dt.timedelta(days=3))
    refresh_clients(client_ids=[active.pk], as_of=AS_OF)
    assert backlog_count() == 2

    judged, result = backlog_queue(as_of=AS_OF, chunk_size=1)

    assert judged == 2
    assert (result.opened, result.excluded) == (1, {"do_not_contact": 1})
    assert Case.objects.get().client == worth
    assert QueueExclusion.objects.get().client == unwanted
    assert backlog_count() == 0
    assert backlog_queue(as_of=AS_OF) == (0, result.__class__())


def test_a_client_with_a_case_or_an_exclusion_in_the_past_is_not_in_the_backlog():
    had_case = imported_lost()
    CaseFactory(
        client=had_case, status=Case.Status.DECLINED, closed_on=AS_OF - dt.timedelta(days=9)
    )
    excluded = imported_lost()
    QueueExclusion.objects.create(client=excluded, as_of=AS_OF, reason="low_value")

    assert backlog_count() == 0


def test_the_command_counts_then_judges(capsys):
    imported_lost()

    call_command("queue_backlog", "--dry-run")
    assert "1 lost clients have never been judged" in capsys.readouterr().out
    call_command("queue_backlog", "--as-of", AS_OF.isoformat())

    assert "1 clients judged on 2026-11-23: 1 cases opened" in capsys.readouterr().out
    assert Case.objects.count() == 1


def test_an_admin_sees_the_backlog_and_judges_it_from_the_policies_page(
    admin_user, login, django_capture_on_commit_callbacks
):
    imported_lost()
    browser = login(admin_user)

    page = browser.get("/settings/policies/")
    assert "1 lost client was never judged" in page.content.decode()
    with (
        time_machine.travel(dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = browser.post("/settings/policies/backlog/")

    assert response.status_code == 302
    assert Case.objects.filter(opened_on=AS_OF).count() == 1
    assert "never judged" not in browser.get("/settings/policies/").content.decode()


def test_only_admins_may_judge_the_backlog(alice, owner, login):
    imported_lost()
    for user in (alice, owner):
        response = login(user).post("/settings/policies/backlog/")
        assert response.status_code in (403, 404)
    assert not Case.objects.exists()
