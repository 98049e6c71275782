"""Shared argument parsing for the engine's commands."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError
from django.utils import timezone


def parse_date(value: str | None, *, option: str = "--as-of") -> dt.date:
    """A YYYY-MM-DD option, or today in the business timezone when omitted."""
    if value is None:
        return timezone.localdate()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option} must be a date as YYYY-MM-DD, not {value!r}.") from None
