"""Webhooks out: signed, sent after commit by the worker, retried on errors, 5xx, 408 and 429
and on timeouts, never on another 4xx."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook
from werkzeug import Response

from reactivation.models import Case
from reactivation.services.cases import case_close
from reactivation.services.offers import offer_issue
from reactivation.webhooks import outbox, rules, services
from reactivation.webhooks.models import Attempt, Delivery, OutboxEvent
from tests.factories import CaseFactory, ClientFactory, OfferTemplateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(httpserver, admin_user):
    return services.endpoint_create(
        name="shop",
        url=httpserver.url_for("/hook"),
        events=["case.closed", "offer.issued", "case.opened"],
        created_by=admin_user,
    )


def _close(case, admin_user):
    return case_close(case=case, status=Case.Status.DECLINED, by=admin_user)


def _later(hours: float = 1):
    return time_machine.travel(timezone.now() + dt.timedelta(hours=hours), tick=True)


def test_a_closed_case_reaches_the_endpoint_signed(
    httpserver, endpoint, admin_user, django_capture_on_commit_callbacks
):
    received = []

    def handler(request):
        received.append((request.get_data(as_text=True), dict(request.headers)))
        return Response("ok", status=200)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(handler)
    case = CaseFactory(client=ClientFactory(external_id="C-7"))

    with django_capture_on_commit_callbacks(execute=True):
        _close(case, admin_user)

    assert len(received) == 1
    body, headers = received[0]
    headers = {k.lower(): v for k, v in headers.items()}
    payload = Webhook(endpoint.secret).verify(body, headers)  # raises on a bad signature
    assert payload["type"] == "case.closed"
    assert payload["data"]["id"] == case.pk
    assert payload["data"]["client"] == "C-7"
    assert payload["data"]["status"] == "declined"
    event = OutboxEvent.objects.get()
    assert headers["webhook-id"] == event.msg_id
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.SUCCEEDED
    assert delivery.attempt_rows.get().status_code == 200


def test_a_signature_made_with_another_secret_does_not_verify(endpoint):
    when = timezone.now()
    headers = services.signed_headers(secret=endpoint.secret, msg_id="msg_1", when=when, body="{}")
    with pytest.raises(Exception):  # noqa: B017 - the package's own verification error
        Webhook(rules.secret_generate()).verify("{}", headers)


def test_nothing_is_sent_before_commit_nor_when_the_change_rolls_back(
    httpserver, endpoint, admin_user, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hook").respond_with_data("ok")
    case = CaseFactory()

    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            _close(case, admin_user)
            assert OutboxEvent.objects.count() == 1  # written with the change...
            raise RuntimeError("the change fails")
    assert OutboxEvent.objects.count() == 0  # ...and gone with it
    assert httpserver.log == []

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _close(case, admin_user)
    assert httpserver.log == []  # not sent while the transaction is open
    assert Delivery.objects.get().state == Delivery.State.PENDING
    for callback in callbacks:
        callback()
    assert len(httpserver.log) == 1
    assert Delivery.objects.get().state == Delivery.State.SUCCEEDED


def test_a_500_is_tried_again_after_a_wait(
    httpserver, endpoint, admin_user, django_capture_on_commit_callbacks
):
    httpserver.expect_ordered_request("/hook").respond_with_data("down", status=500)
    httpserver.expect_ordered_request("/hook").respond_with_data("ok", status=204)

    with django_capture_on_commit_callbacks(execute=True):
        _close(CaseFactory(), admin_user)
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.PENDING
    assert delivery.last_status_code == 500
    assert delivery.next_attempt_at > timezone.now() + dt.timedelta(seconds=20)

    assert services.deliveries_send_due() == 0  # not due yet
    with _later():
        assert services.deliveries_send_due() == 1
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED
    assert list(Attempt.objects.values_list("number", "status_code")) == [(1, 500), (2, 204)]
    httpserver.check_assertions()


def test_a_timeout_is_tried_again(
    httpserver, endpoint, admin_user, django_capture_on_commit_callbacks
):
    def slow(_request):
        time.sleep(1.0)
        return Response("late", status=200)

    httpserver.expect_ordered_request("/hook").respond_with_handler(slow)
    httpserver.expect_ordered_request("/hook").respond_with_data("ok")

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        _close(CaseFactory(), admin_user)
    assert time.monotonic() - started < 1.0  # the short timeout, not the endpoint, decides
    first = Attempt.objects.get()
    assert first.status_code is None
    assert first.error.startswith("timeout")
    assert first.next_attempt_at is not None

    time.sleep(0.8)  # the slow handler finishes before the next request is taken
    with _later():
        services.deliveries_send_due()
    assert Delivery.objects.get().state == Delivery.State.SUCCEEDED
    assert Attempt.objects.count() == 2


@pytest.mark.parametrize("code", [408, 429, 502])
def test_these_answers_are_tried_again(
    code, httpserver, endpoint, admin_user, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hook").respond_with_data("", status=code)
    with django_capture_on_commit_callbacks(execute=True):
        _close(CaseFactory(), admin_user)
    assert Delivery.objects.get().state == Delivery.State.PENDING


@pytest.mark.parametrize("code", [400, 401, 404, 410, 301])
def test_another_4xx_is_not_tried_again(
    code, httpserver, endpoint, admin_user, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hook").respond_with_data("no", status=code)
    with django_capture_on_commit_callbacks(execute=True):
        _close(CaseFactory(), admin_user)
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.FAILED
    assert delivery.next_attempt_at is None
    with _later(24):
        assert services.deliveries_send_due() == 0
    assert len(httpserver.log) == 1


def test_retries_stop_after_the_last_attempt(
    settings, httpserver, endpoint, admin_user, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    httpserver.expect_request("/hook").respond_with_data("", status=503)
    with django_capture_on_commit_callbacks(execute=True):
        _close(CaseFactory(), admin_user)
    for hours in (1, 2, 3, 4):
        with _later(hours):
            services.deliveries_send_due()
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.FAILED
    assert delivery.attempts == 3
    assert len(httpserver.log) == 3


def test_a_dead_endpoint_is_a_connection_error_tried_again(
    admin_user, django_capture_on_commit_callbacks
):
    services.endpoint_create(name="dead", url="http://127.0.0.1:9/hook", events=["case.closed"])
    with django_capture_on_commit_callbacks(execute=True):
        _close(CaseFactory(), admin_user)
    attempt = Attempt.objects.get()
    assert attempt.status_code is None
    assert attempt.error.startswith("connection error")
    assert Delivery.objects.get().state == Delivery.State.PENDING


def test_redeliver_sends_a_delivered_event_again(
    httpserver, endpoint, admin_user, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hook").respond_with_data("ok")
    with django_capture_on_commit_callbacks(execute=True):
        _close(CaseFactory(), admin_user)
    delivery = Delivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.delivery_redeliver(delivery=delivery)
    assert len(httpserver.log) == 2
    first, second = (json.loads(request.get_data()) for request, _response in httpserver.log)
    assert first == second
    assert httpserver.log[0][0].headers["webhook-id"] == httpserver.log[1][0].headers["webhook-id"]
    assert Attempt.objects.filter(delivery=delivery).count() == 2


def test_an_issued_offer_is_an_event(
    httpserver, endpoint, admin_user, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hook").respond_with_data("ok")
    case = CaseFactory(client=ClientFactory(external_id="C-9"))
    with django_capture_on_commit_callbacks(execute=True):
        offer = offer_issue(case=case, template=OfferTemplateFactory(), by=admin_user)
    payload = json.loads(httpserver.log[0][0].get_data())
    assert payload["type"] == "offer.issued"
    assert payload["data"]["code"] == offer.code
    assert payload["data"]["client"] == "C-9"


def test_no_endpoint_no_outbox_row(admin_user):
    _close(CaseFactory(), admin_user)
    assert OutboxEvent.objects.count() == 0


def test_an_event_an_endpoint_did_not_choose_is_not_sent_to_it(httpserver, admin_user):
    services.endpoint_create(
        name="imports", url=httpserver.url_for("/hook"), events=["import.finished"]
    )
    _close(CaseFactory(), admin_user)
    assert Delivery.objects.count() == 0


def test_a_deactivated_endpoint_gets_nothing_more(httpserver, endpoint, admin_user):
    services.endpoint_deactivate(endpoint=endpoint)
    _close(CaseFactory(), admin_user)
    assert Delivery.objects.count() == 0


def test_cases_opened_set_wise_in_the_same_number_of_queries(endpoint, django_assert_num_queries):
    few = [CaseFactory().pk for _ in range(3)]
    many = [CaseFactory().pk for _ in range(30)]
    outbox.cases_opened(case_ids=few)  # warms the cached subscriptions
    OutboxEvent.objects.all().delete()
    with django_assert_num_queries(5) as few_queries:
        assert outbox.cases_opened(case_ids=few) == 3
    with django_assert_num_queries(len(few_queries.captured_queries)):
        assert outbox.cases_opened(case_ids=many) == 30
    assert Delivery.objects.count() == 33


def test_an_event_is_announced_once_when_its_step_runs_again(endpoint):
    case_ids = [CaseFactory().pk for _ in range(2)]
    assert outbox.cases_opened(case_ids=case_ids) == 2
    assert outbox.cases_opened(case_ids=case_ids) == 0
    assert OutboxEvent.objects.count() == 2


def test_status_changes_are_written_for_the_moves_only(httpserver, admin_user):
    services.endpoint_create(
        name="s", url=httpserver.url_for("/hook"), events=["client.status_changed"]
    )
    a, b = ClientFactory(external_id="A-1"), ClientFactory(external_id="B-1")
    written = outbox.statuses_changed(
        changes=[(a.pk, "active", "sleeping"), (b.pk, "lost", "lost")], as_of=dt.date(2026, 11, 2)
    )
    assert written == 1
    event = OutboxEvent.objects.get()
    assert event.payload["data"] == {
        "client": "A-1",
        "from": "active",
        "to": "sleeping",
        "as_of": "2026-11-02",
    }


def test_backoff_doubles_up_to_its_cap():
    waits = [rules.backoff_seconds(n, base=30, cap=600) for n in range(1, 7)]
    assert waits == [30, 60, 120, 240, 480, 600]


def test_a_secret_is_a_standard_webhooks_secret():
    secret = rules.secret_generate()
    assert secret.startswith("whsec_")
    assert secret != rules.secret_generate()
    Webhook(secret)  # the package reads it


def test_the_nightly_run_announces_the_cases_it_opens_and_the_statuses_it_moves(admin_user):
    from clients.stats import refresh_clients
    from reactivation.services import pipeline
    from tests.factories import TransactionFactory

    day = dt.date(2026, 11, 23)
    services.endpoint_create(
        name="crm", url="http://127.0.0.1:9/h", events=["case.opened", "client.status_changed"]
    )
    clients = [ClientFactory() for _ in range(4)]
    for client in clients:  # one purchase 91 days before: sleeping yesterday, lost today
        TransactionFactory(client=client, date=day - dt.timedelta(days=91))
    refresh_clients(client_ids=None, as_of=day - dt.timedelta(days=1))

    pipeline.nightly_run(as_of=day, snapshot=False)

    opened = OutboxEvent.objects.filter(event_type="case.opened")
    assert sorted(e.payload["data"]["client"] for e in opened) == sorted(
        c.external_id for c in clients
    )
    assert {e.payload["data"]["id"] for e in opened} == set(
        Case.objects.filter(opened_on=day).values_list("pk", flat=True)
    )
    moved = OutboxEvent.objects.filter(event_type="client.status_changed")
    assert {(e.payload["data"]["from"], e.payload["data"]["to"]) for e in moved} == {
        ("sleeping", "lost")
    }
    assert moved.count() == 4
    assert Delivery.objects.count() == 8

    pipeline.nightly_run(as_of=day, snapshot=False)  # a second run is a no-op: nothing twice
    assert OutboxEvent.objects.count() == 8


def test_a_purchase_through_the_api_announces_the_case_it_wins_back(admin_user):
    from reactivation.api.services import transactions_record

    services.endpoint_create(name="crm", url="http://127.0.0.1:9/h", events=["case.closed"])
    case = CaseFactory(client=ClientFactory(external_id="W-1"), opened_on=dt.date(2026, 11, 2))
    transactions_record(
        [{"id": "P-1", "client": "W-1", "date": "2026-11-10", "amount": "500"}],
        today=dt.date(2026, 11, 10),
    )
    event = OutboxEvent.objects.get(event_type="case.closed")
    assert event.payload["data"]["id"] == case.pk
    assert event.payload["data"]["status"] == "won_back"
    assert event.payload["data"]["transaction"] == "P-1"


def test_a_429_with_retry_after_waits_at_least_that_long(
    httpserver, endpoint, admin_user, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hook").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "600"}
    )
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        _close(CaseFactory(), admin_user)
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.PENDING
    assert delivery.next_attempt_at >= before + dt.timedelta(seconds=600)
    with _later(0.1):  # past the backoff's 30 s, before the 600 s asked for
        assert services.deliveries_send_due() == 0


def test_retry_after_is_read_in_seconds_only():
    assert rules.retry_after_seconds("120") == 120
    assert rules.retry_after_seconds("Wed, 21 Oct 2026 07:28:00 GMT") is None
    assert rules.retry_after_seconds("") is None
    assert rules.retry_after_seconds("-5") is None


def test_old_ended_events_are_purged_and_pending_ones_kept(
    settings, httpserver, endpoint, admin_user, django_capture_on_commit_callbacks
):
    from reactivation.webhooks.tasks import webhooks_sweep

    settings.WEBHOOK_KEEP_DAYS = 30
    httpserver.expect_ordered_request("/hook").respond_with_data("ok")
    httpserver.expect_ordered_request("/hook").respond_with_data("", status=500)
    with django_capture_on_commit_callbacks(execute=True):
        _close(CaseFactory(), admin_user)  # delivered
    with django_capture_on_commit_callbacks(execute=True):
        _close(CaseFactory(), admin_user)  # pending a retry
    assert services.outbox_purge() == 0  # not old yet
    with time_machine.travel(timezone.now() + dt.timedelta(days=31)):
        assert services.outbox_purge() == 1
        webhooks_sweep()  # the sweep purges too (nothing left to purge) and retries
    assert OutboxEvent.objects.count() == 1
    assert Delivery.objects.get().event == OutboxEvent.objects.get()
    assert Attempt.objects.filter(delivery__event__in=OutboxEvent.objects.all()).count() >= 1
