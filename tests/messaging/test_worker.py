"""A message through a real Celery worker with Redis as the broker, to a fake SMS.ru on
127.0.0.1: delivered after commit, once, even when the task is delivered twice."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.conf import settings

from reactivation.celery import app
from reactivation.messaging import services
from reactivation.messaging.models import Channel, Message, MessageTemplate
from reactivation.messaging.tasks import message_deliver_task
from reactivation.services.offers import offer_issue
from tests.factories import CaseFactory, ClientFactory, OfferTemplateFactory, UserFactory
from tests.messaging.conftest import NOON, TODAY, grant
from tests.worker import start_worker, stop_worker, wait_for

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_worker_delivers_a_message_once(httpserver):
    assert not settings.CELERY_TASK_ALWAYS_EAGER
    app.control.purge()
    httpserver.expect_request("/sms/send", method="POST").respond_with_json(
        {
            "status": "OK",
            "sms": {"79160000003": {"status": "OK", "status_code": 100, "sms_id": "w-1"}},
        }
    )
    MessageTemplate.objects.get_or_create(
        offer_template=None, channel="sms", language="ru", defaults={"body": "Код {offer_code}"}
    )
    manager = UserFactory(username="worker-manager", role="manager")
    case = CaseFactory(
        client=ClientFactory(phone="+79160000003"), assigned_to=manager, opened_on=TODAY
    )
    offer_issue(case=case, template=OfferTemplateFactory(), by=manager, today=TODAY)
    grant(case.client)
    worker = start_worker(
        pool="solo",
        env={
            "SMS_PROVIDER": "smsru",
            "SMSRU_API_ID": "KEY",
            "SMS_BASE_URL": httpserver.url_for("/").rstrip("/"),
        },
    )
    try:
        settings.SMS_PROVIDER = "smsru"
        message = services.message_send(
            case=case, channel=Channel.SMS, by=manager, now=NOON, language="ru"
        )
        wait_for(lambda: Message.objects.get(pk=message.pk).status == "sent")
        message_deliver_task.delay(message.pk)  # the broker delivers the task again
        time.sleep(2)
    finally:
        stop_worker(worker)
        app.control.purge()
    message.refresh_from_db()
    assert (message.provider_id, message.attempts) == ("w-1", 1)
    assert len(httpserver.log) == 1
