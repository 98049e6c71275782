"""The period's figures kept in ``PeriodFiguresRecord``: computed by a task, never by a request
when a broker is configured; the page shows them as being computed and polls until they are
in; the nightly run enqueues the default views; what is stored equals a direct computation."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from clients.models import Segment
from reactivation import dashboard_tasks
from reactivation.celery import app
from reactivation.dashboard_forms import PERIODS
from reactivation.models import PeriodFiguresRecord
from reactivation.selectors import customers, dashboard_figures
from reactivation.selectors.customers import ALL_SEGMENTS
from reactivation.selectors.dashboard_figures import PeriodFigures, period_figures
from reactivation.services import figures as stored_figures
from reactivation.services import pipeline
from reactivation.services.figures import View, figures_compute
from tests.factories import ClientFactory, TransactionFactory
from tests.reactivation import dashboard_data
from tests.reactivation.dashboard_data import END, PERIOD, START

pytestmark = pytest.mark.django_db

URL = reverse("dashboard")
FIGURE_PANELS = ("retention", "uplift", "ltv", "forecast")


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


@pytest.fixture
def business(alice, bob):
    return dashboard_data.build(manager=alice, colleague=bob)


@pytest.fixture
def enqueued(monkeypatch, settings):
    """A broker is configured (tasks are not run in-process): what would be sent to it."""
    sent: list[tuple] = []
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(
        dashboard_tasks.period_figures_compute, "delay", lambda *args: sent.append(args)
    )
    yield sent
    app.conf.task_always_eager = previous


@pytest.fixture
def no_purchase_read(monkeypatch):
    """Reading the purchase log or computing the figures fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("the request read the purchases")

    monkeypatch.setattr(customers.PurchaseLog, "load", classmethod(refuse))
    monkeypatch.setattr(dashboard_figures, "period_figures", refuse)
    monkeypatch.setattr(stored_figures, "period_figures", refuse)


def _get(client, params, **headers):
    return client.get(URL, params, **headers)


def test_an_uncomputed_view_renders_pending_and_enqueues_one_task(
    business,
    owner,
    login,
    enqueued,
    no_purchase_read,
    django_assert_max_num_queries,
    django_capture_on_commit_callbacks,
):
    client = login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        with django_assert_max_num_queries(32):
            response = _get(client, PERIOD)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="figures-pending"' in body
    assert 'hx-trigger="every 3s"' in body and "figures=wait" in body
    for name in FIGURE_PANELS:
        assert f'data-pending="{name}"' in body
    assert 'id="kpi-retention"' not in body  # no figure is shown before it is computed
    assert 'id="h-status"' in body and 'id="h-funnel"' in body  # the other panels at once
    assert "HX-Request" in response["Vary"]
    assert enqueued == [(START.isoformat(), END.isoformat(), "all", 0)]

    # However many requests come (pages and polls), the one computation stays the only one.
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            assert _get(client, PERIOD).status_code == 200
        poll = _get(client, {**PERIOD, "figures": "wait"}, HTTP_HX_REQUEST="true")
    assert poll.status_code == 204
    assert len(enqueued) == 1
    row = PeriodFiguresRecord.objects.get()
    assert row.state == PeriodFiguresRecord.State.PENDING and row.figures is None


def test_once_the_task_has_run_the_poll_swaps_the_figures_in(
    business, owner, login, enqueued, monkeypatch, django_capture_on_commit_callbacks
):
    client = login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        _get(client, PERIOD)
    (args,) = enqueued
    assert dashboard_tasks.period_figures_compute(*args) == PeriodFiguresRecord.State.DONE

    def refuse(*a, **k):
        raise AssertionError("the request computed the figures")

    monkeypatch.setattr(stored_figures, "period_figures", refuse)
    poll = _get(client, {**PERIOD, "figures": "wait"}, HTTP_HX_REQUEST="true")
    assert poll.status_code == 200
    body = poll.content.decode()
    assert 'id="kpi-retention">80.0 %' in body
    assert 'id="figures-pending"' not in body  # no poller any more: polling stops
    assert "<html" not in body  # the panels' partial, swapped into the page
    page = _get(client, PERIOD)
    assert page.context["panels"]["retention"].data["retention"] == pytest.approx(0.80)
    assert len(enqueued) == 1


def test_a_pending_view_whose_worker_was_lost_is_enqueued_again_once(
    business, owner, login, enqueued, django_capture_on_commit_callbacks
):
    client = login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        _get(client, PERIOD)
    PeriodFiguresRecord.objects.update(requested_at=timezone.now() - dt.timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        _get(client, PERIOD)
        _get(client, PERIOD)
    assert len(enqueued) == 2


def test_a_failed_computation_says_so_and_the_poll_stops(
    business, owner, login, enqueued, monkeypatch, django_capture_on_commit_callbacks
):
    client = login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        _get(client, PERIOD)

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(stored_figures, "period_figures", broken)
    with pytest.raises(RuntimeError):
        dashboard_tasks.period_figures_compute(*enqueued[0])
    assert PeriodFiguresRecord.objects.get().state == PeriodFiguresRecord.State.FAILED
    with django_capture_on_commit_callbacks(execute=True):
        poll = _get(client, {**PERIOD, "figures": "wait"}, HTTP_HX_REQUEST="true")
    assert poll.status_code == 200
    body = poll.content.decode()
    assert "could not be computed" in body and 'id="figures-pending"' not in body
    assert len(enqueued) == 1  # a poll does not try again; reloading the page does
    with django_capture_on_commit_callbacks(execute=True):
        _get(client, PERIOD)
    assert len(enqueued) == 2


def test_without_a_broker_the_request_computes_and_stores_the_figures(business, owner, login):
    response = login(owner).get(URL, PERIOD)
    assert 'id="kpi-retention">80.0 %' in response.content.decode()
    row = PeriodFiguresRecord.objects.get()
    assert (row.start, row.end, row.segment, row.manager) == (START, END, "all", 0)
    assert row.state == PeriodFiguresRecord.State.DONE and row.seconds >= 0


def test_a_new_snapshot_makes_the_stored_figures_stale(business, owner, login, enqueued):
    figures_compute(View(start=START, end=END))
    version = stored_figures.data_version()
    dashboard_data._snapshot(END + dt.timedelta(days=1))
    assert stored_figures.data_version() != version
    assert stored_figures.figures_request(View(start=START, end=END)).pending


def test_the_nightly_run_enqueues_every_preset_view(enqueued, django_capture_on_commit_callbacks):
    as_of = dt.date(2026, 11, 23)
    for segment in ("coffee", "office"):
        Segment.objects.create(code=segment, name=segment)
    client = ClientFactory()
    TransactionFactory(client=client, date=as_of - dt.timedelta(days=40))
    with django_capture_on_commit_callbacks(execute=True):
        pipeline.nightly_run(as_of=as_of)
    presets = [int(value) for value, _label in PERIODS if value.isdigit()]
    segments = [
        "all",
        *(str(pk) for pk in Segment.objects.order_by("pk").values_list("pk", flat=True)),
    ]
    expected = {
        ((as_of - dt.timedelta(days=days - 1)).isoformat(), as_of.isoformat(), segment, 0)
        for days in presets
        for segment in segments
    }
    assert len(enqueued) == len(expected) == len(presets) * 3
    assert set(enqueued) == expected


@pytest.mark.parametrize(
    ("segment", "manager"), [("all", False), ("coffee", False), ("none", False), ("all", True)]
)
def test_stored_figures_equal_a_direct_computation(business, alice, segment, manager):
    if segment == "coffee":
        key, choice = str(business["coffee"].pk), business["coffee"].pk
    elif segment == "none":
        key, choice = "none", None
    else:
        key, choice = "all", ALL_SEGMENTS
    manager_id = alice.pk if manager else None
    row = figures_compute(View(start=START, end=END, segment=key, manager=manager_id or 0))
    row.refresh_from_db()
    stored = PeriodFigures.from_dict(json.loads(json.dumps(row.figures, allow_nan=False)))
    direct = period_figures(
        start=START, end=END, segment_id=choice, manager_id=manager_id, by_month=True
    )
    assert stored == direct
    assert stored.as_json() == direct.as_json()
    assert stored.months and stored.forecast == direct.forecast


def test_figures_that_are_not_finite_survive_the_round_trip(business):
    direct = period_figures(start=START, end=END, by_month=True)
    odd = dashboard_figures.replace(direct, revenue=math.inf, margin=-math.inf)
    data = json.loads(json.dumps(odd.to_dict(), allow_nan=False))
    back = PeriodFigures.from_dict(data)
    assert back.revenue == math.inf and back.margin == -math.inf
    assert dashboard_figures.replace(back, revenue=0.0, margin=0.0) == dashboard_figures.replace(
        direct, revenue=0.0, margin=0.0
    )


def test_a_second_run_of_the_task_computes_nothing(business, monkeypatch):
    figures_compute(View(start=START, end=END))

    def refuse(**kwargs):
        raise AssertionError("computed twice")

    monkeypatch.setattr(stored_figures, "period_figures", refuse)
    args = (START.isoformat(), END.isoformat(), "all", 0)
    assert dashboard_tasks.period_figures_compute(*args) == PeriodFiguresRecord.State.DONE
    assert PeriodFiguresRecord.objects.count() == 1


def test_without_a_broker_the_nightly_run_computes_no_figures(
    monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(**kwargs):
        raise AssertionError("the nightly run computed the figures in-process")

    monkeypatch.setattr(stored_figures, "period_figures", refuse)
    as_of = dt.date(2026, 11, 23)
    TransactionFactory(client=ClientFactory(), date=as_of - dt.timedelta(days=40))
    with django_capture_on_commit_callbacks(execute=True):
        pipeline.nightly_run(as_of=as_of)
    assert not PeriodFiguresRecord.objects.exists()


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_computes_what_the_page_and_the_nightly_run_enqueue(business, owner, login):
    from tests.worker import start_worker, stop_worker, wait_for

    assert not app.conf.task_always_eager
    app.control.purge()
    client = login(owner)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(customers.PurchaseLog, "load", None)  # the request must not read it
        page = client.get(URL, PERIOD)
        assert 'id="figures-pending"' in page.content.decode()
        assert client.get(URL, PERIOD).status_code == 200
    (row,) = PeriodFiguresRecord.objects.all()
    worker = start_worker()
    try:
        wait_for(lambda: PeriodFiguresRecord.objects.filter(pk=row.pk, state="done").exists())
        poll = client.get(URL, {**PERIOD, "figures": "wait"}, HTTP_HX_REQUEST="true")
        assert poll.status_code == 200
        assert 'id="kpi-retention">80.0 %' in poll.content.decode()
        # The nightly run (here for the day after the data's last snapshot) enqueues the
        # default views, and the worker computes every one of them.
        as_of = END + dt.timedelta(days=1)
        pipeline.nightly_run(as_of=as_of)
        views = stored_figures.default_views(end=as_of)
        wait_for(
            lambda: (
                PeriodFiguresRecord.objects.filter(end=as_of, state="done").count() == len(views)
            ),
            timeout=180,
        )
    finally:
        stop_worker(worker)
        app.control.purge()
    assert PeriodFiguresRecord.objects.filter(
        data_version=stored_figures.data_version()
    ).count() == len(views)
    assert len(views) == 6 * (1 + Segment.objects.count())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_for_one_view_enqueue_one_computation(enqueued):
    import threading

    from django.db import connection

    view = View(start=START, end=END)
    barrier = threading.Barrier(8)
    states: list[str] = []

    def ask() -> None:
        try:
            barrier.wait()
            states.append(stored_figures.figures_request(view).state)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert states == ["pending"] * 8
    assert enqueued == [(START.isoformat(), END.isoformat(), "all", 0)]
    assert PeriodFiguresRecord.objects.count() == 1
