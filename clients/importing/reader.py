"""Opening an import file: CSV (encoding and separator detected) or XLSX, row by row.

Nothing here holds the whole file: rows are read as they are consumed, so a file of millions of
rows needs the same memory as a small one. Row numbers are the ones a user sees: the line on
which a CSV record starts (the header is line 1), or the spreadsheet's row number.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clients.importing import errors

UTF8, UTF8_BOM, CP1251, UTF16 = "utf-8", "utf-8-sig", "cp1251", "utf-16"
ENCODINGS = (UTF8, CP1251, UTF16)
DELIMITERS = (";", ",", "\t", "|")
SAMPLE_BYTES = 256 * 1024
XLSX_EXTENSIONS = (".xlsx", ".xlsm")

csv.field_size_limit(16 * 1024 * 1024)


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
        records = [r for r in csv.reader(lines, delimiter=delimiter) if r][:50]
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


@dataclass
class Table:
    """An opened file: what was detected, its header, and its rows (read lazily)."""

    path: Path
    format: str  # "csv" or "xlsx"
    encoding: str = ""
    delimiter: str = ""
    headers: list[str] = field(default_factory=list)
    estimated_rows: int = 0
    _skip_lines: int = 0

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(row number, cells) for every non-empty row after the header."""
        if self.format == "xlsx":
            yield from self._xlsx_rows()
        else:
            yield from self._csv_rows()

    def _open_text(self) -> io.TextIOWrapper:
        return open(self.path, encoding=self.encoding, newline="", errors="strict")  # noqa: SIM115

    def _csv_rows(self) -> Iterator[tuple[int, list[Any]]]:
        with self._open_text() as handle:
            reader = csv.reader(handle, delimiter=self.delimiter)
            line = 0
            try:
                for _ in range(self._skip_lines + 1):  # "sep=;" and the header
                    next(reader, None)
                line = reader.line_num
                for record in reader:
                    start, line = line + 1, reader.line_num
                    if not record or (len(record) == 1 and not record[0].strip()):
                        continue
                    yield start, record
            except UnicodeDecodeError as exc:
                raise errors.ImportFileError(
                    errors.BAD_ENCODING, encoding=self.encoding, line=line + 1
                ) from exc
            except csv.Error as exc:
                raise errors.ImportFileError(
                    errors.UNREADABLE, detail=str(exc), line=line + 1
                ) from exc

    def _xlsx_rows(self) -> Iterator[tuple[int, list[Any]]]:
        workbook = _load_workbook(self.path)
        try:
            sheet = workbook.worksheets[0]
            width = len(self.headers)
            for number, values in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2):
                cells = ["" if v is None else v for v in values]
                if not any(str(c).strip() for c in cells):
                    continue
                if len(cells) < width:
                    cells += [""] * (width - len(cells))
                yield number, cells
        finally:
            workbook.close()


def _load_workbook(path: Path):
    from openpyxl import load_workbook

    try:
        return load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise errors.ImportFileError(errors.UNREADABLE, detail=str(exc)[:200], line=0) from exc


def open_table(
    path: str | os.PathLike, *, encoding: str | None = None, delimiter: str | None = None
) -> Table:
    """Open ``path`` (CSV or XLSX by content), detecting what was not given."""
    path = Path(path)
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if not sample.strip():
        raise errors.ImportFileError(errors.EMPTY_FILE)
    if sample.startswith(b"PK\x03\x04") or path.suffix.lower() in XLSX_EXTENSIONS:
        return _open_xlsx(path)
    if sample.startswith(b"\xd0\xcf\x11\xe0"):  # the old binary .xls
        raise errors.ImportFileError(errors.UNSUPPORTED_FORMAT)
    table = Table(path=path, format="csv", encoding=encoding or detect_encoding(sample))
    try:
        text = sample.decode(
            table.encoding, errors="ignore" if len(sample) == SAMPLE_BYTES else "strict"
        )
    except UnicodeDecodeError as exc:
        raise errors.ImportFileError(errors.BAD_ENCODING, encoding=table.encoding, line=1) from exc
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0].strip()
    if first_line.lower().startswith("sep=") and len(first_line) == 5:  # Excel's separator hint
        table.delimiter = delimiter or first_line[4]
        table._skip_lines = 1
        text = text.split("\n", 1)[1] if "\n" in text else ""
    table.delimiter = delimiter or table.delimiter or detect_delimiter(text)
    header = next(csv.reader(io.StringIO(text), delimiter=table.delimiter), None)
    if not header or not any(h.strip() for h in header):
        raise errors.ImportFileError(errors.NO_HEADER)
    table.headers = [h.replace("\ufeff", "").strip() for h in header]
    table.estimated_rows = _estimate_rows(path, sample)
    return table


def _open_xlsx(path: Path) -> Table:
    workbook = _load_workbook(path)
    try:
        sheet = workbook.worksheets[0]
        header = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), None)
        rows = max(0, (sheet.max_row or 1) - 1)
    finally:
        workbook.close()
    if not header or not any(v not in (None, "") for v in header):
        raise errors.ImportFileError(errors.NO_HEADER)
    headers = ["" if v is None else str(v).strip() for v in header]
    while headers and not headers[-1]:
        headers.pop()
    return Table(path=path, format="xlsx", headers=headers, estimated_rows=rows)


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
