"""What ``export_clients`` and ``export_queue`` share: CSV, or XLSX by the file's extension."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from clients import exporting


def write_export(path: str, header: list[str], rows: Iterable[list[Any]]) -> int:
    target = Path(path)
    if not target.parent.is_dir():
        raise CommandError(f"No such directory: {target.parent}")
    suffix = target.suffix.lower()
    if suffix == ".xlsx":
        made = exporting.write_xlsx(header, rows)
        with made.handle, open(target, "wb") as out:
            shutil.copyfileobj(made.handle, out)
        return made.rows
    if suffix not in (".csv", ".txt", ""):
        raise CommandError(f"Unknown export format {suffix!r}: use .csv or .xlsx")
    with open(target, "w", encoding="utf-8", newline="") as out:
        return exporting.write_csv(out, header, rows)
