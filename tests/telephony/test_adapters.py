"""The adapters' pure parts: signatures as the phone systems compute them, sealed credentials."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac

import pytest

from reactivation.telephony import sealing
from reactivation.telephony.adapters import (
    AdapterConfig,
    WebhookRequest,
    adapter_for,
    mango,
    zadarma,
)


def test_zadarma_signature_is_base64_of_the_hex_hmac():
    expected = base64.b64encode(
        hmac.new(b"secret", b"79161234567749511122332026-12-04 10:00:00", hashlib.sha1)
        .hexdigest()
        .encode()
    ).decode()
    form = {
        "event": "NOTIFY_START",
        "caller_id": "79161234567",
        "called_did": "74951112233",
        "call_start": "2026-12-04 10:00:00",
    }
    assert zadarma.sign("secret", zadarma.signature_text(form)) == expected


@pytest.mark.parametrize(
    ("event", "text"),
    [
        ("NOTIFY_ANSWER", "CDT"),
        ("NOTIFY_OUT_START", "IDT"),
        ("NOTIFY_OUT_END", "IDT"),
        ("NOTIFY_RECORD", "PR"),
        ("NOTIFY_END", "CNT"),
    ],
)
def test_zadarma_signed_fields_per_event(event, text):
    form = {
        "event": event,
        "caller_id": "C",
        "destination": "D",
        "call_start": "T",
        "internal": "I",
        "pbx_call_id": "P",
        "call_id_with_rec": "R",
        "called_did": "N",
    }
    assert zadarma.signature_text(form) == text


def test_zadarma_unknown_event_is_not_verified():
    adapter = adapter_for(AdapterConfig(provider="zadarma", api_secret="s"))
    request = WebhookRequest(
        method="POST",
        headers={"signature": "x"},
        query={},
        form={"event": "NOTIFY_X"},
        body=b"",
        received_at=dt.datetime.now(tz=dt.UTC),
    )
    assert not adapter.verify(request)


def test_zadarma_api_header_follows_its_sdk():
    # method + sorted form-encoded query + md5(query), HMAC-SHA1 hex, base64.
    query = "from=101&to=79161234567"
    text = "/v1/request/callback/" + query + hashlib.md5(query.encode()).hexdigest()
    signature = base64.b64encode(
        hmac.new(b"sec", text.encode(), hashlib.sha1).hexdigest().encode()
    ).decode()
    header = zadarma.api_auth_header(
        "key", "sec", "/v1/request/callback/", {"to": "79161234567", "from": "101"}
    )
    assert header == f"key:{signature}"


def test_mango_sign_is_sha256_of_key_json_salt():
    assert mango.sign("k", '{"a":1}', "s") == hashlib.sha256(b'k{"a":1}s').hexdigest()


def test_mango_recording_link_is_signed():
    adapter = adapter_for(AdapterConfig(provider="mango", api_key="k", api_secret="s"))
    url = adapter.recording(recording_ref="R1", recording_url="", call_id="")
    parts = url.split("/")
    expires, signature = parts[-2], parts[-1]
    assert url.startswith("https://app.mango-office.ru/vpbx/queries/recording/link/R1/play/k/")
    assert signature == hashlib.sha256(f"k{expires}R1s".encode()).hexdigest()


def test_sealed_credentials_round_trip_and_refuse_tampering():
    sealed = sealing.seal("пароль-secret", secret="django-key")
    assert "secret" not in sealed
    assert sealing.unseal(sealed, secret="django-key") == "пароль-secret"
    assert sealing.seal("x", secret="k") != sealing.seal("x", secret="k")  # a fresh nonce each time
    with pytest.raises(sealing.SealError):
        sealing.unseal(sealed, secret="another-key")
    raw = bytearray(base64.urlsafe_b64decode(sealed[3:]))
    raw[20] ^= 1
    with pytest.raises(sealing.SealError):
        sealing.unseal("v1:" + base64.urlsafe_b64encode(bytes(raw)).decode(), secret="django-key")
    assert sealing.seal("", secret="k") == "" and sealing.unseal("", secret="k") == ""
