"""The status tally: clients per segment and status, read without counting the base, equal to
a direct count after every kind of write (PostgreSQL keeps it by triggers; SQLite counts); and
the statistics rows' copy of their client's segment, kept on both."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, F

from clients.models import Client, ClientStats, Segment, Status, StatusTally, Transaction
from clients.stats import rebuild_stats, refresh_clients, restatus_due_chunk
from clients.tally import status_counts
from tests.factories import ClientFactory, SegmentFactory, TransactionFactory

AS_OF = dt.date(2026, 11, 23)


def _counted() -> dict[tuple[int | None, str], int]:
    rows = ClientStats.objects.values("client__segment_id", "status").annotate(n=Count("pk"))
    return {(row["client__segment_id"], row["status"]): row["n"] for row in rows.order_by()}


def _check() -> None:
    """The tally equals a direct count, and every statistics row has its client's segment."""
    assert status_counts() == _counted()
    stale = ClientStats.objects.exclude(segment_id=F("client__segment_id")).exclude(
        segment_id__isnull=True, client__segment_id__isnull=True
    )
    assert not stale.exists()


def _base() -> tuple[Segment, Segment]:
    coffee, tea = SegmentFactory(code="coffee"), SegmentFactory(code="tea")
    for index in range(12):
        client = ClientFactory(segment=[coffee, tea, None][index % 3])
        for gap in range(index % 4):
            TransactionFactory(
                client=client,
                date=AS_OF - dt.timedelta(days=30 * gap + 5 * index),
                amount=Decimal("100.00"),
            )
    refresh_clients(client_ids=None, as_of=AS_OF)
    return coffee, tea


@pytest.mark.django_db
def test_the_tally_equals_a_direct_count_after_every_kind_of_write():
    coffee, tea = _base()
    _check()

    # Statuses move with time: the nightly re-status of the due clients.
    later = AS_OF + dt.timedelta(days=200)
    restatus_due_chunk(as_of=later, limit=1000)
    _check()

    # A purchase brings a client back; a new client arrives through the ORM.
    client = Client.objects.filter(stats__status=Status.LOST).first()
    TransactionFactory(client=client, date=later, amount=Decimal("50.00"))
    refresh_clients(client_ids=[client.pk], as_of=later)
    ClientFactory(segment=tea)
    _check()

    # Clients change segment one by one and all at once, and leave their segment.
    client.segment = tea
    client.save()
    Client.objects.filter(segment=coffee).update(segment=tea)
    Client.objects.filter(pk__in=Client.objects.filter(segment=tea).values("pk")[:2]).update(
        segment=None
    )
    _check()

    # A copy gone wrong (written around the engine) is put right by the next refresh.
    ClientStats.objects.filter(client=client).update(segment_id=None)
    refresh_clients(client_ids=[client.pk], as_of=later)
    _check()

    # Clients and their statistics are deleted; the whole table is written afresh.
    Client.objects.filter(pk__in=Client.objects.order_by("pk").values("pk")[:3]).delete()
    _check()
    Transaction.objects.filter(client__in=Client.objects.order_by("pk")[:2]).delete()
    rebuild_stats(as_of=later)
    _check()
    _check()  # a second read of the same state


@pytest.mark.django_db
@pytest.mark.postgres  # the triggers are PostgreSQL's; SQLite counts each time
def test_a_read_folds_the_tally_into_a_row_per_segment_and_status():
    _base()
    ClientStats.objects.update(status=Status.ACTIVE)
    ClientStats.objects.update(status=Status.LOST)
    assert StatusTally.objects.count() > 0

    counts = status_counts()

    pairs = {(row.segment_id, row.status) for row in StatusTally.objects.all()}
    assert StatusTally.objects.count() == len(pairs) == len(counts)
    assert not StatusTally.objects.filter(recount=True).exists()
    assert counts == _counted()


@pytest.mark.django_db
@pytest.mark.postgres
def test_a_rebuild_asks_for_a_recount_and_its_table_keeps_the_triggers():
    _base()
    status_counts()
    rebuild_stats(as_of=AS_OF + dt.timedelta(days=400))
    assert StatusTally.objects.filter(recount=True).exists()
    assert status_counts() == _counted()
    # The swapped-in table still tells the tally what changes.
    ClientStats.objects.update(status=Status.SLEEPING)
    assert status_counts() == _counted()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'clients_clientstats'::regclass"
            " AND NOT tgisinternal"
        )
        assert cursor.fetchone()[0] == 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
@pytest.mark.parametrize("recount", [False, True], ids=["fold", "recount"])
def test_a_write_committed_after_a_read_began_is_counted_by_the_next_read(recount):
    import threading

    from django.db import transaction

    from clients.tally import recount_later

    _base()
    status_counts()
    if recount:
        with connection.cursor() as cursor:
            recount_later(cursor)
    before = _counted()
    written, release = threading.Event(), threading.Event()

    def writer() -> None:
        try:
            with transaction.atomic():
                ClientStats.objects.exclude(status=Status.LOST).update(status=Status.LOST)
                written.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    assert written.wait(10)
    assert status_counts() == before  # the writer has not committed: nothing of it is seen
    release.set()
    thread.join(10)

    assert _counted() != before
    assert status_counts() == _counted()
