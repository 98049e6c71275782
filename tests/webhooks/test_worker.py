"""Webhooks through a real Celery worker with Redis as the broker: the change commits at once
while the worker sends to a slow endpoint, signed, once."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from standardwebhooks import Webhook
from werkzeug import Response

from reactivation.celery import app
from reactivation.models import Case
from reactivation.services.cases import case_close
from reactivation.webhooks import services
from reactivation.webhooks.models import Delivery
from tests.factories import CaseFactory, UserFactory
from tests.worker import start_worker, stop_worker, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_worker_sends_the_event_and_the_product_does_not_wait_for_a_slow_endpoint(httpserver):
    assert not settings.CELERY_TASK_ALWAYS_EAGER
    app.control.purge()
    received = []

    def slow(request):
        time.sleep(1.5)
        received.append((request.get_data(as_text=True), dict(request.headers)))
        return Response("ok")

    httpserver.expect_request("/hook", method="POST").respond_with_handler(slow)
    admin = UserFactory(username="hooks-admin", role="admin")
    endpoint = services.endpoint_create(
        name="slow", url=httpserver.url_for("/hook"), events=["case.closed"]
    )
    case = CaseFactory()
    worker = start_worker(pool="solo", env={"WEBHOOK_TIMEOUT_SECONDS": "5"})
    try:
        started = time.monotonic()
        case_close(case=case, status=Case.Status.DECLINED, by=admin)  # commits (autocommit)
        assert time.monotonic() - started < 1.0  # not the endpoint's 1.5 s
        wait_for(lambda: Delivery.objects.filter(state=Delivery.State.SUCCEEDED).exists())
    finally:
        stop_worker(worker)
        app.control.purge()
    assert len(received) == 1
    body, headers = received[0]
    payload = Webhook(endpoint.secret).verify(body, {k.lower(): v for k, v in headers.items()})
    assert payload["data"]["id"] == case.pk
