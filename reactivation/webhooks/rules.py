"""When a webhook is tried again, and when: plain functions, no Django."""

from __future__ import annotations

import base64
import secrets

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
RETRY_STATUSES = frozenset({408, 429})


def secret_generate() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 24 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def is_success(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300


def should_retry(status_code: int | None) -> bool:
    """No answer (a connection error or a timeout), 408, 429 and 5xx are tried again; any
    other answer (another 4xx, a redirect) is final: sending it again would get the same."""
    if status_code is None:
        return True
    return status_code in RETRY_STATUSES or status_code >= 500


def backoff_seconds(attempt: int, *, base: float, cap: float) -> float:
    """Seconds to wait after the ``attempt``-th failed try (1-based): base, 2x base, 4x base...
    up to ``cap``."""
    return min(cap, base * 2 ** max(0, attempt - 1))


def retry_after_seconds(header: str | None) -> float | None:
    """The seconds a ``Retry-After`` header asks for (its number form; a date is ignored)."""
    if not header:
        return None
    try:
        seconds = float(header.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
