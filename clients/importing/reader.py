"""Opening an import file: CSV (encoding and separator detected) or XLSX, row by row.

Nothing here holds the whole file: rows are read as they are consumed, so a file of millions of
rows needs the same memory as a small one, and the caps (``Caps``) are checked while the bytes
arrive, each with its own error, before memory can grow: a line, a cell, the header's width, the
rows, and what an XLSX workbook unpacks to (counted as it inflates). Row numbers are the ones a
user sees: the line on which a CSV record starts (the header is line 1), or the spreadsheet's row
number; an error names the line it is on.
"""

from __future__ import annotations

import codecs
import csv
import re
import zipfile
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from clients.importing import errors

UTF8, UTF8_BOM, CP1251, UTF16 = "utf-8", "utf-8-sig", "cp1251", "utf-16"
ENCODINGS = (UTF8, CP1251, UTF16)
DELIMITERS = (";", ",", "\t", "|")
SAMPLE_BYTES = 256 * 1024
XLSX_EXTENSIONS = (".xlsx", ".xlsm")
MB = 1024 * 1024


@dataclass(frozen=True)
class Caps:
    """What a file may hold (``IMPORT_MAX_*`` in the settings)."""

    unpacked_bytes: int = 2 * 1024**3
    cell_bytes: int = 256 * 1024
    columns: int = 300
    rows: int = 5_000_000

    @property
    def line_bytes(self) -> int:
        """No line can be longer than its widest legal row."""
        return self.cell_bytes * self.columns


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), UTF-16 (with one), else Windows-1251."""
    if sample.startswith(codecs.BOM_UTF8):
        return UTF8_BOM
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return UTF16
    decoder = codecs.getincrementaldecoder(UTF8)()
    try:
        decoder.decode(sample, final=False)  # a character cut at the sample's end is fine
    except UnicodeDecodeError:
        return CP1251
    return UTF8


def detect_delimiter(text: str) -> str:
    """The separator that splits the first lines into the same number (> 1) of columns.

    Candidates are tried on the first records of the sample; a separator inside quotes does not
    count. Ties go to the most columns, then to the order of ``DELIMITERS``.
    """
    lines = text.splitlines(keepends=True)
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may end mid-line
    lines = lines[:200]
    best, best_score = DELIMITERS[0], (-1.0, 0)
    for delimiter in DELIMITERS:
        try:
            records = [r for r in csv.reader(lines, delimiter=delimiter) if r][:50]
        except csv.Error:  # a field past the cell cap: not this separator, or the rows will say
            continue
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        agreeing = sum(
            1 for r in records if len(r) == width or (len(r) > width and not any(r[width:]))
        )
        score = (agreeing / len(records), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


_BREAK = re.compile(r"\r\n?|\n")


class _Lines:
    """The physical lines of a text file, decoded, with their line ends (as ``csv`` wants them).

    Lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r``, as Python's universal newlines do. The
    file is decoded one line at a time, not in blocks read ahead, so a bad byte or a NUL is
    reported on its own line; a line longer than the cap is refused before it is held whole.
    """

    def __init__(self, handle: IO[bytes], encoding: str, caps: Caps) -> None:
        self.handle = handle
        self.encoding = encoding
        self.limit = caps.line_bytes
        self.line = 0  # lines handed out so far
        self._decoder = codecs.getincrementaldecoder(encoding)("strict")
        self._pending = ""
        self._ready: deque[str] = deque()
        self._eof = False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        while not self._ready:
            if self._eof:
                raise StopIteration
            self._fill()
        self.line += 1
        return self._ready.popleft()

    def _next_line(self, before: str = "") -> int:
        """The number of the line ``before`` (text not yet handed out) ends on."""
        return self.line + 1 + len(_BREAK.findall(self._pending + before))

    def _fill(self) -> None:
        raw = self.handle.readline(self.limit)
        if len(raw) == self.limit and not raw.endswith(b"\n"):
            raise errors.ImportFileError(
                errors.LINE_TOO_LONG, line=self._next_line(), limit=self.limit // MB or 1
            )
        final = not raw
        try:
            text = self._decoder.decode(raw, final)
        except UnicodeDecodeError as exc:
            # The piece may hold lone carriage returns: count the lines before the bad byte.
            good = raw[: max(0, exc.start)].decode(self.encoding, errors="ignore")
            raise errors.ImportFileError(
                errors.BAD_ENCODING, encoding=self.encoding, line=self._next_line(good)
            ) from exc
        nul = text.find("\x00")
        if nul >= 0:
            raise errors.ImportFileError(errors.BINARY, line=self._next_line(text[:nul]))
        self._eof = final
        buf = self._pending + text
        self._pending = ""
        if buf.endswith("\n") and buf.count("\n") == 1 and "\r" not in buf[:-2]:
            self._ready.append(buf)  # the usual case: one whole line
            return
        start = 0
        for match in _BREAK.finditer(buf):
            if match.end() == len(buf) and match.group() == "\r" and not final:
                break  # perhaps the first half of "\r\n": wait for the next piece
            self._ready.append(buf[start : match.end()])
            start = match.end()
        rest = buf[start:]
        if final and rest:
            self._ready.append(rest)
        else:
            self._pending = rest


@dataclass
class Table:
    """An opened file: what was detected, its header, and its rows (read lazily)."""

    path: Path
    format: str  # "csv" or "xlsx"
    encoding: str = ""
    delimiter: str = ""
    headers: list[str] = field(default_factory=list)
    estimated_rows: int = 0
    caps: Caps = field(default_factory=Caps)
    _skip_lines: int = 0
    _sheet: str = ""  # the first worksheet's member in an XLSX archive
    _sheet_size: int = 0
    _sheet_read: int = 0

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(row number, cells) for every non-empty row after the header."""
        rows = self._xlsx_rows() if self.format == "xlsx" else self._csv_rows()
        for count, row in enumerate(rows, start=1):
            if count > self.caps.rows:
                raise errors.ImportFileError(errors.TOO_MANY_ROWS, limit=self.caps.rows)
            yield row

    def estimate(self, done: int) -> int:
        """About how many rows the file has, ``done`` of them read (for the progress bar)."""
        if self.format == "xlsx" and self._sheet_read:
            return max(done, round(done * self._sheet_size / self._sheet_read))
        return max(done, self.estimated_rows)

    def _records(self, handle: IO[bytes]) -> tuple[_Lines, Any]:
        csv.field_size_limit(self.caps.cell_bytes)
        lines = _Lines(handle, self.encoding, self.caps)
        return lines, csv.reader(lines, delimiter=self.delimiter)

    def read_header(self) -> list[str]:
        """The first record after Excel's ``sep=`` line, read from the file itself (a header
        longer than the detection sample is read whole)."""
        with open(self.path, "rb") as handle:
            lines, reader = self._records(handle)
            try:
                for _ in range(self._skip_lines):
                    next(reader, None)
                header = next(reader, None)
            except csv.Error as exc:
                raise _csv_error(exc, lines.line or 1) from exc
        if not header or not any(h.strip() for h in header):
            raise errors.ImportFileError(errors.NO_HEADER)
        if len(header) > self.caps.columns:
            raise errors.ImportFileError(
                errors.TOO_WIDE, found=len(header), limit=self.caps.columns
            )
        return [h.replace("\ufeff", "").strip() for h in header]

    def _csv_rows(self) -> Iterator[tuple[int, list[Any]]]:
        with open(self.path, "rb") as handle:
            lines, reader = self._records(handle)
            try:
                for _ in range(self._skip_lines + 1):  # "sep=;" and the header
                    next(reader, None)
                line = lines.line
                for record in reader:
                    start, line = line + 1, lines.line
                    if not record or (len(record) == 1 and not record[0].strip()):
                        continue
                    yield start, record
            except csv.Error as exc:
                raise _csv_error(exc, lines.line) from exc

    def _xlsx_rows(self) -> Iterator[tuple[int, list[Any]]]:
        width = len(self.headers)
        number = 1
        with _Workbook(self.path, self.caps) as book:
            try:
                for number, cells in book.rows(self._sheet):
                    self._sheet_read = book.read_bytes(self._sheet)
                    if number < 2 or not any(str(c).strip() for c in cells):
                        continue
                    if len(cells) < width:
                        cells += [""] * (width - len(cells))
                    yield number, cells
            except errors.ImportFileError as exc:
                exc.params.setdefault("line", number + 1)
                raise
            except Exception as exc:  # a damaged sheet: openpyxl and XML raise many kinds
                raise errors.ImportFileError(
                    errors.UNREADABLE, detail=errors.detail(exc, 200), line=number + 1
                ) from exc


def _csv_error(exc: csv.Error, line: int) -> errors.ImportFileError:
    if "field larger than field limit" in str(exc):
        return errors.ImportFileError(
            errors.CELL_TOO_LARGE, line=line, limit=max(1, csv.field_size_limit() // 1024)
        )
    return errors.ImportFileError(errors.UNREADABLE, detail=errors.detail(exc), line=line)


class _Counted:
    """A member of an XLSX archive, counted as it inflates: the workbook's unpacked total and
    the longest run of text between two tags (a cell's value) must stay under the caps."""

    def __init__(self, raw: IO[bytes], name: str, book: _GuardedZip) -> None:
        self.raw, self.name, self.book = raw, name, book
        self.count = 0
        self._run = 0  # bytes since the last "<"

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:  # read in steps, checking each, never all at once
            parts = []
            while part := self.read(MB):
                parts.append(part)
            return b"".join(parts)
        data = self.raw.read(size)
        self.count += len(data)
        self.book.counted(self.name, self.count)
        self._check_cells(data)
        return data

    def _check_cells(self, data: bytes) -> None:
        limit = self.book.caps.cell_bytes
        first = data.find(b"<")
        if first < 0:
            self._run += len(data)
        else:
            longest = self._run + first
            if len(data) > limit:
                longest = max(longest, *(len(piece) for piece in data.split(b"<")))
            if longest > limit:
                raise errors.ImportFileError(errors.CELL_TOO_LARGE, limit=max(1, limit // 1024))
            self._run = len(data) - data.rfind(b"<") - 1
        if self._run > limit:
            raise errors.ImportFileError(errors.CELL_TOO_LARGE, limit=max(1, limit // 1024))

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> _Counted:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _GuardedZip(zipfile.ZipFile):
    """An XLSX archive whose members are counted as they inflate (``_Counted``)."""

    def __init__(self, path: Path, caps: Caps) -> None:
        super().__init__(path)
        self.caps = caps
        self._unpacked: dict[str, int] = {}

    def open(self, name, mode="r", pwd=None, **kwargs):  # type: ignore[override]
        member = super().open(name, mode, pwd, **kwargs)
        if mode != "r":
            return member
        key = name.filename if isinstance(name, zipfile.ZipInfo) else name
        return _Counted(member, key, self)

    def counted(self, name: str, count: int) -> None:
        # A member read twice (openpyxl reads some twice) counts once, at its largest.
        if count > self._unpacked.get(name, 0):
            self._unpacked[name] = count
            if sum(self._unpacked.values()) > self.caps.unpacked_bytes:
                raise errors.ImportFileError(
                    errors.UNPACKED_TOO_LARGE, limit=self.caps.unpacked_bytes // MB
                )


class _Workbook:
    """An XLSX workbook read for its first worksheet's values, row by row.

    openpyxl reads the shared strings and styles; the sheet is then parsed here, row by row,
    from the XML itself, not from the ``<dimension>`` the file declares (openpyxl's read-only
    sheet stops at it, and without one parses the whole sheet into memory to look for it), and
    each finished row is dropped from the tree so memory stays flat.
    """

    def __init__(self, path: Path, caps: Caps) -> None:
        self.path, self.caps = path, caps
        self.archive: _GuardedZip | None = None

    def __enter__(self) -> _Workbook:
        from openpyxl.reader.excel import ExcelReader
        from openpyxl.styles.stylesheet import apply_stylesheet

        try:
            archive = _GuardedZip(self.path, self.caps)
            declared = sum(info.file_size for info in archive.infolist())
            if declared > self.caps.unpacked_bytes:
                archive.close()
                raise errors.ImportFileError(
                    errors.UNPACKED_TOO_LARGE, limit=self.caps.unpacked_bytes // MB
                )
            self.archive = archive
            with open(self.path, "rb") as handle:  # a handle: openpyxl judges a path by its name
                reader = ExcelReader(handle, read_only=True, data_only=True)
                reader.archive.close()
            reader.archive = archive  # every member now inflates through the counting guard
            reader.read_manifest()
            reader.read_strings()
            reader.read_workbook()
            apply_stylesheet(archive, reader.wb)
        except errors.ImportFileError:
            self.close()
            raise
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            self.close()
            raise errors.ImportFileError(errors.UNREADABLE, detail=errors.detail(exc, 200)) from exc
        self.reader = reader
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()
            self.archive = None

    def first_sheet(self) -> tuple[str, int]:
        """The first worksheet's member in the archive, and its unpacked size."""
        for _sheet, rel in self.reader.parser.find_sheets():
            if rel.target in self.reader.valid_files and "chartsheet" not in rel.Type:
                return rel.target, self.archive.getinfo(rel.target).file_size
        raise errors.ImportFileError(errors.NO_HEADER)

    def read_bytes(self, name: str) -> int:
        return self.archive._unpacked.get(name, 0)

    def rows(self, name: str) -> Iterator[tuple[int, list[Any]]]:
        """(row number, values) of every row the sheet holds, in the sheet's order."""
        from openpyxl.worksheet._reader import DATA_TAG, ROW_TAG, WorkSheetParser
        from openpyxl.xml.functions import iterparse

        wb = self.reader.wb
        with self.archive.open(name) as source:
            parser = WorkSheetParser(
                source,
                self.reader.shared_strings,
                data_only=True,
                epoch=wb.epoch,
                date_formats=wb._date_formats,
                timedelta_formats=wb._timedelta_formats,
            )
            data = None
            for event, element in iterparse(source, events=("start", "end")):
                if event == "start":
                    if element.tag == DATA_TAG:
                        data = element
                    continue
                if element.tag != ROW_TAG:
                    continue
                number, cells = parser.parse_row(element)
                if data is not None:
                    data.clear()  # the finished row (and its cells) leave the tree
                parser.row_dimensions.clear()  # a row's height etc., kept for every row else
                width = max((c["column"] for c in cells), default=0)
                values: list[Any] = [""] * width
                for cell in cells:
                    if cell["value"] is not None:
                        values[cell["column"] - 1] = cell["value"]
                yield number, values


def open_table(
    path: str | Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    caps: Caps | None = None,
) -> Table:
    """Open ``path`` (CSV or XLSX by content), detecting what was not given."""
    path, caps = Path(path), caps or Caps()
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if not sample.strip():
        raise errors.ImportFileError(errors.EMPTY_FILE)
    if sample.startswith(b"PK\x03\x04") or path.suffix.lower() in XLSX_EXTENSIONS:
        return _open_xlsx(path, caps)
    if sample.startswith(b"\xd0\xcf\x11\xe0"):  # the old binary .xls
        raise errors.ImportFileError(errors.UNSUPPORTED_FORMAT)
    table = Table(path=path, format="csv", encoding=encoding or detect_encoding(sample), caps=caps)
    if table.encoding != UTF16 and b"\x00" in sample:  # not text: say so before guessing more
        nul = sample.index(b"\x00")
        raise errors.ImportFileError(errors.BINARY, line=sample[:nul].count(b"\n") + 1)
    # The sample only guides detection (it may end mid-character); the rows are decoded strictly.
    text = sample.decode(table.encoding, errors="replace").lstrip("\ufeff")
    first_line = text.split("\n", 1)[0].strip()
    if first_line.lower().startswith("sep=") and len(first_line) == 5:  # Excel's separator hint
        table.delimiter = delimiter or first_line[4]
        table._skip_lines = 1
        text = text.split("\n", 1)[1] if "\n" in text else ""
    table.delimiter = delimiter or table.delimiter or detect_delimiter(text)
    table.headers = table.read_header()
    table.estimated_rows = _estimate_rows(path, sample)
    return table


def _open_xlsx(path: Path, caps: Caps) -> Table:
    table = Table(path=path, format="xlsx", caps=caps)
    with _Workbook(path, caps) as book:
        table._sheet, table._sheet_size = book.first_sheet()
        header: list[Any] = []
        try:
            number, cells = next(book.rows(table._sheet), (0, []))
        except errors.ImportFileError:
            raise
        except Exception as exc:
            raise errors.ImportFileError(
                errors.UNREADABLE, detail=errors.detail(exc, 200), line=1
            ) from exc
        if number == 1:
            header = cells
    headers = ["" if v is None else str(v).strip() for v in header]
    while headers and not headers[-1]:
        headers.pop()
    if not any(headers):
        raise errors.ImportFileError(errors.NO_HEADER)
    if len(headers) > caps.columns:
        raise errors.ImportFileError(errors.TOO_WIDE, found=len(headers), limit=caps.columns)
    table.headers = headers
    return table


def _estimate_rows(path: Path, sample: bytes) -> int:
    """Lines in the file minus the header: exact unless fields hold line breaks."""
    size = path.stat().st_size
    if size <= len(sample):
        return max(0, sample.count(b"\n") - (0 if sample.endswith(b"\n") else -1) - 1)
    lines = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(4 * 1024 * 1024):
            lines += chunk.count(b"\n")
    return max(0, lines - 1)
