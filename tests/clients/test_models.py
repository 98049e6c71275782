"""The client, transaction and segment rows and the invariants the database itself enforces."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from clients.models import Client, ClientStats, Status, Transaction
from tests.factories import ClientFactory, SegmentFactory, TransactionFactory

pytestmark = pytest.mark.django_db


def test_external_id_is_unique():
    ClientFactory(external_id="C1")
    with pytest.raises(IntegrityError), transaction.atomic():
        ClientFactory(external_id="C1")


def test_transaction_identity_is_unique():
    client = ClientFactory()
    TransactionFactory(client=client, identity="id:42")
    with pytest.raises(IntegrityError), transaction.atomic():
        TransactionFactory(client=client, identity="id:42")


def test_first_purchase_cannot_follow_last():
    with pytest.raises(IntegrityError), transaction.atomic():
        ClientFactory(first_purchase_on=dt.date(2026, 5, 2), last_purchase_on=dt.date(2026, 5, 1))


def test_purchase_days_cannot_be_negative():
    client = ClientFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ClientStats.objects.filter(client=client).update(purchase_days=-1)


def test_cycle_must_be_positive():
    with pytest.raises(IntegrityError), transaction.atomic():
        ClientFactory(cycle_days=0)


def test_status_must_be_a_known_one():
    client = ClientFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ClientStats.objects.filter(client=client).update(status="gone")


def test_abc_class_must_be_a_b_c_or_empty():
    client = ClientFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Client.objects.filter(pk=client.pk).update(abc_class="D")


def test_money_is_kept_exactly():
    client = ClientFactory()
    TransactionFactory(client=client, amount=Decimal("0.10"))
    TransactionFactory(client=client, amount=Decimal("0.20"))
    amounts = Transaction.objects.filter(client=client).values_list("amount", flat=True)
    assert sum(amounts) == Decimal("0.30")


def test_new_client_has_no_status_until_a_purchase():
    client = ClientFactory()
    assert client.status == Status.NONE
    assert client.status_on(dt.date(2026, 1, 1), sleeping_after=1.0, flag_after=3.0) == Status.NONE


def test_status_on_reads_the_row_and_a_date():
    client = ClientFactory(
        first_purchase_on=dt.date(2026, 1, 1),
        last_purchase_on=dt.date(2026, 3, 1),
        purchase_days=3,
        cycle_days=30.0,
    )
    assert (
        client.status_on(dt.date(2026, 3, 31), sleeping_after=1.0, flag_after=3.0) == Status.ACTIVE
    )
    assert (
        client.status_on(dt.date(2026, 4, 1), sleeping_after=1.0, flag_after=3.0) == Status.SLEEPING
    )
    assert client.status_on(dt.date(2026, 5, 31), sleeping_after=1.0, flag_after=3.0) == Status.LOST
    assert client.days_past_due(dt.date(2026, 6, 9), flag_after=3.0) == 10


def test_segment_without_fitted_parameters_has_no_model():
    segment = SegmentFactory()
    assert not segment.has_model
    segment.model_r, segment.model_alpha, segment.model_a, segment.model_b = 0.2, 4.0, 0.8, 2.4
    assert segment.has_model
