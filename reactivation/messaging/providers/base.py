"""The interface every provider speaks, and the HTTP call they share.

A provider sends one message and reads its own status callbacks:

- ``send(message) -> ProviderResult``: the provider's id for the message; raises
  ``TransientProviderError`` for what a retry may cure (the network, a 5xx, a rate limit) and
  ``PermanentProviderError`` for what it will not (a 4xx, a wrong number, no money), each with
  the provider's own reason;
- ``parse_status(request) -> list[StatusReport | InboundReply]``: what a callback from the
  provider says: delivery reports, and replies from clients (a STOP).

Providers write nothing: the services apply what they return.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings

TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class ProviderResult:
    provider_id: str
    status: str = "sent"  # "sent", or "delivered" where the provider knows at once


@dataclass(frozen=True)
class StatusReport:
    provider_id: str
    status: str  # "sent", "delivered" or "failed"
    reason: str = ""


@dataclass(frozen=True)
class InboundReply:
    address: str  # the phone (E.164) or the Telegram chat id that wrote
    text: str


class ProviderError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientProviderError(ProviderError):
    """Worth a retry: the network, a server error, a rate limit."""


class PermanentProviderError(ProviderError):
    """A retry would fail the same way: the message fails with the provider's reason."""


class Provider(ABC):
    """One provider of one channel: each implements ``send``; ``parse_status`` reads its
    status callbacks where it has them."""

    name = ""
    channel = ""

    @abstractmethod
    def send(self, message: Any) -> ProviderResult:
        """Hand the message to the provider; raise a ProviderError subclass on failure."""

    def parse_status(self, request: Any) -> list[StatusReport | InboundReply]:
        return []


def sms_base_url(default: str) -> str:
    return (settings.SMS_BASE_URL or default).rstrip("/")


def digits(phone: str) -> str:
    """An E.164 phone as most Russian gateways take it: digits only (79161234567)."""
    return "".join(ch for ch in phone if ch.isdigit())


def http_request(method: str, url: str, **kwargs: Any) -> requests.Response:
    """One HTTP call; a network failure, a 5xx or a 429 is transient, other 4xx permanent."""
    try:
        response = requests.request(method, url, timeout=TIMEOUT_SECONDS, **kwargs)
    except requests.RequestException as error:
        raise TransientProviderError(f"network: {error.__class__.__name__}") from error
    if response.status_code >= 500 or response.status_code == 429:
        raise TransientProviderError(f"HTTP {response.status_code}: {response.text[:200]}")
    return response


def json_of(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError as error:
        raise TransientProviderError(f"HTTP {response.status_code}: not JSON") from error
    if not isinstance(body, dict):
        raise PermanentProviderError(f"HTTP {response.status_code}: unexpected answer")
    return body
