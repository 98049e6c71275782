"""Why a row or a file was refused: reason codes, and the report that collects them.

Codes are stored (in ``ImportJob.errors``) and turned into words only when shown, so the report
reads in the language of whoever looks at it (``clients.importing.messages``).
"""

from __future__ import annotations

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
