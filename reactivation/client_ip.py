"""The address a request came from, for the log-in lockout (django-axes).

Without a reverse proxy it is ``REMOTE_ADDR``. Behind ``TRUSTED_PROXY_COUNT`` proxies each one
appends the address it received the request from to ``X-Forwarded-For``, so the client's real
address is the N-th entry from the right; anything further left was written by the client and
is ignored, because trusting it would let an attacker pick a fresh address for every guess.
"""

from __future__ import annotations

from ipaddress import ip_address

from django.conf import settings
from django.http import HttpRequest


def _valid(address: str) -> str | None:
    try:
        return str(ip_address(address.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    remote = _valid(request.META.get("REMOTE_ADDR", "") or "")
    hops = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if hops <= 0:
        return remote
    forwarded = [
        part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()
    ]
    if len(forwarded) < hops:
        # The proxies did not write the header as configured: fall back to the peer address.
        return remote
    return _valid(forwarded[-hops]) or remote
