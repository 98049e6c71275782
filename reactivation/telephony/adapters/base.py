"""The interface every phone-system adapter speaks, and the plain values it passes.

No Django here: an adapter reads a ``WebhookRequest`` (what the view got), says whether it is
signed by the phone system (``verify``), answers a set-up check (``handshake``), turns it into
``CallEvent`` values (``parse``), asks the phone system to connect a manager to a client
(``originate``) and finds a call's recording (``recording``).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

# Kinds of call events, in the order a call goes through them.
START = "start"
ANSWER = "answer"
END = "end"
RECORD = "record"

INBOUND = "inbound"
OUTBOUND = "outbound"

# Results of a finished call.
ANSWERED = "answered"
NO_ANSWER = "no_answer"
BUSY = "busy"
FAILED = "failed"
CANCELLED = "cancelled"

TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class AdapterConfig:
    provider: str
    api_key: str = ""
    api_secret: str = ""
    base_url: str = ""
    timezone: str = "Europe/Moscow"

    @property
    def tz(self) -> dt.tzinfo:
        return zoneinfo.ZoneInfo(self.timezone)


@dataclass(frozen=True)
class WebhookRequest:
    method: str
    headers: dict[str, str]  # names in lower case
    query: dict[str, str]
    form: dict[str, str]
    body: bytes
    received_at: dt.datetime
    subpath: str = ""  # what follows the token in the URL (Mango appends events/call ...)


@dataclass(frozen=True)
class CallEvent:
    """One thing that happened to one call, as the phone system reported it.

    ``key`` identifies the event itself (a second delivery has the same key); ``call_id`` the
    call. Times are aware. ``request_id`` is the id this product gave the phone system when it
    asked for the call (click-to-call), where the phone system hands it back.
    """

    key: str
    kind: str
    call_id: str
    at: dt.datetime
    direction: str = ""
    number: str = ""
    extension: str = ""
    duration: int | None = None
    result: str = ""
    recording_ref: str = ""
    recording_url: str = ""
    request_id: str = ""
    started_at: dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "call_id": self.call_id,
            "at": self.at.isoformat(),
            "direction": self.direction,
            "number": self.number,
            "extension": self.extension,
            "duration": self.duration,
            "result": self.result,
            "recording_ref": self.recording_ref,
            "recording_url": self.recording_url,
            "request_id": self.request_id,
            "started_at": self.started_at.isoformat() if self.started_at else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallEvent:
        values = dict(data)
        values["at"] = dt.datetime.fromisoformat(values["at"])
        if values.get("started_at"):
            values["started_at"] = dt.datetime.fromisoformat(values["started_at"])
        return cls(**values)


@dataclass(frozen=True)
class OriginateResult:
    call_id: str = ""  # empty: the phone system gave none (match the events by time window)
    request_id: str = ""


class OriginateError(Exception):
    """The phone system refused or could not be reached; ``message`` says why."""


@dataclass
class Adapter(ABC):
    """One phone system: each adapter implements the four abstract methods."""

    config: AdapterConfig
    default_base_url: str = field(default="", init=False)

    @property
    def base_url(self) -> str:
        return (self.config.base_url or self.default_base_url).rstrip("/")

    @abstractmethod
    def verify(self, request: WebhookRequest) -> bool:
        """Whether the request carries the phone system's valid signature."""

    def handshake(self, request: WebhookRequest) -> tuple[str, dict[str, str]] | None:
        """The body and headers answering a set-up check, or None when this is not one."""
        return None

    @abstractmethod
    def parse(self, request: WebhookRequest) -> list[CallEvent]:
        """The call events a verified request reports."""

    @abstractmethod
    def originate(self, *, extension: str, number: str, request_id: str) -> OriginateResult:
        """Ask the phone system to ring ``extension``, then ``number``."""

    @abstractmethod
    def recording(self, *, recording_ref: str, recording_url: str, call_id: str) -> str:
        """A link that plays the recording now (links expire), or "" when there is none."""


def local_time(text: str, tz: dt.tzinfo) -> dt.datetime:
    """A phone system's "YYYY-MM-DD HH:MM:SS" (or ISO 8601) read in the account's timezone;
    a time that carries its own offset keeps it."""
    value = dt.datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value


def to_int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None
