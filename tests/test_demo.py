"""The demo business: believable, and the same for the same seed."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from clients.models import Client, Segment, Transaction
from reactivation.demo import FIRST_NAMES, _name
from reactivation.roles import Role

pytestmark = pytest.mark.django_db


def snapshot() -> dict:
    return {
        "clients": list(
            Client.objects.order_by("external_id").values_list(
                "external_id",
                "name",
                "phone",
                "segment__code",
                "manager__username",
                "stats__purchase_days",
                "stats__revenue",
                "stats__status",
                "stats__cycle_days",
                "stats__due_on",
            )
        ),
        "transactions": list(
            Transaction.objects.order_by("identity").values_list(
                "identity", "client__external_id", "date", "amount"
            )
        ),
    }


def wipe() -> None:
    """Remove everything the demo writes about clients, and start their ids again from 1, so a
    second demo starts as on a fresh base (which clients the control group holds out, and so
    which cases are called, depends on their ids)."""
    from django.core.management.color import no_style
    from django.db import connection

    from calls.models import Call
    from reactivation import models as rm

    models = (
        Call,
        rm.Offer,
        rm.Case,
        rm.QueueExclusion,
        rm.DailySnapshot,
        rm.PipelineRun,
        rm.CohortActivity,
        rm.ValueSnapshot,
        rm.CaseCohortDaily,
        rm.ManagerDaily,
        rm.ReasonDaily,
        Transaction,
        Client,
    )
    for model in models:
        model.objects.all().delete()
    sequences = [{"table": model._meta.db_table, "column": "id"} for model in models]
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_by_name_sql(no_style(), sequences):
            cursor.execute(statement)


def test_demo_prints_the_logins_of_every_role(capsys):
    call_command("demo", "--clients", "40", "--seed", "3")
    out = capsys.readouterr().out
    for username in ("admin", "owner", "manager1", "manager2", "manager3"):
        assert username in out
    assert "password" in out
    User = get_user_model()
    assert User.objects.filter(groups__name=Role.MANAGER).count() >= 3
    assert User.objects.filter(groups__name=Role.OWNER).exists()
    assert User.objects.filter(groups__name=Role.ADMIN).exists()


def test_demo_is_a_believable_business():
    call_command("demo", "--clients", "300", "--seed", "5")
    assert Client.objects.count() == 300
    assert Segment.objects.count() >= 3
    # Years of purchases, with clients in every status.
    first = Transaction.objects.order_by("date").first().date
    last = Transaction.objects.order_by("-date").first().date
    assert (last - first) > dt.timedelta(days=2 * 365)
    statuses = set(Client.objects.values_list("stats__status", flat=True))
    assert {"active", "sleeping", "lost"} <= statuses
    # Segments really have different rhythms.
    from django.db.models import Avg

    cycles = dict(
        Client.objects.filter(stats__purchase_days__gt=2)
        .values_list("segment__code")
        .annotate(Avg("stats__cycle_days"))
    )
    assert cycles["furniture"] > 5 * cycles["coffee"]
    # Some returns are there too, and they are not purchases.
    assert Transaction.objects.filter(amount__lt=0).exists()


def test_demo_is_deterministic_for_a_seed():
    wipe()  # ids from 1, as on a fresh base (PostgreSQL's sequences outlive earlier tests)
    call_command("demo", "--clients", "60", "--seed", "11")
    first = snapshot()
    wipe()
    call_command("demo", "--clients", "60", "--seed", "11")
    assert snapshot() == first
    wipe()
    call_command("demo", "--clients", "60", "--seed", "12")
    assert snapshot()["transactions"] != first["transactions"]


def test_demo_if_empty_leaves_an_existing_base_alone(capsys):
    call_command("demo", "--clients", "20", "--seed", "1")
    call_command("demo", "--clients", "20", "--seed", "1", "--if-empty")
    assert Client.objects.count() == 20
    assert "already has clients" in capsys.readouterr().out


def test_demo_refuses_a_silly_size():
    with pytest.raises(CommandError):
        call_command("demo", "--clients", "0")


def test_demo_has_weeks_of_calls_that_pay():
    """The replayed weeks are worked: calls on working days of several weeks, reasons, offers,
    purchases that redeem them, and wins credited to the calls; every manager has a plan."""
    from calls.models import Call
    from reactivation.demo_calls import DEMO_PLAN
    from reactivation.models import Case, Offer, WeeklyPlan

    call_command("demo", "--clients", "600", "--seed", "2")
    # This week's calls (the last two days) come on top; the history is before them.
    before = timezone.localdate() - dt.timedelta(days=2)
    history = Call.objects.filter(called_at__date__lt=before)
    days = {timezone.localdate(called) for called in history.values_list("called_at", flat=True)}
    assert len({day.isocalendar()[:2] for day in days}) >= 4
    assert all(day.weekday() < 5 for day in days)
    assert history.filter(outcome=Call.Outcome.REACHED, reason__isnull=False).exists()
    assert Offer.objects.filter(redeemed_on__isnull=False).exists()
    credited = Case.objects.filter(status=Case.Status.WON_BACK, credited_manager__isnull=False)
    assert credited.exists()
    managers = get_user_model().objects.filter(groups__name=Role.MANAGER)
    plans = WeeklyPlan.objects.filter(manager__in=managers)
    assert plans.count() == managers.count()
    assert {plan.calls for plan in plans} == {DEMO_PLAN["calls"]}


def test_demo_people_have_surnames_that_agree_with_their_first_names():
    women = {first for first, woman in FIRST_NAMES if woman}
    rng = np.random.default_rng(7)
    people = [n for n in (_name(rng, i) for i in range(400)) if "«" not in n]
    assert people
    for person in people:
        surname, first = person.split(" ")
        assert surname.endswith("а") == (first in women), person
