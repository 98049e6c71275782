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
from django.utils.translation import gettext_lazy as _

from clients.models import Status
from reactivation.models import Case
from reactivation.selectors.model import p_alive_for

CHUNK = 2000
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_HARMLESS = re.compile(r"[+\-]?[\d\s().,\-]*")


@dataclass(frozen=True)
class Column:
    """One column of an export: its machine name, its label in the interface's language, and
    how a value reads for people (``choices``: stored value -> label; ``flag``: yes or no)."""

    key: str
    label: Any
    choices: dict[str, Any] | None = None
    flag: bool = False


def _choices(model_choices: type) -> dict[str, Any]:
    return dict(model_choices.choices)


CLIENT_COLUMNS = [
    Column("external_id", _("Client code")),
    Column("status", _("Status"), choices=_choices(Status)),
    Column("cycle_days", _("Cycle, days")),
    Column("last_purchase_on", _("Last purchase")),
    Column("due_on", _("Status due on")),
    Column("p_alive", _("P(alive)")),
    Column("name", _("Name")),
    Column("phone", _("Phone")),
    Column("email", _("E-mail")),
    Column("segment", _("Segment")),
    Column("manager", _("Manager")),
    Column("abc_class", _("ABC class")),
    Column("first_purchase_on", _("First purchase")),
    Column("purchase_days", _("Purchase days")),
    Column("revenue", _("Revenue")),
    Column("margin", _("Margin")),
    Column("do_not_contact", _("Do not contact"), flag=True),
]
QUEUE_COLUMNS = [
    Column("external_id", _("Client code")),
    Column("status", _("Case status"), choices=_choices(Case.Status)),
    Column("assigned_to", _("Manager")),
    Column("opened_on", _("Opened")),
    Column("priority", _("Priority")),
    Column("client_name", _("Client")),
    Column("client_status", _("Client status"), choices=_choices(Status)),
    Column("abc_class", _("ABC class")),
    Column("potential_value", _("Potential value")),
    Column("attempts", _("Attempts")),
    Column("next_call_on", _("Next call")),
    Column("is_control", _("Control group"), flag=True),
]
# The machine format's header: the design's contract, which other tools read.
CLIENT_HEADER = [column.key for column in CLIENT_COLUMNS]
QUEUE_HEADER = [column.key for column in QUEUE_COLUMNS]


@dataclass(frozen=True)
class CsvFormat:
    """How a CSV is written.

    ``machine``: the contract's format for other tools: comma-separated, decimal point, ISO
    dates, the English column names and stored values. ``excel``: what a spreadsheet opens
    right in the reader's language: the interface's column names and values, and for Russian
    a semicolon, a decimal comma and DD.MM.YYYY dates (Excel under a Russian locale splits on
    ``;`` and reads ``,`` as the decimal separator).
    """

    name: str
    delimiter: str = ","
    decimal: str = "."
    date_format: str | None = None
    for_people: bool = False


MACHINE = CsvFormat("machine")
EXCEL_RU = CsvFormat("excel-ru", ";", ",", "%d.%m.%Y", for_people=True)
EXCEL_EN = CsvFormat("excel-en", ",", ".", "%Y-%m-%d", for_people=True)
FORMATS = {fmt.name: fmt for fmt in (MACHINE, EXCEL_RU, EXCEL_EN)}


def excel_format(language: str | None) -> CsvFormat:
    """The spreadsheet format for a page in ``language``."""
    return EXCEL_RU if (language or "").startswith("ru") else EXCEL_EN


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


def _csv_value(value: Any, column: Column, fmt: CsvFormat) -> Any:
    if value is None:
        return ""
    if fmt.for_people:
        if column.flag:
            return str(_("yes") if value else _("no"))
        if column.choices is not None and value in column.choices:
            return str(column.choices[value])
    if isinstance(value, dt.date):
        return value.strftime(fmt.date_format) if fmt.date_format else value.isoformat()
    if isinstance(value, (float, Decimal)) and fmt.decimal != ".":
        return str(value).replace(".", fmt.decimal)
    return neutralize(value)


class _Echo:
    def write(self, value: str) -> str:
        return value


def header(columns: list[Column], fmt: CsvFormat = MACHINE) -> list[str]:
    """Column names: the contract's keys, or the labels in the active language for people."""
    return [str(c.label) if fmt.for_people else c.key for c in columns]


def csv_lines(
    columns: list[Column], rows: Iterable[list[Any]], fmt: CsvFormat = MACHINE
) -> Iterator[str]:
    """CSV text, line by line: UTF-8 with a byte-order mark so spreadsheets read it right."""
    writer = csv.writer(_Echo(), delimiter=fmt.delimiter)
    yield "\ufeff" + writer.writerow(header(columns, fmt))
    for row in rows:
        yield writer.writerow([_csv_value(v, c, fmt) for v, c in zip(row, columns, strict=True)])


def write_csv(
    handle: IO[str], columns: list[Column], rows: Iterable[list[Any]], fmt: CsvFormat = MACHINE
) -> int:
    count = -1
    for count, line in enumerate(csv_lines(columns, rows, fmt)):  # noqa: B007
        handle.write(line)
    return max(count, 0)


@dataclass
class XlsxFile:
    handle: IO[bytes]
    rows: int


def write_xlsx(names: list[str], rows: Iterable[list[Any]], *, sheet: str = "export") -> XlsxFile:
    """An XLSX in a temporary file (deleted when closed), written row by row."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet)
    worksheet.append(names)
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
