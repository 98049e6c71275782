"""A generic phone-system webhook: signed JSON for any system this product has no adapter for.

The request is a POST of one JSON object, signed as Standard Webhooks sign theirs
(https://www.standardwebhooks.com/: ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature`` headers, HMAC-SHA256 keyed with the ``whsec_...`` secret, refused when
older than five minutes). The object (docs/telephony.md):

    {"type": "start" | "answer" | "end" | "record", "call_id": "...",
     "direction": "inbound" | "outbound", "number": "+7...", "extension": "101",
     "at": "2026-12-04T10:00:00+03:00", "started_at": "...", "duration": 65,
     "result": "answered" | "no_answer" | "busy" | "failed" | "cancelled",
     "recording_url": "https://...", "request_id": "..."}

Click-to-call POSTs ``{"extension", "number", "request_id"}`` to ``<base URL>/calls`` with
``Authorization: Bearer <API key>`` and reads ``{"call_id": ...}`` back (optional).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import requests
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from reactivation.telephony.adapters import base
from reactivation.telephony.adapters.base import CallEvent, OriginateError, OriginateResult

KINDS = {base.START, base.ANSWER, base.END, base.RECORD}
RESULTS = {base.ANSWERED, base.NO_ANSWER, base.BUSY, base.FAILED, base.CANCELLED}


@dataclass
class GenericAdapter(base.Adapter):
    def verify(self, request: base.WebhookRequest) -> bool:
        if not self.config.api_secret:
            return False
        try:
            Webhook(self.config.api_secret).verify(request.body, request.headers)
        except (WebhookVerificationError, ValueError):
            return False
        return True

    def parse(self, request: base.WebhookRequest) -> list[CallEvent]:
        try:
            data = json.loads(request.body)
        except ValueError:
            return []
        if not isinstance(data, dict) or data.get("type") not in KINDS or not data.get("call_id"):
            return []
        tz = self.config.tz
        try:
            at = base.local_time(str(data["at"]), tz) if data.get("at") else request.received_at
            started = (
                base.local_time(str(data["started_at"]), tz) if data.get("started_at") else None
            )
        except ValueError:
            return []
        direction = (
            data.get("direction") if data.get("direction") in (base.INBOUND, base.OUTBOUND) else ""
        )
        return [
            CallEvent(
                key=request.headers.get("webhook-id", ""),
                kind=data["type"],
                call_id=str(data["call_id"]),
                at=at,
                started_at=started or (at if data["type"] == base.START else None),
                direction=direction,
                number=str(data.get("number") or ""),
                extension=str(data.get("extension") or ""),
                duration=base.to_int(data.get("duration")),
                result=data.get("result") if data.get("result") in RESULTS else "",
                recording_url=str(data.get("recording_url") or ""),
                request_id=str(data.get("request_id") or ""),
            )
        ]

    def originate(self, *, extension: str, number: str, request_id: str) -> OriginateResult:
        if not self.base_url:
            raise OriginateError("no base URL is set for this phone system")
        try:
            response = requests.post(
                self.base_url + "/calls",
                json={"extension": extension, "number": number, "request_id": request_id},
                headers={"Authorization": f"Bearer {self.config.api_key}"},
                timeout=base.TIMEOUT_SECONDS,
            )
            data = response.json() if response.content else {}
        except (requests.RequestException, ValueError) as exc:
            raise OriginateError(str(exc)) from exc
        if response.status_code >= 400:
            raise OriginateError(str(data.get("message") or response.status_code))
        return OriginateResult(call_id=str(data.get("call_id") or ""), request_id=request_id)

    def recording(self, *, recording_ref: str, recording_url: str, call_id: str) -> str:
        return recording_url
