"""SMSC.ru (https://smsc.ru/api/http/): ``/sys/send.php`` with login, psw, phones, mes, fmt=3.

``fmt=3`` answers JSON: ``{"id": ..., "cnt": ...}`` or ``{"error": ..., "error_code": ...}``.
Status reports and incoming SMS come to the handler URL set in the SMSC cabinet as a form
(``id``, ``phone``, ``status``, ``err``; an incoming SMS carries ``mes``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from clients.search import normalize_phone
from reactivation.messaging.providers.base import (
    InboundReply,
    PermanentProviderError,
    Provider,
    ProviderResult,
    StatusReport,
    TransientProviderError,
    digits,
    http_request,
    json_of,
    sms_base_url,
)

DEFAULT_BASE_URL = "https://smsc.ru"
# 4: the address is blocked for a while; 9: too many simultaneous requests. Others are refusals
# (1 parameters, 2 login, 3 no money, 6 message forbidden, 7 number format, 8 cannot deliver).
TRANSIENT_CODES = {4, 9}
DELIVERED = {1, 2, 4}
IN_TRANSIT = {-1, 0}
FAILED = {
    3: "expired",
    20: "cannot be delivered",
    22: "wrong number",
    23: "forbidden",
    24: "not enough money",
    25: "number unavailable",
}
CALLBACK_ANSWER = "OK"


class SmscProvider(Provider):
    name = "smsc"
    channel = "sms"

    def send(self, message: Any) -> ProviderResult:
        form = {
            "login": settings.SMSC_LOGIN,
            "psw": settings.SMSC_PASSWORD,
            "phones": digits(message.to),
            "mes": message.text,
            "fmt": 3,
            "charset": "utf-8",
        }
        if settings.SMS_SENDER:
            form["sender"] = settings.SMS_SENDER
        response = http_request("POST", f"{sms_base_url(DEFAULT_BASE_URL)}/sys/send.php", data=form)
        body = json_of(response)
        if "error" in body or "error_code" in body:
            code = int(body.get("error_code") or 0)
            reason = f"SMSC {code}: {body.get('error', '')}".strip()
            if code in TRANSIENT_CODES:
                raise TransientProviderError(reason)
            raise PermanentProviderError(reason)
        if body.get("id") is None:
            raise PermanentProviderError("SMSC: no message id in the answer")
        return ProviderResult(provider_id=str(body["id"]))

    def parse_status(self, request: Any) -> list[StatusReport | InboundReply]:
        data = request.POST
        if data.get("mes") is not None and data.get("phone"):
            return [InboundReply(normalize_phone("+" + digits(data["phone"])), data["mes"])]
        raw = (data.get("status") or "").strip()
        if not data.get("id") or not raw.lstrip("-").isdigit():
            return []
        code = int(raw)
        if code in DELIVERED:
            return [StatusReport(str(data["id"]), "delivered")]
        if code in IN_TRANSIT:
            return [StatusReport(str(data["id"]), "sent")]
        reason = f"SMSC {code}: {FAILED.get(code, 'not delivered')}"
        if data.get("err"):
            reason += f" (error {data['err']})"
        return [StatusReport(str(data["id"]), "failed", reason)]
