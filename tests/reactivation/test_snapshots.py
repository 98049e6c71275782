"""The daily snapshots: the nightly write and the reconstruction of history agree."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from clients.stats import refresh_clients
from reactivation.models import Case, CohortActivity, DailySnapshot, Policy, ValueSnapshot
from reactivation.services.history import ERR_BACKFILL_RANGE, snapshots_backfill
from reactivation.services.snapshots import snapshot_write
from tests.factories import CaseFactory, ClientFactory, SegmentFactory, TransactionFactory

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 6, 30)


@pytest.fixture
def base():
    """Coffee (default cycle 10 days, one prior gap): four clients with known histories."""
    coffee = SegmentFactory(code="coffee")
    Policy.objects.create(
        segment=coffee,
        default_cycle_days=10,
        prior_strength=1,
        min_cycle_days=1,
        max_cycle_days=100,
    )
    steady, sleepy, gone, newcomer = (ClientFactory(segment=coffee) for _ in range(4))
    ClientFactory(segment=coffee)  # never bought
    for day in (dt.date(2026, 6, 1), dt.date(2026, 6, 11), dt.date(2026, 6, 21)):
        TransactionFactory(client=steady, date=day, amount=Decimal("100"))
    # one purchase: cycle 10 days; 15 days later it is sleeping (10 < 15 <= 30)
    TransactionFactory(client=sleepy, date=dt.date(2026, 6, 15), amount=Decimal("200"))
    TransactionFactory(client=gone, date=dt.date(2026, 5, 1), amount=Decimal("300"))
    TransactionFactory(client=newcomer, date=AS_OF, amount=Decimal("50"))
    TransactionFactory(client=newcomer, date=AS_OF, amount=Decimal("-20"))
    refresh_clients(client_ids=None, as_of=AS_OF)
    return {
        "segment": coffee,
        "steady": steady,
        "sleepy": sleepy,
        "gone": gone,
        "newcomer": newcomer,
    }


def test_snapshot_write_counts_statuses_and_the_days_purchases(base):
    CaseFactory(client=base["gone"], opened_on=AS_OF)
    CaseFactory(client=base["sleepy"], opened_on=AS_OF, is_control=True)

    snapshot_write(as_of=AS_OF)

    row = DailySnapshot.objects.get(as_of=AS_OF, segment=base["segment"])
    assert (row.active, row.sleeping, row.lost, row.no_purchases) == (2, 1, 1, 1)
    assert row.revenue == Decimal("30.00")
    assert (row.purchases, row.buyers, row.new_clients) == (1, 1, 1)
    assert (row.cases_opened, row.cases_control, row.cases_won) == (1, 1, 0)
    whole = DailySnapshot.objects.get(as_of=AS_OF, segment=None)
    assert (whole.active, whole.sleeping, whole.lost, whole.revenue) == (2, 1, 1, Decimal("30.00"))


def test_the_row_without_a_segment_is_the_whole_base(base):
    loner = ClientFactory(segment=None)
    TransactionFactory(client=loner, date=AS_OF, amount=Decimal("70"))
    refresh_clients(client_ids=[loner.pk], as_of=AS_OF)

    snapshot_write(as_of=AS_OF)
    snapshots_backfill(start=AS_OF - dt.timedelta(days=3), end=AS_OF)

    whole = DailySnapshot.objects.get(as_of=AS_OF, segment=None)
    assert (whole.active, whole.buyers, whole.revenue) == (3, 2, Decimal("100.00"))
    assert DailySnapshot.objects.filter(as_of=AS_OF).count() == 2


def test_snapshot_write_twice_replaces_its_rows(base):
    snapshot_write(as_of=AS_OF)
    snapshot_write(as_of=AS_OF)

    assert DailySnapshot.objects.filter(as_of=AS_OF).count() == 2
    assert ValueSnapshot.objects.filter(as_of=AS_OF, segment=base["segment"]).count() == 4


def test_snapshot_write_counts_wins_of_the_day(base):
    CaseFactory(
        client=base["steady"],
        opened_on=dt.date(2026, 6, 1),
        status=Case.Status.WON_BACK,
        closed_on=AS_OF,
    )

    snapshot_write(as_of=AS_OF)

    assert DailySnapshot.objects.get(as_of=AS_OF, segment=base["segment"]).cases_won == 1


def test_backfill_reproduces_the_nightly_counts_for_the_same_day(base):
    snapshots_backfill(start=dt.date(2026, 4, 1), end=AS_OF)
    replayed = DailySnapshot.objects.get(as_of=AS_OF, segment=base["segment"])

    snapshot_write(as_of=AS_OF)
    nightly = DailySnapshot.objects.get(as_of=AS_OF, segment=base["segment"])

    fields = ("active", "sleeping", "lost", "no_purchases", "revenue", "buyers", "new_clients")
    assert [getattr(replayed, f) for f in fields] == [getattr(nightly, f) for f in fields]


def test_backfill_replays_statuses_day_by_day(base):
    snapshots_backfill(start=dt.date(2026, 4, 1), end=AS_OF)
    by_day = {row.as_of: row for row in DailySnapshot.objects.filter(segment=base["segment"])}

    assert DailySnapshot.objects.filter(segment=base["segment"]).count() == 91
    # 30 April: nobody has bought yet.
    assert (by_day[dt.date(2026, 4, 30)].active, by_day[dt.date(2026, 4, 30)].no_purchases) == (
        0,
        5,
    )
    # "gone" bought on 1 May, cycle 10: active to 11 May, sleeping to 31 May, lost from 1 June.
    assert by_day[dt.date(2026, 5, 11)].active == 1
    assert by_day[dt.date(2026, 5, 12)].sleeping == 1
    assert by_day[dt.date(2026, 5, 31)].sleeping == 1
    assert by_day[dt.date(2026, 6, 1)].lost == 1
    assert by_day[dt.date(2026, 6, 1)].new_clients == 1
    assert by_day[dt.date(2026, 6, 1)].revenue == Decimal("100.00")


def test_backfill_builds_the_cohort_table(base):
    snapshots_backfill(start=dt.date(2026, 4, 1), end=AS_OF)

    june = {
        row.cohort: row.clients
        for row in CohortActivity.objects.filter(month=dt.date(2026, 6, 1), segment=base["segment"])
    }
    assert june == {dt.date(2026, 6, 1): 3}
    may = CohortActivity.objects.get(month=dt.date(2026, 5, 1), segment=base["segment"])
    assert (may.cohort, may.clients) == (dt.date(2026, 5, 1), 1)


def test_backfill_rejects_an_inverted_range(db):
    with pytest.raises(ValueError, match=ERR_BACKFILL_RANGE):
        snapshots_backfill(start=AS_OF, end=AS_OF - dt.timedelta(days=1))


def test_value_snapshot_sums_expected_purchases_for_a_fitted_segment(base):
    segment = base["segment"]
    segment.model_r, segment.model_alpha, segment.model_a, segment.model_b = 0.5, 10.0, 0.8, 2.5
    segment.save()

    snapshot_write(as_of=AS_OF)

    rows = ValueSnapshot.objects.filter(as_of=AS_OF, segment=segment)
    assert sum(row.modelled_clients for row in rows) == 4
    assert sum(row.expected_purchases_90d for row in rows) > 0
    assert sum(row.clients for row in rows) == 5


def test_nightly_write_keeps_the_activity_tables(base, alice):
    from django.utils import timezone

    from calls.models import Call, Reason
    from reactivation.models import CaseCohortDaily, ManagerDaily, ReasonDaily

    reason = Reason.objects.create(code="t-moved", name="Moved")
    case = CaseFactory(
        client=base["gone"], opened_on=AS_OF - dt.timedelta(days=10), assigned_to=alice
    )
    Call.objects.create(
        case=case,
        client=case.client,
        manager=alice,
        outcome=Call.Outcome.REACHED,
        reason=reason,
        called_at=timezone.make_aware(dt.datetime(2026, 6, 22, 10, 0)),
    )

    snapshot_write(as_of=AS_OF)

    cohort = CaseCohortDaily.objects.get(day=case.opened_on)
    assert (cohort.flagged, cohort.contacted, cohort.reached, cohort.calls) == (1, 1, 1, 1)
    assert cohort.calls_cost == Decimal("50.00")
    day = ManagerDaily.objects.get(manager=alice)
    assert (day.day, day.calls, day.reached) == (dt.date(2026, 6, 22), 1, 1)
    assert ReasonDaily.objects.get(reason=reason).calls == 1
    untouched = CaseCohortDaily.objects.get(day=case.opened_on).pk

    # The next night writes only what moved: the case won back updates its day's row (the
    # same row), a case gone takes its row with it, and a new case adds one.
    Case.objects.filter(pk=case.pk).update(status=Case.Status.WON_BACK, closed_on=AS_OF)
    other = CaseFactory(client=base["sleepy"], opened_on=AS_OF - dt.timedelta(days=3))
    snapshot_write(as_of=AS_OF + dt.timedelta(days=1))
    rows = {row.day: row for row in CaseCohortDaily.objects.all()}
    assert rows[case.opened_on].pk == untouched and rows[case.opened_on].won == 1
    assert rows[other.opened_on].flagged == 1
    other.delete()
    snapshot_write(as_of=AS_OF + dt.timedelta(days=2))
    assert set(CaseCohortDaily.objects.values_list("day", flat=True)) == {case.opened_on}


def _cohorts() -> dict[tuple, int]:
    return {
        (row.cohort, row.month, row.segment_id): row.clients for row in CohortActivity.objects.all()
    }


def test_nightly_snapshots_keep_the_running_month_of_the_cohort_table_day_by_day(base):
    from reactivation.services.snapshots import cohorts_refresh

    segment = base["segment"]
    twice, returning = ClientFactory(segment=segment), ClientFactory(segment=None)
    TransactionFactory(client=twice, date=dt.date(2026, 6, 28), amount=Decimal("10"))
    TransactionFactory(client=twice, date=dt.date(2026, 6, 29), amount=Decimal("10"))
    TransactionFactory(client=returning, date=dt.date(2026, 5, 10), amount=Decimal("10"))
    TransactionFactory(client=returning, date=dt.date(2026, 6, 29), amount=Decimal("10"))
    TransactionFactory(client=base["steady"], date=dt.date(2026, 6, 28), amount=Decimal("10"))
    snapshots_backfill(start=dt.date(2026, 5, 1), end=dt.date(2026, 6, 27))

    for day in (dt.date(2026, 6, 28), dt.date(2026, 6, 29), AS_OF):
        refresh_clients(client_ids=None, as_of=day, until=day)
        snapshot_write(as_of=day)
    nightly = _cohorts()
    cohorts_refresh(start=dt.date(2026, 6, 1), end=AS_OF)

    assert nightly == _cohorts()
    june = dt.date(2026, 6, 1)
    assert nightly[(june, june, segment.pk)] == 4  # steady, sleepy, newcomer and twice, once
    assert nightly[(dt.date(2026, 5, 1), june, None)] == 1
    # A second write of the same day recounts the month instead of adding the day again.
    snapshot_write(as_of=AS_OF)
    assert _cohorts() == nightly


def test_the_value_table_is_weekly_and_the_first_snapshot_writes_one(base):
    from reactivation.services.pipeline import weekly_run

    snapshot_write(as_of=AS_OF - dt.timedelta(days=1))
    assert ValueSnapshot.objects.filter(as_of=AS_OF - dt.timedelta(days=1)).exists()

    snapshot_write(as_of=AS_OF)
    assert not ValueSnapshot.objects.filter(as_of=AS_OF).exists()

    counts = weekly_run(as_of=AS_OF)
    assert counts["values"] == ValueSnapshot.objects.filter(as_of=AS_OF).count() > 0
