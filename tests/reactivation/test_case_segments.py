"""Each case's copy of its client's segment, which my week and the pool filter by: set when the
case opens, and moved by the client table's trigger when the client's segment changes,
whatever writes it (a save, a set-wise update, an import)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from clients import services as client_services
from clients.models import Client
from clients.stats import refresh_clients
from reactivation.models import Case
from reactivation.services.gate import cases_open_for_lost
from tests.factories import CaseFactory, ClientFactory, SegmentFactory, TransactionFactory
from tests.reactivation.queue_helpers import NOW, open_case, page_ids

pytestmark = pytest.mark.django_db


def segment_of(case: Case) -> int | None:
    return Case.objects.values_list("segment_id", flat=True).get(pk=case.pk)


def test_the_gate_opens_a_case_with_its_clients_segment():
    coffee = SegmentFactory(code="coffee")
    as_of = dt.date(2026, 11, 23)
    client = ClientFactory(segment=coffee)
    TransactionFactory(client=client, date=as_of - dt.timedelta(days=200), amount=Decimal("1000"))
    refresh_clients(client_ids=[client.pk], as_of=as_of)

    cases_open_for_lost(as_of=as_of, client_ids=[client.pk])

    assert Case.objects.get(client=client).segment_id == coffee.pk


def test_a_case_saved_without_a_segment_takes_its_clients():
    coffee = SegmentFactory(code="coffee")
    case = CaseFactory(client=ClientFactory(segment=coffee))
    assert segment_of(case) == coffee.pk
    unsegmented = CaseFactory(client=ClientFactory(segment=None))
    assert segment_of(unsegmented) is None


def test_saving_a_client_moves_their_cases_to_the_new_segment_and_back_to_none():
    coffee, tea = SegmentFactory(code="coffee"), SegmentFactory(code="tea")
    client = ClientFactory(segment=coffee)
    open_one = CaseFactory(client=client)
    closed_one = CaseFactory(
        client=client, status=Case.Status.DECLINED, closed_on=dt.date(2026, 11, 5)
    )
    other = CaseFactory(client=ClientFactory(segment=coffee))

    client.segment = tea
    client.save()
    assert (segment_of(open_one), segment_of(closed_one), segment_of(other)) == (
        tea.pk,
        tea.pk,
        coffee.pk,
    )

    client.segment = None
    client.save(update_fields=["segment"])
    assert (segment_of(open_one), segment_of(closed_one)) == (None, None)


def test_a_set_wise_update_moves_the_cases_of_the_clients_it_changes():
    coffee, tea = SegmentFactory(code="coffee"), SegmentFactory(code="tea")
    first, second = ClientFactory(segment=coffee), ClientFactory(segment=None)
    first_case, second_case = CaseFactory(client=first), CaseFactory(client=second)
    untouched = CaseFactory(client=ClientFactory(segment=coffee))

    Client.objects.filter(pk__in=[first.pk, second.pk]).update(segment=tea)
    assert (segment_of(first_case), segment_of(second_case), segment_of(untouched)) == (
        tea.pk,
        tea.pk,
        coffee.pk,
    )

    Client.objects.filter(pk=first.pk).update(segment=None)
    assert (segment_of(first_case), segment_of(second_case)) == (None, tea.pk)


def test_an_update_of_other_columns_leaves_the_copy_alone():
    coffee = SegmentFactory(code="coffee")
    client = ClientFactory(segment=coffee)
    case = CaseFactory(client=client)
    Case.objects.filter(pk=case.pk).update(segment=None)  # out of step, on purpose

    Client.objects.filter(pk=client.pk).update(abc_class="A")  # as the weekly ABC run does
    client.name = "Renamed"
    client.save()  # every column, the segment as it was

    assert segment_of(case) is None


def test_a_clients_file_moves_their_cases_and_the_week_filter_follows(tmp_path, alice, login):
    tea = SegmentFactory(code="tea", name="Чай")
    case = open_case(manager=alice)
    case.client.external_id = "K-1"
    case.client.save(update_fields=["external_id"])
    open_case(manager=alice)
    path = tmp_path / "clients.csv"
    path.write_text("client;segment\nK-1;tea\n", encoding="utf-8")

    client_services.clients_import(path=path)

    assert segment_of(case) == tea.pk
    with time_machine.travel(NOW, tick=False):
        assert page_ids(login(alice).get("/queue/", {"segment": tea.pk})) == [case.pk]
