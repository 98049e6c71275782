"""The nightly pipeline: ledger, idempotence, resume, catch-up, and the lifecycle steps."""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
import time_machine
from django.utils import timezone

from calls.models import Call, Reason, Script, ScriptVersion
from clients.models import Client
from clients.stats import refresh_clients
from reactivation.models import (
    BusinessSettings,
    Case,
    DailySnapshot,
    Offer,
    PipelineRun,
    Policy,
    QueueExclusion,
)
from reactivation.services import lifecycle, pipeline
from tests.factories import CaseFactory, ClientFactory, OfferTemplateFactory, TransactionFactory

D = dt.date(2026, 11, 23)


def client_lost_on(day: dt.date, **kwargs) -> Client:
    """A client with one purchase 91 days before ``day``: default cycle 30, lost after 90 days,
    so sleeping the day before and lost on ``day``."""
    client = ClientFactory(**kwargs)
    TransactionFactory(client=client, date=day - dt.timedelta(days=91), amount=Decimal("2000"))
    return client


def base(as_of: dt.date = D) -> list[Client]:
    clients = [client_lost_on(as_of + dt.timedelta(days=k)) for k in (0, 0, 1, 2, 3)]
    clients.append(client_lost_on(as_of, do_not_contact=True))
    refresh_clients(client_ids=None, as_of=as_of - dt.timedelta(days=1))
    return clients


def state() -> dict:
    """Every row the pipeline writes, for comparing two runs."""
    return {
        "clients": list(
            Client.objects.order_by("pk").values_list(
                "pk", "stats__status", "stats__due_on", "stats__cycle_days"
            )
        ),
        "cases": list(
            Case.objects.order_by("pk").values_list(
                "pk", "client_id", "status", "opened_on", "closed_on", "priority"
            )
        ),
        "exclusions": list(
            QueueExclusion.objects.order_by("pk").values_list("client_id", "as_of", "reason")
        ),
        "offers": list(Offer.objects.order_by("pk").values_list("pk", "status", "redeemed_on")),
        "snapshots": list(
            DailySnapshot.objects.order_by("pk").values_list(
                "as_of", "segment_id", "active", "sleeping", "lost"
            )
        ),
    }


@pytest.mark.django_db
def test_a_run_re_statuses_due_clients_and_opens_cases_for_the_newly_lost():
    clients = base()

    outcome = pipeline.nightly_run(as_of=D)

    assert outcome.outcome == pipeline.DONE
    lost_today = {clients[0].pk, clients[1].pk}
    assert set(Case.objects.values_list("client_id", flat=True)) == lost_today
    assert QueueExclusion.objects.get().client_id == clients[5].pk
    assert outcome.counts["newly_lost"] == 3
    assert outcome.counts["cases_opened"] == 2
    assert outcome.counts["excluded"] == {"do_not_contact": 1}
    run = PipelineRun.objects.get(as_of=D)
    assert run.state == "done"
    assert run.steps_done == pipeline.STEPS
    assert DailySnapshot.objects.filter(as_of=D).exists()
    assert not Client.objects.filter(stats__due_on__lte=D).exists()


@pytest.mark.django_db
def test_a_second_run_for_the_same_date_changes_nothing():
    base()
    pipeline.nightly_run(as_of=D)
    before = state()

    outcome = pipeline.nightly_run(as_of=D)

    assert outcome.outcome == pipeline.SKIPPED
    assert state() == before


@pytest.mark.django_db
def test_small_chunks_give_the_same_result_as_one_chunk():
    base()
    pipeline.nightly_run(as_of=D, chunk_size=1)
    assert Case.objects.count() == 2
    assert PipelineRun.objects.get(as_of=D).counts["restatused"] == 3  # due today


@pytest.mark.django_db
def test_catch_up_runs_the_missed_nights_in_order():
    clients = base()
    pipeline.nightly_run(as_of=D)  # then the server is down for three nights

    outcomes = pipeline.nightly_catch_up(until=D + dt.timedelta(days=3))

    assert [o.as_of for o in outcomes] == [D + dt.timedelta(days=k) for k in (1, 2, 3)]
    assert all(o.outcome == pipeline.DONE for o in outcomes)
    opened = dict(Case.objects.values_list("client_id", "opened_on"))
    assert opened[clients[2].pk] == D + dt.timedelta(days=1)
    assert opened[clients[3].pk] == D + dt.timedelta(days=2)
    assert opened[clients[4].pk] == D + dt.timedelta(days=3)
    assert pipeline.nightly_catch_up(until=D + dt.timedelta(days=3)) == []


@pytest.mark.django_db
def test_the_first_run_of_an_install_does_not_backfill():
    base()
    assert pipeline.missed_dates(until=D) == [D]


@pytest.mark.django_db
def test_a_failed_run_is_resumed_without_duplicates():
    base()
    with mock.patch.object(lifecycle, "offers_expire", side_effect=RuntimeError("disk full")):
        with pytest.raises(RuntimeError):
            pipeline.nightly_run(as_of=D)
    run = PipelineRun.objects.get(as_of=D)
    assert run.state == "failed"
    assert pipeline.STEP_RESTATUS in run.steps_done
    assert "disk full" in run.error

    outcome = pipeline.nightly_run(as_of=D)

    assert outcome.outcome == pipeline.DONE
    assert Case.objects.count() == 2
    assert outcome.counts["cases_opened"] == 2


@pytest.mark.django_db
def test_a_chunk_that_fails_leaves_its_clients_due_for_the_rerun():
    base()
    with mock.patch(
        "reactivation.services.gate.cases_open_for_lost", side_effect=RuntimeError("killed")
    ):
        with pytest.raises(RuntimeError):
            pipeline.nightly_run(as_of=D)
    # The chunk's re-status rolled back with it: nobody lost, everybody still due.
    assert Client.objects.filter(stats__due_on__lte=D).count() == 3
    assert not Case.objects.exists()

    pipeline.nightly_run(as_of=D)

    assert Case.objects.count() == 2
    assert not Client.objects.filter(stats__due_on__lte=D).exists()


@contextlib.contextmanager
def another_runner_holds(as_of: dt.date, is_postgres: bool):
    """Another process's live run: on PostgreSQL it holds the date's advisory lock."""
    if not is_postgres:
        yield
        return
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    with psycopg.connect(
        **{k: v for k, v in params.items() if k != "cursor_factory"}, autocommit=True
    ) as other:
        other.execute(
            "SELECT pg_advisory_lock(%s, %s)", [pipeline.LOCK_NAMESPACE, as_of.toordinal()]
        )
        yield


@pytest.mark.django_db
def test_a_live_run_elsewhere_makes_this_one_a_no_op(is_postgres):
    base()
    PipelineRun.objects.create(as_of=D, state="running", heartbeat_at=timezone.now())

    with another_runner_holds(D, is_postgres):
        assert pipeline.nightly_run(as_of=D).outcome == pipeline.BUSY

    assert not Case.objects.exists()


@pytest.mark.django_db
def test_a_stale_run_is_taken_over():
    base()
    PipelineRun.objects.create(
        as_of=D, state="running", heartbeat_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert pipeline.nightly_run(as_of=D).outcome == pipeline.DONE
    assert Case.objects.count() == 2


@pytest.mark.django_db
def test_the_tick_waits_for_the_nightly_time_in_the_business_timezone():
    from reactivation.tasks import nightly_tick

    base()
    settings = BusinessSettings.load()
    settings.nightly_at = dt.time(3, 30)
    settings.save()
    PipelineRun.objects.create(as_of=D - dt.timedelta(days=1), state="done")
    # 00:15 UTC is 03:15 in Moscow: before the nightly time, so D is not due yet.
    with time_machine.travel(dt.datetime(2026, 11, 23, 0, 15, tzinfo=dt.UTC), tick=False):
        assert nightly_tick() == []
    with time_machine.travel(dt.datetime(2026, 11, 23, 0, 45, tzinfo=dt.UTC), tick=False):
        assert nightly_tick() == [D.isoformat()]
    assert PipelineRun.objects.get(as_of=D).state == "done"
    assert Case.objects.count() == 2


# --- the lifecycle steps ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_purchase_while_a_case_is_open_wins_it_back_with_the_latest_reached_call_credited(
    alice, bob
):
    client = ClientFactory()
    case = CaseFactory(client=client, opened_on=D - dt.timedelta(days=10), assigned_to=alice)
    script = Script.objects.create(name="Coffee")
    version = ScriptVersion.objects.create(script=script, number=1, steps=[])
    price = Reason.objects.create(code="price-test", name="Price")
    now = timezone.now()
    Call.objects.create(
        case=case,
        client=client,
        manager=bob,
        called_at=now - dt.timedelta(days=5),
        outcome="reached",
        script_version=version,
        reason=price,
    )
    Call.objects.create(
        case=case,
        client=client,
        manager=alice,
        called_at=now - dt.timedelta(days=2),
        outcome="no_answer",
    )
    TransactionFactory(client=client, date=D - dt.timedelta(days=20))  # before the case: not a win
    won = TransactionFactory(client=client, date=D - dt.timedelta(days=3))
    TransactionFactory(client=client, date=D - dt.timedelta(days=1))
    refresh_clients(client_ids=[client.pk], as_of=D)

    counts = lifecycle.cases_close_won_back(as_of=D)

    case.refresh_from_db()
    assert counts.won_back == 1
    assert (case.status, case.closed_on, case.won_transaction_id) == ("won_back", won.date, won.pk)
    assert (case.credited_manager, case.credited_script_version, case.credited_reason) == (
        bob,
        version,
        price,
    )
    assert lifecycle.cases_close_won_back(as_of=D).won_back == 0


@pytest.mark.django_db
def test_a_control_client_who_returns_closes_as_control_with_the_purchase():
    client = ClientFactory()
    case = CaseFactory(client=client, opened_on=D - dt.timedelta(days=10), is_control=True)
    bought = TransactionFactory(client=client, date=D - dt.timedelta(days=2))
    refresh_clients(client_ids=[client.pk], as_of=D)

    counts = lifecycle.cases_close_won_back(as_of=D)

    case.refresh_from_db()
    assert counts.control_returned == 1
    assert (case.status, case.won_transaction_id, case.credited_manager) == (
        "control",
        bought.pk,
        None,
    )


@pytest.mark.django_db
def test_cases_expire_after_their_policys_lifetime():
    policy = Policy.objects.get(segment=None)
    stale = CaseFactory(opened_on=D - dt.timedelta(days=policy.case_lifetime_days + 1))
    fresh = CaseFactory(opened_on=D - dt.timedelta(days=policy.case_lifetime_days))
    control = CaseFactory(opened_on=D - dt.timedelta(days=90), is_control=True)

    counts = lifecycle.cases_expire(as_of=D)

    for case in (stale, fresh, control):
        case.refresh_from_db()
    assert (counts.cases_expired, counts.control_closed) == (1, 1)
    assert (stale.status, stale.closed_on) == ("expired", D)
    assert fresh.status == "open"
    assert control.status == "control"


@pytest.mark.django_db
def test_offers_expire_after_their_last_valid_day_and_a_code_redeems_its_offer():
    template = OfferTemplateFactory()
    client = ClientFactory()
    other = ClientFactory()

    def offer(code, issued, days=14, owner=client):
        return Offer.objects.create(
            template=template,
            client=owner,
            code=code,
            kind=template.kind,
            issued_on=issued,
            expires_on=issued + dt.timedelta(days=days),
        )

    used = offer("COFFEE-AAAA", D - dt.timedelta(days=5))
    late = offer("COFFEE-BBBB", D - dt.timedelta(days=30))
    foreign = offer("COFFEE-CCCC", D - dt.timedelta(days=5), owner=other)
    last_day = offer("COFFEE-DDDD", D - dt.timedelta(days=14))
    purchase = TransactionFactory(
        client=client, date=D - dt.timedelta(days=1), promo_code="coffee-aaaa"
    )
    TransactionFactory(client=client, date=D - dt.timedelta(days=1), promo_code="COFFEE-CCCC")

    assert lifecycle.offers_redeem_by_code(as_of=D) == 1
    assert lifecycle.offers_expire(as_of=D) == 1

    for item in (used, late, foreign, last_day):
        item.refresh_from_db()
    assert (used.status, used.redeemed_on, used.transaction_id) == (
        "redeemed",
        purchase.date,
        purchase.pk,
    )
    assert late.status == "expired"
    assert foreign.status == "issued"  # another client's purchase carried its code
    assert last_day.status == "issued"  # valid through today


# --- the commands -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_nightly_command_runs_the_date_and_then_says_it_is_done(capsys):
    from django.core.management import call_command

    base()
    call_command("nightly", "--as-of", D.isoformat())
    assert f"{D} done" in capsys.readouterr().out
    call_command("nightly", "--as-of", D.isoformat())
    assert "already done" in capsys.readouterr().out
    assert Case.objects.count() == 2


@pytest.mark.django_db
def test_rebuild_stats_command_opens_no_cases_and_refuses_a_bad_date(capsys):
    from django.core.management import CommandError, call_command

    base()
    call_command("rebuild_stats", "--as-of", D.isoformat())
    assert "clients changed" in capsys.readouterr().out
    assert Client.objects.filter(stats__status="lost").count() == 3
    assert not Case.objects.exists()
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("rebuild_stats", "--as-of", "yesterday")


@pytest.mark.django_db
def test_backtest_command_prints_the_figures(capsys):
    from django.core.management import CommandError, call_command

    base()
    call_command("backtest", "--as-of", D.isoformat(), "--days", "30")
    out = capsys.readouterr().out
    assert "default: clients 6, flagged 3" in out
    with pytest.raises(CommandError):
        call_command("backtest", "--as-of", D.isoformat(), "--days", "0")
