"""SMS Aero, API v2 (https://smsaero.ru/integration/documentation/api/): ``POST /v2/sms/send``
with HTTP basic auth (the account's e-mail and API key) and ``number``, ``text``, ``sign`` and
``callbackUrl``; the answer is ``{"success": true, "data": {"id": ..., "status": ...}}``.
The status of the message is then posted to ``callbackUrl`` (``id`` and ``status``).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

from reactivation.messaging.providers.base import (
    InboundReply,
    PermanentProviderError,
    Provider,
    ProviderResult,
    StatusReport,
    digits,
    http_request,
    json_of,
    sms_base_url,
)
from reactivation.messaging.selectors import callback_url

DEFAULT_BASE_URL = "https://gate.smsaero.ru"
DEFAULT_SIGN = "SMS Aero"
# 0 queued, 3 passed to the operator, 4 waiting for the status, 8 on moderation; 1 delivered;
# 2 not delivered, 6 rejected.
DELIVERED = {1}
IN_TRANSIT = {0, 3, 4, 8}
FAILED = {2: "not delivered", 6: "rejected"}
CALLBACK_ANSWER = "OK"


class SmsAeroProvider(Provider):
    name = "smsaero"
    channel = "sms"

    def send(self, message: Any) -> ProviderResult:
        payload = {
            "number": digits(message.to),
            "text": message.text,
            "sign": settings.SMS_SENDER or DEFAULT_SIGN,
            "callbackUrl": callback_url(self.name),
        }
        response = http_request(
            "POST",
            f"{sms_base_url(DEFAULT_BASE_URL)}/v2/sms/send",
            json=payload,
            auth=(settings.SMSAERO_EMAIL, settings.SMSAERO_API_KEY),
        )
        if response.status_code == 401:
            raise PermanentProviderError("SMS Aero: authorisation failed (e-mail or API key)")
        body = json_of(response)
        data = body.get("data") or {}
        if not body.get("success") or not isinstance(data, dict) or data.get("id") is None:
            raise PermanentProviderError(f"SMS Aero: {body.get('message') or 'refused'}")
        status = "delivered" if data.get("status") in DELIVERED else "sent"
        return ProviderResult(provider_id=str(data["id"]), status=status)

    def parse_status(self, request: Any) -> list[StatusReport | InboundReply]:
        data: Any = request.POST
        if (request.content_type or "").startswith("application/json"):
            try:
                data = json.loads(request.body or b"{}")
            except ValueError:
                return []
            if isinstance(data.get("data"), dict):
                data = data["data"]
        raw = str(data.get("status", "")).strip()
        if data.get("id") in (None, "") or not raw.lstrip("-").isdigit():
            return []
        code, sms_id = int(raw), str(data["id"])
        if code in DELIVERED:
            return [StatusReport(sms_id, "delivered")]
        if code in FAILED:
            return [StatusReport(sms_id, "failed", f"SMS Aero {code}: {FAILED[code]}")]
        return [StatusReport(sms_id, "sent")]
