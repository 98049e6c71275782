"""The PostgreSQL fast path: PostgreSQL parses a good CSV file itself.

The file's bytes are streamed unchanged through ``COPY ... WITH (FORMAT csv, ENCODING ...)``
into a temporary table of text columns (plus the record number, an identity column filled in
COPY order); the cells are then checked and converted in SQL into the typed staging table the
write phase reads. Python only detects the format first (``reader.open_table``) and maps the
date texts, which are few, with the reader's own ``parse_date``.

The fast path only has to be right for good files. Whenever it cannot vouch for a file, it
gives up (``load`` returns False, having staged nothing) and the import reads the file with the
Python reader, which stays the one source of every error report. It gives up on:

- anything but a CSV transactions file in UTF-8 or Windows-1251 whose mapped columns are among
  client, date, amount, margin, promo code, transaction id and name (phones, e-mail addresses,
  segments and managers are checked in Python);
- a quote that PostgreSQL and Python's ``csv`` would read differently (one that does not open
  a field or is not followed by the end of the field), a line break inside a quoted field, a
  lone carriage return, or a byte that Windows-1251 does not define;
- any ``COPY`` error: a row with too few or too many cells (Python allows extra empty cells),
  an empty line, a mixed line ending, an encoding error;
- any cell outside the strict forms below, which are a subset of what ``RowParser`` accepts and
  are converted to exactly the values it produces:

  * texts (client, name, promo code, transaction id): ASCII spaces around are trimmed; after
    that the text must not start or end with any other whitespace Python's ``str.strip``
    removes, and must fit the column (``rows.MAX_LENGTH``); the client must not be empty;
  * numbers: digits, one ``.`` or ``,`` as the decimal separator, a sign, and spaces (also
    non-breaking, narrow and thin ones, and ``'``) anywhere as thousands separators; rounded to
    kopecks half away from zero, as ``parse_decimal`` does, and below 10^12;
  * dates: every distinct text goes through ``values.parse_date`` in Python.

A repeated transaction id is also left to the Python path, which reports it.
"""

from __future__ import annotations

import codecs
import uuid
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from typing import Any

import psycopg
from django.db import DatabaseError, connection, transaction

from clients.importing import fields
from clients.importing.reader import CP1251, DELIMITERS, UTF8, UTF8_BOM, Table
from clients.importing.rows import MAX_LENGTH
from clients.importing.values import CellError, parse_date

COPY_BYTES = 1 << 20
SEGMENT_BYTES = 8 << 20  # progress is recorded between segments
DATE_BATCH = 10_000
ENCODINGS = {UTF8: "UTF8", UTF8_BOM: "UTF8", CP1251: "WIN1251"}
# Staging column -> (field, kind of cell).
SUPPORTED = {
    "client": (fields.CLIENT, "text"),
    "date": (fields.DATE, "date"),
    "amount": (fields.AMOUNT, "number"),
    "margin": (fields.MARGIN, "number"),
    "promo_code": (fields.PROMO_CODE, "text"),
    "external_id": (fields.TRANSACTION_ID, "text"),
    "name": (fields.NAME, "text"),
}
REQUIRED = fields.KINDS[fields.TRANSACTIONS].required
# Every character Python's str.strip() removes, as code points for SQL's ascii().
WHITESPACE = tuple(code for code in range(0x3001) if chr(code).isspace())
SPACES = " \u00a0\u202f\u2009'"  # what values.amount_text removes anywhere in a number


class NotVouched(Exception):
    """The fast path cannot vouch for this file: the Python reader takes over."""


def applies(kind: str, table: Table, mapping: dict[str, int]) -> bool:
    """Whether the fast path may try this file at all."""
    return (
        connection.vendor == "postgresql"
        and kind == fields.TRANSACTIONS
        and table.format == "csv"
        and table.encoding in ENCODINGS
        and table.delimiter in DELIMITERS
        and set(mapping) <= {field for field, _kind in SUPPORTED.values()}
        and _server_is_utf8()
    )


def _server_is_utf8() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_encoding")
        return cursor.fetchone()[0].upper() in ("UTF8", "UTF-8")


class ByteCheck:
    """Watches the bytes on their way to COPY for what PostgreSQL and Python read differently.

    Quotes: a quote must open a field (at its start) and a closing quote must end it (be
    followed by the separator or a line break); ``""`` inside a quoted field is a quote. Line
    breaks inside quoted fields, lone carriage returns and (in Windows-1251) the undefined byte
    0x98 are refused too. Counts line feeds, so that records can be matched to lines.
    """

    def __init__(self, delimiter: bytes, encoding: str) -> None:
        self.delimiter = delimiter[0]
        self.check_98 = encoding == CP1251
        self.quoted = False
        self.previous = ord("\n")  # the byte before the data: a field starts here
        self.pending_quote = False  # a quote in a quoted field at a chunk's end
        self.line_feeds = 0
        self.returns = 0
        self.crlf = 0
        self.last = b""

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        if self.check_98 and b"\x98" in chunk:
            raise NotVouched("undefined byte")
        self.line_feeds += chunk.count(b"\n")
        self.returns += chunk.count(b"\r")
        self.crlf += chunk.count(b"\r\n") + (self.last == b"\r" and chunk[:1] == b"\n")
        if self.pending_quote or self.quoted or b'"' in chunk:
            self._quotes(chunk)
        self.previous = chunk[-1]
        self.last = chunk[-1:]

    def _quotes(self, chunk: bytes) -> None:
        position = 0
        if self.pending_quote:  # the previous chunk ended on a quote inside a quoted field
            self.pending_quote = False
            if chunk[0] == ord('"'):
                position = 1  # a doubled quote: still quoted
            else:
                self._closed(chunk[0])
        length = len(chunk)
        while True:
            found = chunk.find(b'"', position)
            if found < 0:
                if self.quoted and (b"\n" in chunk[position:] or b"\r" in chunk[position:]):
                    raise NotVouched("line break in a quoted field")
                return
            if self.quoted:
                inside = chunk[position:found]
                if b"\n" in inside or b"\r" in inside:
                    raise NotVouched("line break in a quoted field")
                if found + 1 == length:
                    self.pending_quote = True
                    return
                if chunk[found + 1] == ord('"'):
                    position = found + 2
                    continue
                self._closed(chunk[found + 1])
                position = found + 1
            else:
                before = chunk[found - 1] if found else self.previous
                if before not in (self.delimiter, ord("\n")):
                    raise NotVouched("quote inside a field")
                self.quoted = True
                position = found + 1

    def _closed(self, following: int) -> None:
        if following not in (self.delimiter, ord("\n"), ord("\r")):
            raise NotVouched("text after a closing quote")
        self.quoted = False

    def finish(self) -> int:
        """Lines in the data (the last one may lack its line feed)."""
        if self.pending_quote:
            self.pending_quote = False
            self.quoted = False  # closed by the end of the file
        if self.quoted:
            raise NotVouched("unterminated quote")
        if self.returns != self.crlf:
            raise NotVouched("lone carriage return")
        return self.line_feeds + (1 if self.last not in (b"", b"\n") else 0)


def load(
    table: Table,
    mapping: dict[str, int],
    staging_name: str,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Stage every row of ``table`` in ``staging_name``; returns the number of rows.

    Raises ``NotVouched`` when the Python reader must read the file; the caller then empties
    the staging table. Statements run on their own (inside a caller's transaction, each in a
    savepoint), so progress written between COPY segments is seen by the page at once and a
    failed statement leaves nothing behind but the temporary tables, which are dropped here.
    """
    raw = f"import_raw_{uuid.uuid4().hex[:12]}"
    try:
        return _load(table, mapping, staging_name, raw, progress)
    except (DatabaseError, psycopg.Error) as exc:
        raise NotVouched(str(exc)[:200]) from exc
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {raw}, {raw}_dates")


def _statement():
    """A savepoint inside a caller's transaction (a failed statement must not abort it)."""
    return transaction.atomic() if connection.in_atomic_block else nullcontext()


def _load(
    table: Table,
    mapping: dict[str, int],
    staging_name: str,
    raw: str,
    progress: Callable[[int, int], None] | None,
) -> int:
    width = len(table.headers)
    cells = [f"c{i}" for i in range(width)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE {raw} (line bigint GENERATED ALWAYS AS IDENTITY, "
            + ", ".join(f"{c} text" for c in cells)
            + ")"
        )
        records, lines = _copy(cursor, table, raw, cells, progress)
        if records != lines - 1:  # the header is one line, and so is every record
            raise NotVouched("records and lines differ")
        cursor.execute(f"ANALYZE {raw}")
        first_line = 2 + table._skip_lines
        # Each cell's intermediate text is computed once, in the inner query (OFFSET 0 keeps
        # the planner from inlining it into every expression that reads it).
        inner, joins, selects, checks = [f"r.line + {first_line - 1} AS line"], [], [], ["TRUE"]
        for column, (field_name, cell_kind) in SUPPORTED.items():
            position = mapping.get(field_name)
            if position is None:
                continue
            cell = f"r.c{position}"
            if cell_kind == "date":
                dates = _map_dates(cursor, raw, f"c{position}")
                joins.append(f"JOIN {dates} AS d{position} ON d{position}.raw = {cell}")
                inner.append(f"d{position}.day AS {column}")
                selects.append((column, f"x.{column}"))
            elif cell_kind == "number":
                columns, value = _number(cell, column, required=field_name in REQUIRED)
                inner += columns
                selects.append((column, value))
            else:
                required = field_name in REQUIRED
                columns, value, check = _text(cell, column, MAX_LENGTH[field_name], required)
                inner += columns
                selects.append((column, value))
                checks.append(check)
        names = ", ".join(["line"] + [c for c, _ in selects])
        values = ", ".join(["x.line"] + [v for _, v in selects])
        with _statement():
            cursor.execute(
                f"INSERT INTO {staging_name} ({names}) SELECT {values} "  # noqa: S608
                f"FROM (SELECT {', '.join(inner)} FROM {raw} AS r {' '.join(joins)} OFFSET 0) AS x "
                f"WHERE {' AND '.join(checks)}"
            )
            staged = cursor.rowcount
        if staged != records:
            raise NotVouched("a cell outside the strict forms")
    return records


def _copy(cursor, table: Table, raw: str, cells: list[str], progress) -> tuple[int, int]:
    """Stream the file after what Python already read (BOM, ``sep=``) into ``raw``, one COPY
    per segment of whole records so that progress can be recorded between them."""
    size = max(table.path.stat().st_size, 1)
    total = table.estimated_rows
    check = ByteCheck(table.delimiter.encode("ascii"), table.encoding)
    options = f"FORMAT csv, DELIMITER {_sql_text(table.delimiter)}, ENCODING '{ENCODINGS[table.encoding]}'"
    records = sent = 0
    with open(table.path, "rb") as handle:
        for number, segment in enumerate(_segments(handle, table, check)):
            header = ", HEADER true" if number == 0 else ""
            sql = f"COPY {raw} ({', '.join(cells)}) FROM STDIN WITH ({options}{header})"
            with _statement(), cursor.copy(sql) as copy:
                for piece in segment:
                    copy.write(piece)
            records += cursor.rowcount
            sent += sum(len(piece) for piece in segment)
            if progress:
                progress(min(int(total * sent / size), total), total)
    return records, check.finish()


def _segments(handle, table: Table, check: ByteCheck) -> Iterator[list[bytes]]:
    """The file's bytes in runs of about ``SEGMENT_BYTES`` that end at a line feed. Every line
    feed ends a record, as ``ByteCheck`` refuses line breaks inside quoted fields."""
    chunk = handle.read(COPY_BYTES)
    if chunk.startswith(codecs.BOM_UTF8):
        chunk = chunk[len(codecs.BOM_UTF8) :]
    for _ in range(table._skip_lines):  # Excel's "sep=;" line
        chunk = chunk.split(b"\n", 1)[1] if b"\n" in chunk else b""
    segment: list[bytes] = []
    length = 0
    while chunk:
        check.feed(chunk)
        cut = chunk.rfind(b"\n") + 1 if length + len(chunk) >= SEGMENT_BYTES else 0
        if cut:
            segment.append(chunk[:cut])
            yield segment
            segment, length = [], 0
            chunk = chunk[cut:]
        if chunk:
            segment.append(chunk)
            length += len(chunk)
        chunk = handle.read(COPY_BYTES)
    if segment:
        yield segment


def _text(cell: str, name: str, limit: int, required: bool) -> tuple[list[str], str, str]:
    """(inner columns, value, check) for a text cell: ASCII spaces trimmed, then no other
    whitespace at its ends."""
    value = f"x.{name}"
    codes = ", ".join(str(c) for c in WHITESPACE)
    check = (
        f"(ascii({value}) NOT IN ({codes}) AND ascii(right({value}, 1)) NOT IN ({codes}) "
        f"AND length({value}) <= {limit})"
    )
    if not required:
        check = f"({value} IS NULL OR {check})"
    return [f"NULLIF(btrim({cell}, ' '), '') AS {name}"], value, check


def _sql_text(text: str) -> str:
    return "E'" + "".join(f"\\u{ord(c):04x}" if not c.isalnum() else c for c in text) + "'"


def _number(cell: str, name: str, *, required: bool) -> tuple[list[str], str]:
    """(inner columns, value) for a number: digits, a sign, one decimal point or comma, and
    spaces; anything else fails the cast (an error: the Python reader takes over)."""
    # Spaces out; an ASCII-only cell (the usual one) needs no slower multibyte translate().
    spaceless = (
        f"CASE WHEN octet_length({cell}) = length({cell}) "
        f"THEN replace(replace({cell}, ' ', ''), {_sql_text(chr(39))}, '') "
        f"ELSE translate({cell}, {_sql_text(SPACES)}, '') END AS {name}"
    )
    plain = f"replace(x.{name}, ',', '.')"
    guard = f"translate(x.{name}, '0123456789.,+-', '') = ''"
    if required:
        return [spaceless], f"(CASE WHEN {guard} THEN {plain} ELSE 'bad' END)::numeric(14, 2)"
    blank = (
        f"x.{name}_cell IS NULL "
        f"OR translate(x.{name}_cell, {_sql_text(''.join(map(chr, WHITESPACE)))}, '') = ''"
    )
    value = (
        f"(CASE WHEN x.{name} <> '' AND {guard} THEN {plain} "
        f"WHEN {blank} THEN NULL ELSE 'bad' END)::numeric(14, 2)"
    )
    return [spaceless, f"{cell} AS {name}_cell"], value


def _map_dates(cursor, raw: str, column: str) -> str:
    """A table from each distinct date text to its date, parsed by ``parse_date``."""
    dates = f"{raw}_dates"
    cursor.execute(f"CREATE TEMP TABLE {dates} (raw text PRIMARY KEY, day date NOT NULL)")
    with transaction.atomic(), connection.connection.cursor(name=f"{raw}_distinct") as texts:
        texts.execute(f"SELECT DISTINCT {column} FROM {raw}")  # noqa: S608
        while batch := texts.fetchmany(DATE_BATCH):
            mapped = [(text, _date(text)) for (text,) in batch]
            with cursor.copy(f"COPY {dates} (raw, day) FROM STDIN") as copy:
                for row in mapped:
                    copy.write_row(row)
    cursor.execute(f"ANALYZE {dates}")
    return dates


def _date(text: Any) -> str:
    stripped = (text or "").strip()
    if not stripped:
        raise NotVouched("empty date")
    try:
        return parse_date(stripped).isoformat()
    except CellError as exc:
        raise NotVouched("date") from exc
