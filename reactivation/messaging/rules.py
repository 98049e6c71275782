"""Pure rules for sending: quiet hours and the frequency cap. No Django here."""

from __future__ import annotations

import datetime as dt

ERR_QUIET_HOURS_FORMAT = "Quiet hours are written as two hours, e.g. 21-9."


def parse_quiet_hours(text: str) -> tuple[int, int] | None:
    """``"21-9"`` -> (21, 9): from 21:00 to 09:00; empty -> None (no quiet hours)."""
    text = (text or "").strip()
    if not text:
        return None
    start, sep, end = text.partition("-")
    if not sep or not start.strip().isdigit() or not end.strip().isdigit():
        raise ValueError(ERR_QUIET_HOURS_FORMAT)
    first, last = int(start), int(end)
    if not (0 <= first <= 23 and 0 <= last <= 24):
        raise ValueError(ERR_QUIET_HOURS_FORMAT)
    return first, last % 24


def in_quiet_hours(moment: dt.time, hours: tuple[int, int] | None) -> bool:
    """Whether a local time falls in [start, end); the span may cross midnight (21-9)."""
    if hours is None:
        return False
    start, end = hours
    if start == end:
        return False
    hour = moment.hour
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end


def over_cap(recent: int, cap: int) -> bool:
    """Whether one more message would pass a cap of ``cap`` in the window (0: no cap)."""
    return cap > 0 and recent >= cap
