"""Zadarma (and Novofon, which runs the same API): form-posted PBX notifications and the
REST API (https://zadarma.com/en/support/api/).

Notifications are POSTed as a form with ``event`` and the call's fields; the ``Signature``
header is base64 of the hex HMAC-SHA1, keyed with the API secret, of fields that depend on the
event (``SIGNED_FIELDS``). Setting the URL in the cabinet sends a GET with ``zd_echo``, which
must be echoed back. API requests carry ``Authorization: <key>:<signature>`` where the
signature is base64 of the hex HMAC-SHA1 of ``method + query + md5(query)``, the query being
the parameters sorted by name and form-encoded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import urlencode

import requests

from reactivation.telephony.adapters import base
from reactivation.telephony.adapters.base import CallEvent, OriginateError, OriginateResult

SIGNED_FIELDS: dict[str, tuple[str, ...]] = {
    "NOTIFY_START": ("caller_id", "called_did", "call_start"),
    "NOTIFY_INTERNAL": ("caller_id", "called_did", "call_start"),
    "NOTIFY_END": ("caller_id", "called_did", "call_start"),
    "NOTIFY_ANSWER": ("caller_id", "destination", "call_start"),
    "NOTIFY_OUT_START": ("internal", "destination", "call_start"),
    "NOTIFY_OUT_END": ("internal", "destination", "call_start"),
    "NOTIFY_RECORD": ("pbx_call_id", "call_id_with_rec"),
}

DISPOSITIONS = {
    "answered": base.ANSWERED,
    "busy": base.BUSY,
    "cancel": base.CANCELLED,
    "no answer": base.NO_ANSWER,
}  # the rest ("failed", "no money", "unallocated number", "line limit", ...) failed


def sign(secret: str, text: str) -> str:
    """base64 of the hex HMAC-SHA1, as Zadarma's own SDK computes it."""
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha1).hexdigest()
    return base64.b64encode(digest.encode()).decode()


def signature_text(form: dict[str, str]) -> str | None:
    fields = SIGNED_FIELDS.get(form.get("event", ""))
    if fields is None:
        return None
    return "".join(form.get(name, "") for name in fields)


def api_auth_header(key: str, secret: str, method: str, params: dict[str, str]) -> str:
    query = urlencode(sorted(params.items()))
    md5 = hashlib.md5(query.encode()).hexdigest()  # noqa: S324 (the API's own scheme)
    return f"{key}:{sign(secret, method + query + md5)}"


def _is_extension(value: str) -> bool:
    # A PBX extension is a short number (100-99999); a phone number is longer.
    return value.isdigit() and len(value) <= 5


@dataclass
class ZadarmaAdapter(base.Adapter):
    default_base_url: str = "https://api.zadarma.com"

    def verify(self, request: base.WebhookRequest) -> bool:
        text = signature_text(request.form)
        given = request.headers.get("signature", "")
        if text is None or not given or not self.config.api_secret:
            return False
        return hmac.compare_digest(sign(self.config.api_secret, text).encode(), given.encode())

    def handshake(self, request: base.WebhookRequest) -> tuple[str, dict[str, str]] | None:
        if request.method == "GET" and "zd_echo" in request.query:
            return request.query["zd_echo"], {}
        return None

    def parse(self, request: base.WebhookRequest) -> list[CallEvent]:
        form = request.form
        event = form.get("event", "")
        call_id = form.get("pbx_call_id", "")
        if not call_id or event not in SIGNED_FIELDS:
            return []
        tz = self.config.tz
        started = base.local_time(form["call_start"], tz) if form.get("call_start") else None
        now = request.received_at
        internal = form.get("internal", "")
        if event == "NOTIFY_RECORD":
            ref = form.get("call_id_with_rec", "")
            return [
                CallEvent(
                    key=f"{event}:{call_id}:{ref}",
                    kind=base.RECORD,
                    call_id=call_id,
                    at=now,
                    recording_ref=ref,
                )
            ]
        if event in ("NOTIFY_START", "NOTIFY_INTERNAL"):
            return [
                CallEvent(
                    key=f"{event}:{call_id}:{internal}",
                    kind=base.START,
                    call_id=call_id,
                    at=started or now,
                    started_at=started,
                    direction=base.INBOUND,
                    number=form.get("caller_id", ""),
                    extension=internal,
                )
            ]
        if event == "NOTIFY_ANSWER":
            destination = form.get("destination", "")
            extension = internal or (destination if _is_extension(destination) else "")
            return [
                CallEvent(
                    key=f"{event}:{call_id}:{extension or destination}",
                    kind=base.ANSWER,
                    call_id=call_id,
                    at=now,
                    started_at=started,
                    direction=base.INBOUND,
                    number=form.get("caller_id", ""),
                    extension=extension,
                )
            ]
        if event == "NOTIFY_OUT_START":
            return [
                CallEvent(
                    key=f"{event}:{call_id}",
                    kind=base.START,
                    call_id=call_id,
                    at=started or now,
                    started_at=started,
                    direction=base.OUTBOUND,
                    number=form.get("destination", ""),
                    extension=internal,
                )
            ]
        # NOTIFY_END, NOTIFY_OUT_END
        outbound = event == "NOTIFY_OUT_END"
        disposition = form.get("disposition", "").strip().lower()
        recorded = form.get("is_recorded", "") == "1"
        return [
            CallEvent(
                key=f"{event}:{call_id}",
                kind=base.END,
                call_id=call_id,
                at=now,
                started_at=started,
                direction=base.OUTBOUND if outbound else base.INBOUND,
                number=form.get("destination" if outbound else "caller_id", ""),
                extension=internal,
                duration=base.to_int(form.get("duration")),
                result=DISPOSITIONS.get(disposition, base.FAILED),
                recording_ref=form.get("call_id_with_rec", "") if recorded else "",
            )
        ]

    def _get(self, method: str, params: dict[str, str]) -> dict:
        header = api_auth_header(self.config.api_key, self.config.api_secret, method, params)
        try:
            response = requests.get(
                self.base_url + method,
                params=sorted(params.items()),
                headers={"Authorization": header},
                timeout=base.TIMEOUT_SECONDS,
            )
            data = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise OriginateError(str(exc)) from exc
        if response.status_code >= 400 or data.get("status") != "success":
            raise OriginateError(str(data.get("message") or response.status_code))
        return data

    def originate(self, *, extension: str, number: str, request_id: str) -> OriginateResult:
        # Zadarma rings ``from`` (the extension) first, then ``to``; it returns no call id,
        # so the call is matched to its events by extension, number and time.
        self._get("/v1/request/callback/", {"from": extension, "to": number.lstrip("+")})
        return OriginateResult(request_id=request_id)

    def recording(self, *, recording_ref: str, recording_url: str, call_id: str) -> str:
        if recording_url:
            return recording_url
        if not (recording_ref or call_id):
            return ""
        params = {"call_id": recording_ref} if recording_ref else {"pbx_call_id": call_id}
        data = self._get("/v1/pbx/record/request/", params)
        return data.get("link") or next(iter(data.get("links") or []), "")
