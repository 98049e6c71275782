"""What ``export_clients`` and ``export_queue`` share: CSV, or XLSX by the file's extension."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import translation

from clients import exporting


def add_format_argument(parser: CommandParser) -> None:
    parser.add_argument(
        "--format",
        choices=["machine", "excel-ru"],
        default="machine",
        help="machine (default): the English column names and values other tools read; "
        "excel-ru: Russian headers and values, ';' and decimal commas for Russian Excel",
    )


def write_export(
    path: str, columns: list[exporting.Column], rows: Iterable[list[Any]], *, format: str
) -> int:
    """Write ``rows`` to ``path``: XLSX by its extension, else CSV in ``format``."""
    fmt = exporting.FORMATS[format]
    if fmt.for_people:
        # The Russian format reads in Russian whatever the process's language.
        translation.activate("ru")
    target = Path(path)
    if not target.parent.is_dir():
        raise CommandError(f"No such directory: {target.parent}")
    suffix = target.suffix.lower()
    if suffix == ".xlsx":
        made = exporting.write_xlsx(exporting.header(columns, fmt), rows)
        with made.handle, open(target, "wb") as out:
            shutil.copyfileobj(made.handle, out)
        return made.rows
    if suffix not in (".csv", ".txt", ""):
        raise CommandError(f"Unknown export format {suffix!r}: use .csv or .xlsx")
    with open(target, "w", encoding="utf-8", newline="") as out:
        return exporting.write_csv(out, columns, rows, fmt)
