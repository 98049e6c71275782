"""Delivery reports, STOP replies, the Telegram webhook and the unsubscribe link."""

from __future__ import annotations

import json

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from django.urls import reverse

from reactivation.messaging import services
from reactivation.messaging.models import Channel, Message, Purpose, Suppression, TelegramLink
from reactivation.messaging.selectors import (
    callback_token,
    consent_state,
    telegram_start_token,
    unsubscribe_token,
)
from tests.factories import ClientFactory
from tests.messaging.conftest import NOON, grant

pytestmark = pytest.mark.django_db


def advertising(client, channel=Channel.SMS):
    return consent_state(client=client, channel=channel, purpose=Purpose.ADVERTISING)


def test_smsru_send_then_its_status_callback_marks_the_row_delivered(
    case, offer, client, httpserver, settings, django_capture_on_commit_callbacks
):
    settings.SMS_PROVIDER, settings.SMSRU_API_ID = "smsru", "KEY"
    settings.SMS_BASE_URL = httpserver.url_for("/").rstrip("/")
    httpserver.expect_request("/sms/send", method="POST").respond_with_json(
        {
            "status": "OK",
            "sms": {"79161234567": {"status": "OK", "status_code": 100, "sms_id": "201-7"}},
        }
    )
    grant(case.client)
    with django_capture_on_commit_callbacks(execute=True):
        message = services.message_send(
            case=case, channel=Channel.SMS, by=case.assigned_to, now=NOON
        )
    message.refresh_from_db()
    assert (message.provider, message.provider_id, message.status) == ("smsru", "201-7", "sent")

    url = reverse("messaging_callback", args=["smsru", callback_token("smsru")])
    response = client.post(url, {"data[0]": "sms_status\n201-7\n103\n1733300000"})
    assert response.status_code == 200 and response.content == b"100"
    message.refresh_from_db()
    assert message.status == "delivered"
    # A late "in transit" never undoes the delivery.
    client.post(url, {"data[0]": "sms_status\n201-7\n102\n1733300009"})
    message.refresh_from_db()
    assert message.status == "delivered"


def test_a_failed_delivery_keeps_the_providers_reason(case, offer, client):
    grant(case.client)
    message = services.message_send(case=case, channel=Channel.SMS, by=case.assigned_to, now=NOON)
    Message.objects.filter(pk=message.pk).update(provider="smsc", provider_id="55", status="sent")
    url = reverse("messaging_callback", args=["smsc", callback_token("smsc")])
    assert (
        client.post(url, {"id": "55", "phone": "79161234567", "status": "20", "err": "3"}).content
        == b"OK"
    )
    message.refresh_from_db()
    assert (message.status, message.error) == ("failed", "SMSC 20: cannot be delivered (error 3)")


def test_a_callback_without_the_secret_is_not_found(client):
    assert (
        client.post(reverse("messaging_callback", args=["smsru", "guess"]), {}).status_code == 404
    )
    assert (
        client.post(
            reverse("messaging_callback", args=["console", callback_token("console")]), {}
        ).status_code
        == 404
    )


def test_a_stop_reply_withdraws_at_once_for_every_record_of_the_number(case, client):
    duplicate = ClientFactory(phone="+79161234567")
    grant(case.client)
    grant(duplicate)
    url = reverse("messaging_callback", args=["smsc", callback_token("smsc")])
    response = client.post(
        url, {"id": "900", "phone": "79161234567", "mes": "Стоп", "to": "79000000000"}
    )
    assert response.status_code == 200
    for record in (case.client, duplicate):
        state = advertising(record)
        assert state.granted is False and state.source == "stop_reply"
    assert Suppression.objects.filter(kind="phone", value="+79161234567").exists()


def test_a_reply_that_is_not_stop_changes_nothing(case, client):
    grant(case.client)
    url = reverse("messaging_callback", args=["smsc", callback_token("smsc")])
    client.post(url, {"id": "901", "phone": "79161234567", "mes": "Спасибо, зайду"})
    assert advertising(case.client).granted is True
    assert not Suppression.objects.exists()


def test_the_unsubscribe_link_asks_then_withdraws_and_suppresses(case, client):
    grant(case.client, channel=Channel.EMAIL)
    url = reverse(
        "messaging_unsubscribe", args=[unsubscribe_token(client_id=case.client.pk, channel="email")]
    )
    page = client.get(url)
    assert page.status_code == 200 and advertising(case.client, Channel.EMAIL).granted is True
    done = client.post(url)  # no log-in, no CSRF token: a mail client's one-click post
    assert done.status_code == 200 and b"data-unsubscribed" in done.content
    state = advertising(case.client, Channel.EMAIL)
    assert state.granted is False and state.source == "unsubscribe"
    assert Suppression.objects.filter(kind="email", value="ivan@example.com").exists()


def test_a_forged_unsubscribe_link_is_not_found(case, client):
    token = unsubscribe_token(client_id=case.client.pk, channel="email")
    forged = f"{case.client.pk + 1}{token[len(str(case.client.pk)) :]}"
    assert client.post(reverse("messaging_unsubscribe", args=[forged])).status_code == 404
    assert client.get(reverse("messaging_unsubscribe", args=["12e000"])).status_code == 404


@pytest.fixture
def webhook(settings):
    settings.TELEGRAM_WEBHOOK_SECRET = "s3cret"
    return reverse("messaging_telegram", args=["s3cret"])


def update(text, chat=777):
    return json.dumps(
        {
            "update_id": 1,
            "message": {"message_id": 2, "chat": {"id": chat, "type": "private"}, "text": text},
        }
    )


def test_telegram_start_links_the_chat(case, client, webhook):
    body = update(f"/start {telegram_start_token(case.client.pk)}")
    response = client.post(
        webhook,
        body,
        content_type="application/json",
        HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN="s3cret",
    )
    assert response.status_code == 200
    assert response.json()["method"] == "sendMessage" and response.json()["chat_id"] == 777
    assert TelegramLink.objects.get(client=case.client).chat_id == 777


def test_telegram_start_with_a_forged_token_links_nothing(case, client, webhook):
    client.post(
        webhook,
        update(f"/start {case.client.pk}-000000000000"),
        content_type="application/json",
        HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN="s3cret",
    )
    assert not TelegramLink.objects.exists()


def test_telegram_webhook_needs_the_secret_header(client, webhook):
    assert (
        client.post(webhook, update("/start x"), content_type="application/json").status_code == 403
    )
    assert (
        client.post(
            reverse("messaging_telegram", args=["wrong"]),
            update("x"),
            content_type="application/json",
        ).status_code
        == 404
    )


def test_telegram_stop_withdraws_telegram_advertising(case, client, webhook):
    TelegramLink.objects.create(client=case.client, chat_id=777)
    grant(case.client, channel=Channel.TELEGRAM)
    response = client.post(
        webhook,
        update("STOP"),
        content_type="application/json",
        HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN="s3cret",
    )
    assert response.json()["method"] == "sendMessage"
    assert advertising(case.client, Channel.TELEGRAM).granted is False


def test_an_esp_bounce_fails_the_email_and_a_delivery_marks_it(case, offer):
    grant(case.client, channel=Channel.EMAIL)
    first = services.message_send(case=case, channel=Channel.EMAIL, by=case.assigned_to, now=NOON)
    Message.objects.filter(pk=first.pk).update(provider_id="esp-1", status="sent")
    tracking.send(
        sender=object,
        event=AnymailTrackingEvent(
            event_type="bounced", message_id="esp-1", description="mailbox full"
        ),
        esp_name="Unisender Go",
    )
    first.refresh_from_db()
    assert first.status == "failed" and "mailbox full" in first.error
    second = services.message_send(case=case, channel=Channel.EMAIL, by=case.assigned_to, now=NOON)
    Message.objects.filter(pk=second.pk).update(provider_id="esp-2", status="sent")
    tracking.send(
        sender=object,
        event=AnymailTrackingEvent(event_type="delivered", message_id="esp-2"),
        esp_name="Unisender Go",
    )
    second.refresh_from_db()
    assert second.status == "delivered"
