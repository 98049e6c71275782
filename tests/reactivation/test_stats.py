"""Client statistics: the set-based SQL path gives exactly the rows of the per-client reference
path, on SQLite and on PostgreSQL alike (the suite runs on both)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from clients.models import STATS_FIELDS, Client, ClientStats, Status
from clients.stats import (
    rebuild_stats,
    refresh_clients,
    refresh_clients_orm,
    restatus_due_chunk,
    restatus_sql,
)
from reactivation.models import Policy
from tests.factories import ClientFactory, SegmentFactory, TransactionFactory

AS_OF = dt.date(2026, 11, 23)
FIELDS = list(STATS_FIELDS)


def _rows() -> dict[int, tuple]:
    stats = [f"stats__{name}" for name in FIELDS]
    return {row[0]: row[1:] for row in Client.objects.order_by("pk").values_list("pk", *stats)}


def _random_base(seed: int = 7, clients: int = 60) -> None:
    rng = random.Random(seed)
    coffee = SegmentFactory(code="coffee")
    Policy.objects.create(
        segment=coffee,
        default_cycle_days=21,
        min_cycle_days=4,
        max_cycle_days=120,
        prior_strength=2.5,
    )
    furniture = SegmentFactory(code="furniture")
    Policy.objects.create(
        segment=furniture, default_cycle_days=540, sleeping_after=1.5, flag_after=2.2
    )
    plain = SegmentFactory(code="plain")  # no policy of its own: the default one
    for index in range(clients):
        client = ClientFactory(segment=rng.choice([coffee, furniture, plain, None]))
        for _ in range(rng.choice([0, 1, 1, 2, 3, 5, 8, 13])):
            date = AS_OF - dt.timedelta(days=rng.randint(0, 900))
            amount = rng.choice(
                [Decimal("1200.50"), Decimal("-300.00"), Decimal("0"), Decimal("99.99")]
            )
            TransactionFactory(
                client=client,
                date=date,
                amount=amount,
                margin=(amount / 4).quantize(Decimal("0.01")) if index % 3 else None,
            )
            if rng.random() < 0.2:  # a second line on the same day is the same purchase day
                TransactionFactory(client=client, date=date, amount=Decimal("10.00"))


@pytest.mark.django_db
def test_set_based_refresh_gives_the_same_rows_as_the_per_client_path():
    _random_base()
    refresh_clients_orm(client_ids=None, as_of=AS_OF)
    expected = _rows()
    ClientStats.objects.update(
        first_purchase_on=None,
        last_purchase_on=None,
        purchase_days=0,
        revenue=0,
        margin=0,
        cycle_days=None,
        status=Status.NONE,
        due_on=None,
    )

    changed = refresh_clients(client_ids=None, as_of=AS_OF)

    assert _rows() == expected
    assert changed == sum(1 for row in expected.values() if row[2] > 0 or row[3] != 0)
    assert {row[6] for row in expected.values()} >= {"none", "active", "sleeping", "lost"}


@pytest.mark.django_db
def test_refresh_of_some_clients_leaves_the_others_alone():
    _random_base(seed=3, clients=20)
    ids = list(Client.objects.order_by("pk").values_list("pk", flat=True))
    refresh_clients(client_ids=ids[:10], as_of=AS_OF)
    untouched = Client.objects.filter(pk__in=ids[10:])
    assert set(untouched.values_list("stats__status", flat=True)) == {Status.NONE}
    assert set(untouched.values_list("stats__purchase_days", flat=True)) == {0}

    refresh_clients_orm(client_ids=ids[:10], as_of=AS_OF)  # nothing left to change
    assert refresh_clients(client_ids=ids[:10], as_of=AS_OF) == 0


@pytest.mark.django_db
def test_a_second_refresh_writes_nothing():
    _random_base(seed=5, clients=30)
    refresh_clients(client_ids=None, as_of=AS_OF)
    assert refresh_clients(client_ids=None, as_of=AS_OF) == 0
    assert refresh_clients_orm(client_ids=None, as_of=AS_OF) == 0


@pytest.mark.django_db
def test_rebuild_as_of_a_past_date_counts_only_transactions_up_to_it():
    client = ClientFactory()
    TransactionFactory(client=client, date=dt.date(2026, 1, 10))
    TransactionFactory(client=client, date=dt.date(2026, 2, 10))
    TransactionFactory(client=client, date=dt.date(2026, 9, 1))

    rebuild_stats(as_of=dt.date(2026, 3, 1))

    client.refresh_from_db()
    assert client.purchase_days == 2
    assert client.last_purchase_on == dt.date(2026, 2, 10)
    assert client.revenue == Decimal("2000.00")
    # (30 + 31) / (1 + 2 - 1) = 30.5 days; 19 days since: active until day 30.
    assert client.cycle_days == pytest.approx(30.5)
    assert client.status == Status.ACTIVE
    assert client.due_on == dt.date(2026, 2, 10) + dt.timedelta(days=31)


@pytest.mark.django_db
def test_returns_and_zero_amounts_are_not_purchase_days():
    client = ClientFactory()
    TransactionFactory(client=client, date=dt.date(2026, 10, 1), amount=Decimal("500"))
    TransactionFactory(client=client, date=dt.date(2026, 10, 5), amount=Decimal("-200"))
    TransactionFactory(client=client, date=dt.date(2026, 10, 9), amount=Decimal("0"))

    refresh_clients(client_ids=[client.pk], as_of=AS_OF)

    client.refresh_from_db()
    assert (client.purchase_days, client.first_purchase_on, client.last_purchase_on) == (
        1,
        dt.date(2026, 10, 1),
        dt.date(2026, 10, 1),
    )
    assert client.revenue == Decimal("300.00")


@pytest.mark.django_db
def test_a_client_whose_transactions_are_gone_has_no_status():
    client = ClientFactory()
    TransactionFactory(client=client, date=dt.date(2026, 10, 1))
    refresh_clients(client_ids=[client.pk], as_of=AS_OF)
    client.transactions.all().delete()

    refresh_clients(client_ids=[client.pk], as_of=AS_OF)

    client.refresh_from_db()
    assert (client.status, client.purchase_days, client.cycle_days, client.due_on) == (
        Status.NONE,
        0,
        None,
        None,
    )


@pytest.mark.django_db
def test_restatus_from_stored_aggregates_matches_a_full_refresh_at_a_later_date():
    _random_base(seed=11, clients=40)
    refresh_clients(client_ids=None, as_of=AS_OF)
    later = AS_OF + dt.timedelta(days=45)

    restatus_sql(client_ids=None, as_of=later)
    restated = _rows()
    refresh_clients_orm(client_ids=None, as_of=later)

    assert _rows() == restated


@pytest.mark.django_db
def test_restatus_due_chunk_takes_only_due_clients_and_reports_transitions():
    _random_base(seed=13, clients=40)
    refresh_clients(client_ids=None, as_of=AS_OF)
    later = AS_OF + dt.timedelta(days=20)
    due = set(Client.objects.filter(stats__due_on__lte=later).values_list("pk", flat=True))
    assert due

    changes = restatus_due_chunk(as_of=later, limit=1000)

    assert {client_id for client_id, _old, _new in changes} == due
    assert not Client.objects.filter(stats__due_on__lte=later).exists()
    for client_id, old, new in changes:
        client = Client.objects.get(pk=client_id)
        assert client.status == new
        assert old in {"active", "sleeping"}
    assert restatus_due_chunk(as_of=later, limit=1000) == []


def _schema() -> set[tuple[str, str]]:
    """The statistics table's indexes and constraints, by name and definition (PostgreSQL)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'clients_clientstats'"
        )
        indexes = set(cursor.fetchall())
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'clients_clientstats'::regclass"
        )
        constraints = {
            (name, definition.replace(" NOT VALID", "")) for name, definition in cursor.fetchall()
        }
        cursor.execute(
            "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger"
            " WHERE tgrelid = 'clients_clientstats'::regclass AND NOT tgisinternal"
        )
        return indexes | constraints | set(cursor.fetchall())


@pytest.mark.django_db
def test_rebuild_gives_the_rows_of_the_write_path_and_keeps_the_tables_schema():
    from django.db import connection

    _random_base(seed=11, clients=40)
    refresh_clients(client_ids=None, as_of=AS_OF)
    expected = _rows()
    schema = _schema() if connection.vendor == "postgresql" else None
    ClientStats.objects.update(status=Status.NONE, due_on=None, purchase_days=0)
    ClientStats.objects.filter(client_id__in=list(expected)[:5]).delete()  # rows go missing too

    written = rebuild_stats(as_of=AS_OF)

    assert _rows() == expected
    assert ClientStats.objects.count() == Client.objects.count()
    if schema is not None:
        assert written == len(expected)
        assert _schema() == schema  # the swapped-in table is the one the migrations made
        # and it still guards its rows: a client's statistics go with the client.
        client = Client.objects.order_by("pk").first()
        client.delete()
        assert not ClientStats.objects.filter(client_id=client.pk).exists()


@pytest.mark.django_db
def test_a_client_made_through_the_orm_has_an_empty_statistics_row():
    client = ClientFactory()

    stats = ClientStats.objects.get(client=client)
    assert (stats.status, stats.purchase_days, stats.cycle_days, stats.due_on) == (
        Status.NONE,
        0,
        None,
        None,
    )
    assert client.status == Status.NONE


@pytest.mark.postgres  # planner settings are PostgreSQL's; SQLite has none to leave behind
@pytest.mark.django_db
def test_a_rebuild_leaves_the_planner_settings_of_its_transaction_as_they_were():
    from django.db import connection, transaction

    _random_base(seed=13, clients=10)
    with transaction.atomic(), connection.cursor() as cursor:
        settings = "SELECT current_setting('work_mem'), current_setting('jit'), current_setting('enable_hashjoin')"
        cursor.execute(settings)
        before = cursor.fetchone()
        rebuild_stats(as_of=AS_OF)
        cursor.execute(settings)
        assert cursor.fetchone() == before
