"""Each provider against a fake server of that provider on 127.0.0.1 (pytest-httpserver): the
request it really sends, its success, its errors, and its status callback."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import pytest
from django.core import mail
from django.test import RequestFactory

from reactivation.messaging.providers import get_provider
from reactivation.messaging.providers.base import (
    InboundReply,
    PermanentProviderError,
    StatusReport,
    TransientProviderError,
)

rf = RequestFactory()


def sms(**kwargs):
    values = {
        "pk": 7,
        "client_id": 3,
        "channel": "sms",
        "to": "+79161234567",
        "text": "Привет! Код WB-7KQ4-M2XP",
        "subject": "",
    }
    values.update(kwargs)
    return SimpleNamespace(**values)


@pytest.fixture
def gateway(httpserver, settings):
    settings.SMS_BASE_URL = httpserver.url_for("/").rstrip("/")
    settings.SMS_SENDER = "Coffee"
    return httpserver


def only_request(httpserver):
    assert len(httpserver.log) == 1
    return httpserver.log[0][0]


# --- SMS.ru ---------------------------------------------------------------------------------------
def test_smsru_sends_the_documented_form_and_reads_the_sms_id(gateway, settings):
    settings.SMSRU_API_ID = "ABCD-1234"
    gateway.expect_request("/sms/send", method="POST").respond_with_json(
        {
            "status": "OK",
            "status_code": 100,
            "sms": {
                "79161234567": {"status": "OK", "status_code": 100, "sms_id": "000000-10000001"}
            },
            "balance": 4122.56,
        }
    )
    result = get_provider("smsru").send(sms())
    assert result.provider_id == "000000-10000001"
    form = only_request(gateway).form
    assert form.to_dict() == {
        "api_id": "ABCD-1234",
        "to": "79161234567",
        "msg": "Привет! Код WB-7KQ4-M2XP",
        "json": "1",
        "from": "Coffee",
    }


def test_smsru_refusals_are_permanent_and_its_outage_transient(gateway):
    gateway.expect_ordered_request("/sms/send").respond_with_json(
        {"status": "ERROR", "status_code": 200, "status_text": "Неправильный api_id"}
    )
    gateway.expect_ordered_request("/sms/send").respond_with_json(
        {
            "status": "OK",
            "sms": {
                "79161234567": {
                    "status": "ERROR",
                    "status_code": 207,
                    "status_text": "На этот номер нельзя отправлять",
                }
            },
        }
    )
    gateway.expect_ordered_request("/sms/send").respond_with_json(
        {"status": "ERROR", "status_code": 220, "status_text": "Сервис временно недоступен"}
    )
    gateway.expect_ordered_request("/sms/send").respond_with_data("Bad gateway", status=502)
    with pytest.raises(PermanentProviderError, match="200"):
        get_provider("smsru").send(sms())
    with pytest.raises(PermanentProviderError, match="207"):
        get_provider("smsru").send(sms())
    with pytest.raises(TransientProviderError, match="220"):
        get_provider("smsru").send(sms())
    with pytest.raises(TransientProviderError, match="HTTP 502"):
        get_provider("smsru").send(sms())


def test_smsru_status_callback_lines():
    request = rf.post(
        "/",
        {
            "data[0]": "sms_status\n000000-1\n103\n1733300000",
            "data[1]": "sms_status\n000000-2\n106\n1733300001",
            "data[2]": "sms_status\n000000-3\n102\n1733300002",
        },
    )
    reports = get_provider("smsru").parse_status(request)
    assert reports == [
        StatusReport("000000-1", "delivered"),
        StatusReport("000000-2", "failed", "SMS.ru 106: phone failure"),
        StatusReport("000000-3", "sent"),
    ]


# --- SMSC.ru --------------------------------------------------------------------------------------
def test_smsc_sends_login_psw_phones_mes_fmt3(gateway, settings):
    settings.SMSC_LOGIN, settings.SMSC_PASSWORD = "shop", "secret"
    gateway.expect_request("/sys/send.php", method="POST").respond_with_json({"id": 1234, "cnt": 2})
    assert get_provider("smsc").send(sms()).provider_id == "1234"
    form = only_request(gateway).form.to_dict()
    assert form == {
        "login": "shop",
        "psw": "secret",
        "phones": "79161234567",
        "mes": "Привет! Код WB-7KQ4-M2XP",
        "fmt": "3",
        "charset": "utf-8",
        "sender": "Coffee",
    }


def test_smsc_errors_by_code(gateway):
    gateway.expect_ordered_request("/sys/send.php").respond_with_json(
        {"error": "authorise error", "error_code": 2}
    )
    gateway.expect_ordered_request("/sys/send.php").respond_with_json(
        {"error": "too many requests", "error_code": 9}
    )
    with pytest.raises(PermanentProviderError, match="SMSC 2: authorise error"):
        get_provider("smsc").send(sms())
    with pytest.raises(TransientProviderError, match="SMSC 9"):
        get_provider("smsc").send(sms())


def test_smsc_status_and_incoming_callbacks():
    provider = get_provider("smsc")
    assert provider.parse_status(
        rf.post("/", {"id": "1234", "phone": "79161234567", "status": "1"})
    ) == [StatusReport("1234", "delivered")]
    assert provider.parse_status(
        rf.post("/", {"id": "1234", "phone": "79161234567", "status": "22", "err": "1"})
    ) == [StatusReport("1234", "failed", "SMSC 22: wrong number (error 1)")]
    assert provider.parse_status(
        rf.post("/", {"id": "99", "phone": "79161234567", "mes": "STOP"})
    ) == [InboundReply("+79161234567", "STOP")]


# --- SMS Aero -------------------------------------------------------------------------------------
def test_smsaero_posts_json_with_basic_auth(gateway, settings):
    settings.SMSAERO_EMAIL, settings.SMSAERO_API_KEY = "owner@shop.ru", "k" * 32
    gateway.expect_request("/v2/sms/send", method="POST").respond_with_json(
        {
            "success": True,
            "data": {
                "id": 12345,
                "from": "Coffee",
                "number": "79161234567",
                "text": "x",
                "status": 0,
                "extendStatus": "queue",
                "channel": "FREE SIGN",
                "cost": 5.49,
            },
            "message": None,
        }
    )
    assert get_provider("smsaero").send(sms()).provider_id == "12345"
    request = only_request(gateway)
    expected = "Basic " + base64.b64encode(f"owner@shop.ru:{'k' * 32}".encode()).decode()
    assert request.headers["Authorization"] == expected
    body = json.loads(request.data)
    assert (
        body["number"] == "79161234567"
        and body["sign"] == "Coffee"
        and body["text"].startswith("Привет")
    )
    assert "/messaging/callbacks/smsaero/" in body["callbackUrl"]


def test_smsaero_errors(gateway):
    gateway.expect_ordered_request("/v2/sms/send").respond_with_json(
        {"success": False, "data": None, "message": "Validation error."}, status=400
    )
    gateway.expect_ordered_request("/v2/sms/send").respond_with_data("", status=401)
    gateway.expect_ordered_request("/v2/sms/send").respond_with_data("", status=503)
    with pytest.raises(PermanentProviderError, match="Validation error"):
        get_provider("smsaero").send(sms())
    with pytest.raises(PermanentProviderError, match="authorisation"):
        get_provider("smsaero").send(sms())
    with pytest.raises(TransientProviderError):
        get_provider("smsaero").send(sms())


def test_smsaero_status_callback_json_and_form():
    provider = get_provider("smsaero")
    request = rf.post(
        "/",
        json.dumps({"id": 12345, "status": 1, "extendStatus": "delivery"}),
        content_type="application/json",
    )
    assert provider.parse_status(request) == [StatusReport("12345", "delivered")]
    assert provider.parse_status(rf.post("/", {"id": "12345", "status": "6"})) == [
        StatusReport("12345", "failed", "SMS Aero 6: rejected")
    ]


def test_a_network_failure_is_transient(settings):
    settings.SMS_BASE_URL = "http://127.0.0.1:9"  # nothing listens there
    with pytest.raises(TransientProviderError, match="network"):
        get_provider("smsru").send(sms())


# --- Telegram -------------------------------------------------------------------------------------
def test_telegram_sends_message_to_the_chat(httpserver, settings):
    settings.TELEGRAM_BASE_URL = httpserver.url_for("/").rstrip("/")
    settings.TELEGRAM_BOT_TOKEN = "123:ABC"
    httpserver.expect_request("/bot123:ABC/sendMessage", method="POST").respond_with_json(
        {
            "ok": True,
            "result": {"message_id": 55, "chat": {"id": 777, "type": "private"}, "text": "hi"},
        }
    )
    result = get_provider("telegram").send(sms(channel="telegram", to="777"))
    assert result.provider_id == "777:55"
    assert json.loads(only_request(httpserver).data) == {
        "chat_id": 777,
        "text": "Привет! Код WB-7KQ4-M2XP",
    }


def test_telegram_errors(httpserver, settings):
    settings.TELEGRAM_BASE_URL = httpserver.url_for("/").rstrip("/")
    settings.TELEGRAM_BOT_TOKEN = "123:ABC"
    httpserver.expect_ordered_request("/bot123:ABC/sendMessage").respond_with_json(
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
        status=403,
    )
    httpserver.expect_ordered_request("/bot123:ABC/sendMessage").respond_with_json(
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 5",
            "parameters": {"retry_after": 5},
        },
        status=429,
    )
    with pytest.raises(PermanentProviderError, match="blocked"):
        get_provider("telegram").send(sms(to="777"))
    with pytest.raises(TransientProviderError):
        get_provider("telegram").send(sms(to="777"))


def test_telegram_update_is_a_reply_from_the_chat():
    update = {
        "update_id": 1,
        "message": {
            "message_id": 3,
            "chat": {"id": 777, "type": "private"},
            "text": "/start 12-abc",
        },
    }
    request = rf.post("/", json.dumps(update), content_type="application/json")
    assert get_provider("telegram").parse_status(request) == [InboundReply("777", "/start 12-abc")]


# --- E-mail ---------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_email_goes_through_the_email_backend_with_an_unsubscribe_header(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = "shop@example.com"
    result = get_provider("email").send(
        sms(channel="email", to="ivan@example.com", subject="Для вас", text="Код WB-1")
    )
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert (sent.to, sent.subject, sent.body, sent.from_email) == (
        ["ivan@example.com"],
        "Для вас",
        "Код WB-1",
        "shop@example.com",
    )
    assert sent.extra_headers["Message-ID"] == result.provider_id
    assert "/u/3e" in sent.extra_headers["List-Unsubscribe"]


@pytest.mark.django_db
def test_email_through_an_anymail_esp_keeps_the_esps_id(settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    result = get_provider("email").send(
        sms(channel="email", to="ivan@example.com", subject="S", text="T")
    )
    assert result.provider_id == str(mail.outbox[0].anymail_status.message_id)


def test_an_smtp_outage_is_transient(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    with pytest.raises(TransientProviderError):
        get_provider("email").send(
            sms(channel="email", to="ivan@example.com", subject="S", text="T")
        )
