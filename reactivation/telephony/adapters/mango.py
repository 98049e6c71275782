"""Mango Office VPBX API (https://www.mango-office.ru/support/api/).

Both ways a request is a form of ``vpbx_api_key``, ``sign`` and ``json``, where
``sign = sha256(vpbx_api_key + json + vpbx_api_salt)`` in hex. Events arrive at the URL given
in the cabinet with the event's path appended: ``events/call`` (each leg's state: Appeared,
Connected, OnHold, Disconnected, with ``entry_id`` naming the whole conversation and
``command_id`` echoing the id of a call this product asked for), ``events/summary`` (one per
conversation when it ends) and ``events/recording``. A call is asked for with
``commands/callback``: Mango rings the extension, then the number.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

import requests

from reactivation.telephony.adapters import base
from reactivation.telephony.adapters.base import CallEvent, OriginateError, OriginateResult

SUCCESS = 1000  # Mango's result code of an accepted command
RECORDING_LINK_SECONDS = 3 * 3600


def sign(key: str, payload: str, salt: str) -> str:
    return hashlib.sha256((key + payload + salt).encode()).hexdigest()


def _when(value: object) -> dt.datetime | None:
    seconds = base.to_int(value)
    if not seconds:
        return None
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def _party(data: dict, name: str) -> dict:
    value = data.get(name)
    return value if isinstance(value, dict) else {}


@dataclass
class MangoAdapter(base.Adapter):
    default_base_url: str = "https://app.mango-office.ru"

    def verify(self, request: base.WebhookRequest) -> bool:
        key = request.form.get("vpbx_api_key", "")
        given = request.form.get("sign", "")
        payload = request.form.get("json", "")
        if not (key and given and payload and self.config.api_key and self.config.api_secret):
            return False
        expected = sign(self.config.api_key, payload, self.config.api_secret)
        key_ok = hmac.compare_digest(key.encode(), self.config.api_key.encode())
        sign_ok = hmac.compare_digest(given.lower().encode(), expected.encode())
        return key_ok and sign_ok

    def parse(self, request: base.WebhookRequest) -> list[CallEvent]:
        try:
            data = json.loads(request.form.get("json", ""))
        except ValueError:
            return []
        if not isinstance(data, dict) or not data.get("entry_id"):
            return []
        kind = request.subpath.strip("/").removeprefix("events/")
        if kind == "call":
            return self._leg(data, request)
        if kind == "summary":
            return self._summary(data, request)
        if kind in ("recording", "record/added"):
            return self._recording(data, request)
        return []

    @staticmethod
    def _direction(data: dict) -> tuple[str, str, str]:
        """(direction, the outside number, the extension) of a leg or a summary."""
        caller, callee = _party(data, "from"), _party(data, "to")
        direction = {1: base.INBOUND, 2: base.OUTBOUND}.get(base.to_int(data.get("call_direction")))
        if direction is None:
            direction = base.OUTBOUND if caller.get("extension") else base.INBOUND
        if direction == base.OUTBOUND:
            return direction, str(callee.get("number", "")), str(caller.get("extension", ""))
        return direction, str(caller.get("number", "")), str(callee.get("extension", ""))

    def _leg(self, data: dict, request: base.WebhookRequest) -> list[CallEvent]:
        state = data.get("call_state")
        kind = {"Appeared": base.START, "Connected": base.ANSWER}.get(state)
        if kind is None:
            return []  # a leg on hold or hung up: the summary ends the conversation
        direction, number, extension = self._direction(data)
        at = _when(data.get("timestamp")) or request.received_at
        return [
            CallEvent(
                key=f"call:{data['entry_id']}:{data.get('call_id', '')}:{data.get('seq', '')}",
                kind=kind,
                call_id=str(data["entry_id"]),
                at=at,
                started_at=at if kind == base.START else None,
                direction=direction,
                number=number,
                extension=extension,
                request_id=str(data.get("command_id") or ""),
            )
        ]

    def _summary(self, data: dict, request: base.WebhookRequest) -> list[CallEvent]:
        if base.to_int(data.get("call_direction")) == 0:
            return []  # a call between two colleagues
        direction, number, extension = self._direction(data)
        created = _when(data.get("create_time"))
        talk = _when(data.get("talk_time"))
        ended = _when(data.get("end_time")) or request.received_at
        answered = base.to_int(data.get("entry_result")) == 1 and talk is not None
        return [
            CallEvent(
                key=f"summary:{data['entry_id']}",
                kind=base.END,
                call_id=str(data["entry_id"]),
                at=ended,
                started_at=created,
                direction=direction,
                number=number,
                extension=extension,
                duration=int((ended - talk).total_seconds()) if answered else 0,
                result=base.ANSWERED if answered else base.NO_ANSWER,
            )
        ]

    def _recording(self, data: dict, request: base.WebhookRequest) -> list[CallEvent]:
        if data.get("recording_state") not in (None, "Completed") or not data.get("recording_id"):
            return []
        return [
            CallEvent(
                key=f"recording:{data['recording_id']}",
                kind=base.RECORD,
                call_id=str(data["entry_id"]),
                at=_when(data.get("timestamp")) or request.received_at,
                recording_ref=str(data["recording_id"]),
                extension=str(data.get("extension") or ""),
            )
        ]

    def originate(self, *, extension: str, number: str, request_id: str) -> OriginateResult:
        payload = json.dumps(
            {
                "command_id": request_id,
                "from": {"extension": extension},
                "to_number": number.lstrip("+"),
            }
        )
        form = {
            "vpbx_api_key": self.config.api_key,
            "sign": sign(self.config.api_key, payload, self.config.api_secret),
            "json": payload,
        }
        try:
            response = requests.post(
                self.base_url + "/vpbx/commands/callback", data=form, timeout=base.TIMEOUT_SECONDS
            )
            result = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise OriginateError(str(exc)) from exc
        if response.status_code >= 400 or base.to_int(result.get("result")) != SUCCESS:
            raise OriginateError(f"Mango result {result.get('result', response.status_code)}")
        # Mango's events carry the command id back: the call is matched by it.
        return OriginateResult(request_id=request_id)

    def recording(self, *, recording_ref: str, recording_url: str, call_id: str) -> str:
        """A signed link to play the recording, valid for a few hours:
        ``queries/recording/link/<id>/play/<key>/<expires>/<sha256(key + expires + id + salt)>``."""
        if recording_url:
            return recording_url
        if not recording_ref:
            return ""
        expires = str(int(time.time()) + RECORDING_LINK_SECONDS)
        signature = hashlib.sha256(
            (self.config.api_key + expires + recording_ref + self.config.api_secret).encode()
        ).hexdigest()
        return (
            f"{self.base_url}/vpbx/queries/recording/link/{recording_ref}/play/"
            f"{self.config.api_key}/{expires}/{signature}"
        )
