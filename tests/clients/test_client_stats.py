"""Every client has a statistics row, whichever path made the client."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from clients import services
from clients.models import Client, ClientStats, Status
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


def without_stats() -> list[str]:
    return list(Client.objects.filter(stats__isnull=True).values_list("external_id", flat=True))


def test_a_client_saved_through_the_orm_gets_an_empty_row():
    client = ClientFactory()

    assert without_stats() == []
    assert client.statistics.status == Status.NONE
    assert client.purchase_days == 0


def test_clients_created_by_a_clients_file_get_rows(tmp_path):
    path = tmp_path / "clients.csv"
    path.write_text("client;name\nC1;Анна\nC2;Борис\n", encoding="utf-8")

    result = services.clients_import(path=path)

    assert result.ok and result.created == 2
    assert without_stats() == []
    assert set(ClientStats.objects.values_list("status", flat=True)) == {Status.NONE}


def test_clients_named_by_transactions_get_rows_with_their_figures(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("client;date;amount\nC1;2026-02-01;100\nC2;2026-02-02;0\n", encoding="utf-8")

    with time_machine.travel(dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC), tick=False):
        result = services.transactions_import(path=path)

    assert result.ok and result.clients_created == 2
    assert without_stats() == []
    assert Client.objects.get(external_id="C1").purchase_days == 1
    assert Client.objects.get(external_id="C2").status == Status.NONE


def test_a_client_without_a_row_reads_as_no_purchases():
    client = ClientFactory()
    ClientStats.objects.filter(client=client).delete()
    client = Client.objects.get(pk=client.pk)

    assert (client.status, client.purchase_days, client.last_purchase_on) == (Status.NONE, 0, None)
