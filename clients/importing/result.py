"""What an import found and did."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clients.importing import errors


@dataclass
class ImportResult:
    """What an import found and did (or, for a dry run, would do)."""

    kind: str
    dry_run: bool
    format: str = ""
    encoding: str = ""
    delimiter: str = ""
    headers: list[str] = field(default_factory=list)
    mapping: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    clients_created: int = 0
    sample: list[dict[str, Any]] = field(default_factory=list)
    report: errors.ErrorReport = field(default_factory=errors.ErrorReport)
    file_error: errors.ImportFileError | None = None

    @property
    def ok(self) -> bool:
        return self.file_error is None and not self.report

    @property
    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "clients_created": self.clients_created,
        }
