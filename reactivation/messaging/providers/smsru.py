"""SMS.ru (https://sms.ru/api): ``/sms/send`` with api_id, to, msg, json=1.

The answer names each number with its own status and ``sms_id``. Delivery reports come to the
callback set in the SMS.ru cabinet as a form of ``data[]`` lines
``sms_status\\n<sms_id>\\n<status code>\\n<unix time>``; SMS.ru expects the body ``100`` back.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

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

DEFAULT_BASE_URL = "https://sms.ru"
# 220: the service is briefly unavailable; the rest of 2xx codes are refusals.
TRANSIENT_CODES = {220}
DELIVERED = {103, 110}
IN_TRANSIT = {100, 101, 102}
FAILED = {
    104: "expired",
    105: "deleted by the operator",
    106: "phone failure",
    107: "unknown reason",
    108: "rejected",
    150: "no route to the number",
}
CALLBACK_ANSWER = "100"


class SmsRuProvider(Provider):
    name = "smsru"
    channel = "sms"

    def send(self, message: Any) -> ProviderResult:
        number = digits(message.to)
        form = {"api_id": settings.SMSRU_API_ID, "to": number, "msg": message.text, "json": 1}
        if settings.SMS_SENDER:
            form["from"] = settings.SMS_SENDER
        response = http_request("POST", f"{sms_base_url(DEFAULT_BASE_URL)}/sms/send", data=form)
        body = json_of(response)
        if body.get("status") != "OK":
            code = int(body.get("status_code") or 0)
            reason = f"SMS.ru {code}: {body.get('status_text', '')}".strip()
            if code in TRANSIENT_CODES:
                raise TransientProviderError(reason)
            raise PermanentProviderError(reason)
        entry = (body.get("sms") or {}).get(number) or {}
        if entry.get("status") != "OK" or not entry.get("sms_id"):
            code = int(entry.get("status_code") or 0)
            reason = f"SMS.ru {code}: {entry.get('status_text', '')}".strip()
            if code in TRANSIENT_CODES:
                raise TransientProviderError(reason)
            raise PermanentProviderError(reason)
        return ProviderResult(provider_id=str(entry["sms_id"]))

    def parse_status(self, request: Any) -> list[StatusReport | InboundReply]:
        reports: list[StatusReport | InboundReply] = []
        for key in request.POST:
            if not key.startswith("data"):
                continue
            for line in request.POST.getlist(key):
                parts = line.replace("\r", "").split("\n")
                if (
                    len(parts) < 3
                    or parts[0] != "sms_status"
                    or not parts[2].strip().lstrip("-").isdigit()
                ):
                    continue
                sms_id, code = parts[1].strip(), int(parts[2])
                if code in DELIVERED:
                    reports.append(StatusReport(sms_id, "delivered"))
                elif code in IN_TRANSIT:
                    reports.append(StatusReport(sms_id, "sent"))
                elif code in FAILED:
                    reports.append(StatusReport(sms_id, "failed", f"SMS.ru {code}: {FAILED[code]}"))
        return reports
