"""Exports of the client list and of the queue to CSV and XLSX, streamed.

Rows are read in chunks (``iterator``: a server-side cursor on PostgreSQL) and written as they
come, so an export of a million rows holds one chunk in memory: CSV goes straight into the
response; XLSX is written by openpyxl's write-only workbook to a temporary file, then sent.

Text cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``,
a tab or a line break) are prefixed with an apostrophe, so an exported name like
``=HYPERLINK(...)`` stays text (OWASP "CSV injection"). Values made only of digits and
phone punctuation (``+7 916 123-45-67``, ``-12.50``) cannot run anything and are left alone.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from typing import IO, Any

from django.db.models import QuerySet

CHUNK = 2000
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_HARMLESS = re.compile(r"[+\-]?[\d\s().,\-]*")

CLIENT_HEADER = [
    "external_id",
    "status",
    "cycle_days",
    "last_purchase_on",
    "due_on",
    "p_alive",
    "name",
    "phone",
    "email",
    "segment",
    "manager",
    "abc_class",
    "first_purchase_on",
    "purchase_days",
    "revenue",
    "margin",
    "do_not_contact",
]
QUEUE_HEADER = [
    "external_id",
    "status",
    "assigned_to",
    "opened_on",
    "priority",
    "client_name",
    "client_status",
    "abc_class",
    "potential_value",
    "attempts",
    "next_call_on",
    "is_control",
]


def neutralize(value: Any) -> Any:
    """A text cell a spreadsheet would evaluate, made inert with a leading apostrophe."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_PREFIXES)
        and not _HARMLESS.fullmatch(value)
    ):
        return "'" + value
    return value


def _chunks(iterable: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(iterable)
    while chunk := list(islice(iterator, size)):
        yield chunk


def client_rows(queryset: QuerySet, *, as_of: dt.date) -> Iterator[list[Any]]:
    """One row per client, in the queryset's order, with P(alive) computed per chunk."""
    from reactivation.selectors.model import p_alive_for

    rows = queryset.select_related("segment", "manager", "stats").iterator(chunk_size=CHUNK)
    for chunk in _chunks(rows, CHUNK):
        alive = p_alive_for(chunk, as_of)
        for c in chunk:
            p = alive.get(c.pk)
            yield [
                c.external_id,
                c.status,
                None if c.cycle_days is None else round(c.cycle_days, 1),
                c.last_purchase_on,
                c.due_on,
                None if p is None else round(p, 4),
                c.name,
                c.phone,
                c.email,
                c.segment.code if c.segment_id else "",
                c.manager.username if c.manager_id else "",
                c.abc_class,
                c.first_purchase_on,
                c.purchase_days,
                c.revenue,
                c.margin,
                int(c.do_not_contact),
            ]


def queue_rows(queryset: QuerySet) -> Iterator[list[Any]]:
    """One row per open case."""
    rows = queryset.select_related("client__stats", "assigned_to").iterator(chunk_size=CHUNK)
    for case in rows:
        yield [
            case.client.external_id,
            case.status,
            case.assigned_to.username if case.assigned_to_id else "",
            case.opened_on,
            round(case.priority, 4),
            case.client.name,
            case.client.status,
            case.abc_class,
            case.potential_value,
            case.attempts,
            case.next_call_on,
            int(case.is_control),
        ]


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return neutralize(value)


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    """CSV text, line by line: UTF-8 with a byte-order mark so spreadsheets read it right."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(header)
    for row in rows:
        yield writer.writerow([_csv_value(v) for v in row])


def write_csv(handle: IO[str], header: list[str], rows: Iterable[list[Any]]) -> int:
    count = -1
    for count, line in enumerate(csv_lines(header, rows)):  # noqa: B007
        handle.write(line)
    return max(count, 0)


@dataclass
class XlsxFile:
    handle: IO[bytes]
    rows: int


def write_xlsx(header: list[str], rows: Iterable[list[Any]], *, sheet: str = "export") -> XlsxFile:
    """An XLSX in a temporary file (deleted when closed), written row by row."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet)
    worksheet.append(header)
    count = 0
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, str):
                cell = WriteOnlyCell(worksheet, value=neutralize(value))
                cell.data_type = "s"  # text, never a formula
                cells.append(cell)
            elif isinstance(value, dt.date):
                cell = WriteOnlyCell(worksheet, value=value)
                cell.number_format = "yyyy-mm-dd"
                cells.append(cell)
            elif isinstance(value, Decimal):
                cells.append(float(value))
            else:
                cells.append(value)
        worksheet.append(cells)
        count += 1
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - returned to the caller
    workbook.save(handle)
    handle.seek(0)
    return XlsxFile(handle=handle, rows=count)
