"""Why a row or a file was refused: reason codes, and the report that collects them.

Codes are stored (in ``ImportJob.errors``) and turned into words only when shown, so the report
reads in the language of whoever looks at it (``clients.importing.messages``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Row reasons.
MISSING = "missing"
TOO_FEW_COLUMNS = "too_few_columns"
TOO_MANY_COLUMNS = "too_many_columns"
BAD_DATE = "bad_date"
IMPOSSIBLE_DATE = "impossible_date"
BAD_NUMBER = "bad_number"
TOO_LARGE = "too_large"
TOO_LONG = "too_long"
BAD_EMAIL = "bad_email"
UNKNOWN_SEGMENT = "unknown_segment"
UNKNOWN_MANAGER = "unknown_manager"
DUPLICATE_ID = "duplicate_id"
DUPLICATE_CLIENT = "duplicate_client"

# File reasons.
EMPTY_FILE = "empty_file"
NO_HEADER = "no_header"
MISSING_COLUMNS = "missing_columns"
BAD_ENCODING = "bad_encoding"
UNREADABLE = "unreadable"
UNSUPPORTED_FORMAT = "unsupported_format"
BINARY = "binary"
TOO_WIDE = "too_wide"
LINE_TOO_LONG = "line_too_long"
CELL_TOO_LARGE = "cell_too_large"
TOO_MANY_ROWS = "too_many_rows"
UNPACKED_TOO_LARGE = "unpacked_too_large"

# Job reasons: why a run ended without reading the file to its end.
INTERRUPTED = "interrupted"
TIMED_OUT = "timed_out"
NOT_STARTED = "not_started"
INTERNAL = "internal"

FULL_REPORT_LIMIT = 1000


class ImportFileError(Exception):
    """The file as a whole cannot be read (nothing is written)."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass
class ErrorReport:
    """Every bad row: the first ``limit`` errors in full, and counts by reason for all of them."""

    limit: int = FULL_REPORT_LIMIT
    errors: list[dict[str, Any]] = field(default_factory=list)
    by_reason: Counter = field(default_factory=Counter)
    bad_rows: int = 0
    _last_row: int = -1

    def add(self, *, row: int, column: str, code: str, value: Any = "", **params: Any) -> None:
        if row != self._last_row:
            self.bad_rows += 1
            self._last_row = row
        self.by_reason[code] += 1
        if len(self.errors) < self.limit:
            text = "" if value is None else str(value)
            entry = {"row": row, "column": column, "code": code, "value": text[:80]}
            if params:
                entry["params"] = params
            self.errors.append(entry)

    def __bool__(self) -> bool:
        return bool(self.by_reason)

    @property
    def total(self) -> int:
        return sum(self.by_reason.values())

    def sort(self) -> None:
        self.errors.sort(key=lambda e: (e["row"], e["column"]))


# An absolute path (POSIX or Windows) in an exception's text: the server's layout is nobody's
# business on a page, so only the file's own name is kept.
_PATH = re.compile(r"(?<![\w.])(?:[A-Za-z]:)?(?:[\\/][\w.@+~-]+){2,}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` as it can be stored: NUL written as ``\\x00`` (PostgreSQL refuses it in text and
    JSON) and lone surrogates (which no encoding can write) replaced."""
    return _SURROGATE.sub("\ufffd", text.replace("\x00", "\\x00"))


def clean(value: Any) -> Any:
    """``clean_text`` applied to every string in a JSON-like value (keys included)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def detail(exc: BaseException, limit: int = 300) -> str:
    """An exception's text for a message: stored safely, absolute paths cut to the file's name."""
    text = str(exc) or type(exc).__name__
    return clean_text(_PATH.sub(lambda m: re.split(r"[\\/]", m.group())[-1], text))[:limit]
