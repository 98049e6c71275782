"""Phone systems as they sign their requests, and a fake one on 127.0.0.1 for the API side."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid

import pytest
from standardwebhooks.webhooks import Webhook

from reactivation.telephony.models import PhoneAccount

ZADARMA_KEY, ZADARMA_SECRET = "zd-key-123", "zd-secret-456"
MANGO_KEY, MANGO_SALT = "mango-key-abc", "mango-salt-def"
GENERIC_SECRET = "whsec_" + base64.b64encode(b"generic-signing-secret-32-bytes!").decode()


def make_account(
    provider: str, *, key: str, secret: str, base_url: str = "", **extra
) -> PhoneAccount:
    account = PhoneAccount(name=provider, provider=provider, base_url=base_url, **extra)
    account.set_api_key(key)
    account.set_api_secret(secret)
    account.save()
    return account


@pytest.fixture
def zadarma(db):
    return make_account("zadarma", key=ZADARMA_KEY, secret=ZADARMA_SECRET)


@pytest.fixture
def mango(db):
    return make_account("mango", key=MANGO_KEY, secret=MANGO_SALT)


@pytest.fixture
def generic(db):
    return make_account("generic", key="generic-api-key", secret=GENERIC_SECRET)


def hook_url(account: PhoneAccount, subpath: str = "") -> str:
    return f"/hooks/phone/{account.provider}/{account.current_token()}/{subpath}"


# --- Signing as each phone system signs ------------------------------------------------------
ZADARMA_FIELDS = {
    "NOTIFY_START": ("caller_id", "called_did", "call_start"),
    "NOTIFY_INTERNAL": ("caller_id", "called_did", "call_start"),
    "NOTIFY_END": ("caller_id", "called_did", "call_start"),
    "NOTIFY_ANSWER": ("caller_id", "destination", "call_start"),
    "NOTIFY_OUT_START": ("internal", "destination", "call_start"),
    "NOTIFY_OUT_END": ("internal", "destination", "call_start"),
    "NOTIFY_RECORD": ("pbx_call_id", "call_id_with_rec"),
}


def zadarma_signature(form: dict, secret: str = ZADARMA_SECRET) -> str:
    """PHP's base64_encode(hash_hmac('sha1', $text, $secret)): hash_hmac gives hex."""
    text = "".join(form.get(name, "") for name in ZADARMA_FIELDS[form["event"]])
    return base64.b64encode(
        hmac.new(secret.encode(), text.encode(), hashlib.sha1).hexdigest().encode()
    ).decode()


def mango_form(payload: dict, *, key: str = MANGO_KEY, salt: str = MANGO_SALT) -> dict:
    text = json.dumps(payload)
    return {
        "vpbx_api_key": key,
        "sign": hashlib.sha256((key + text + salt).encode()).hexdigest(),
        "json": text,
    }


def generic_headers(
    body: str, *, secret: str = GENERIC_SECRET, msg_id: str | None = None, when=None
) -> dict:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    when = when or dt.datetime.now(tz=dt.UTC)
    signature = Webhook(secret).sign(msg_id, when, body)
    return {
        "HTTP_WEBHOOK_ID": msg_id,
        "HTTP_WEBHOOK_TIMESTAMP": str(int(when.timestamp())),
        "HTTP_WEBHOOK_SIGNATURE": signature,
    }


@pytest.fixture
def send(client, django_capture_on_commit_callbacks):
    """``send(url, form=..., headers=...)`` or ``send(url, json_body=...)``: POST as the phone
    system does, running the after-commit processing as a worker would."""

    def _send(url, *, form=None, json_body=None, headers=None, signature=None, **extra):
        headers = dict(headers or {})
        if signature is not None:
            headers["HTTP_SIGNATURE"] = signature
        with django_capture_on_commit_callbacks(execute=True):
            if json_body is not None:
                return client.post(url, data=json_body, content_type="application/json", **headers)
            return client.post(url, data=form or {}, **headers)

    return _send
