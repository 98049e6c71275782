"""ABC classes from the revenue share over the trailing window."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command

from clients.models import Client
from reactivation.models import BusinessSettings
from reactivation.services.abc import abc_recompute
from tests.factories import ClientFactory, TransactionFactory

AS_OF = dt.date(2026, 11, 23)


def _client_with_revenue(amount: str, *, days_ago: int = 30, **kwargs) -> Client:
    client = ClientFactory(**kwargs)
    TransactionFactory(
        client=client, date=AS_OF - dt.timedelta(days=days_ago), amount=Decimal(amount)
    )
    return client


@pytest.mark.django_db
def test_classes_follow_the_cumulative_revenue_share():
    big = _client_with_revenue("7000")  # 70% of 10 000: A
    second = _client_with_revenue("1500")  # revenue above it 70% < 80%: A
    third = _client_with_revenue("1000")  # above it 85%: B (< 95%)
    small = _client_with_revenue("500")  # above it 95%: C
    nothing = ClientFactory()
    old = _client_with_revenue("99999", days_ago=400)  # outside the 365-day window

    counts = abc_recompute(as_of=AS_OF)

    classes = {c.pk: c.abc_class for c in Client.objects.all()}
    assert classes[big.pk] == "A"
    assert classes[second.pk] == "A"
    assert classes[third.pk] == "B"
    assert classes[small.pk] == "C"
    assert classes[nothing.pk] == "C"
    assert classes[old.pk] == "C"
    assert counts == {"A": 2, "B": 1, "C": 3}


@pytest.mark.django_db
def test_a_pinned_class_is_kept():
    pinned = _client_with_revenue("10", abc_class="A", abc_pinned=True)
    _client_with_revenue("5000")

    abc_recompute(as_of=AS_OF)

    pinned.refresh_from_db()
    assert pinned.abc_class == "A"


@pytest.mark.django_db
def test_the_window_and_shares_come_from_the_business_settings():
    settings = BusinessSettings.load()
    settings.abc_window_days = 500
    settings.abc_a_share = 0.5
    settings.abc_b_share = 0.3
    settings.save()
    old = _client_with_revenue("6000", days_ago=450)
    recent = _client_with_revenue("4000")

    abc_recompute(as_of=AS_OF)

    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.abc_class, recent.abc_class) == ("A", "B")


@pytest.mark.django_db
def test_abc_command_prints_the_counts(capsys):
    _client_with_revenue("100")
    call_command("abc", "--as-of", AS_OF.isoformat())
    assert "A: 1" in capsys.readouterr().out
