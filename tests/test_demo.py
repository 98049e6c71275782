"""The demo business: believable, and the same for the same seed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from clients.models import Client, Segment, Transaction
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
    """Remove everything the demo writes about clients, so a second demo starts clean."""
    from calls.models import Call
    from reactivation import models as rm

    for model in (
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
    ):
        model.objects.all().delete()


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
