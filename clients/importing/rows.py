"""Turning a file's rows into the values that will be stored, or into reasons they cannot be.

``RowParser`` is built once per file from the column mapping and the lookups (segments by code
or name, managers by username) and then called for every row; it is pure and keeps no state
that grows with the file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from clients.importing import errors, fields
from clients.importing.values import (
    CellError,
    amount_text,
    check_email,
    normalize_phone,
    parse_date,
)

MAX_LENGTH = {
    fields.CLIENT: 64,
    fields.NAME: 255,
    fields.PHONE: 32,
    fields.EMAIL: 254,
    fields.PROMO_CODE: 40,
    fields.TRANSACTION_ID: 64,
}

# The order of values in a parsed row (and of the staging table's columns).
CLIENT_COLUMNS = ("line", "client", "name", "phone", "email", "segment_id", "manager_id")
TRANSACTION_COLUMNS = (
    "line",
    "client",
    "date",
    "amount",
    "margin",
    "promo_code",
    "external_id",
    "name",
    "phone",
    "email",
    "segment_id",
    "manager_id",
)
COLUMNS = {fields.CLIENTS: CLIENT_COLUMNS, fields.TRANSACTIONS: TRANSACTION_COLUMNS}


@dataclass(frozen=True)
class Lookups:
    segments: dict[str, int]  # lower-cased code and name -> id
    managers: dict[str, int]  # lower-cased username -> id


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a spreadsheet's 1001.0 is the id 1001
    return str(value).strip()


class RowParser:
    """``parse(number, cells, report)`` -> tuple of values in ``COLUMNS[kind]`` order, or None."""

    def __init__(
        self, kind: str, *, mapping: dict[str, int], headers: list[str], lookups: Lookups
    ) -> None:
        self.kind = kind
        self.mapping = mapping
        self.headers = headers
        self.lookups = lookups
        self.width = len(headers)
        self.columns = COLUMNS[kind]
        self._date_cache: dict[Any, str] = {}
        index = mapping.get
        self._readers: list[tuple[str, int | None, Callable[[Any], Any] | None]] = []
        for name in self.columns[1:]:
            field = {
                "external_id": fields.TRANSACTION_ID,
                "segment_id": fields.SEGMENT,
                "manager_id": fields.MANAGER,
            }.get(name, name)
            self._readers.append((field, index(field), self._converter(field)))

    def column_name(self, field: str) -> str:
        position = self.mapping.get(field)
        if position is not None and position < len(self.headers) and self.headers[position]:
            return self.headers[position]
        return field

    def _converter(self, field: str) -> Callable[[Any], Any] | None:
        return {
            fields.DATE: self._date,
            fields.AMOUNT: amount_text,
            fields.MARGIN: amount_text,
            fields.PHONE: normalize_phone,
            fields.EMAIL: check_email,
            fields.SEGMENT: self._segment,
            fields.MANAGER: self._manager,
        }.get(field)

    def _date(self, value: Any) -> str:
        cached = self._date_cache.get(value)
        if cached is None:
            cached = parse_date(value).isoformat()
            if len(self._date_cache) > 100_000:
                self._date_cache.clear()
            self._date_cache[value] = cached
        return cached

    def _segment(self, value: str) -> int:
        found = self.lookups.segments.get(value.lower())
        if found is None:
            raise CellError(errors.UNKNOWN_SEGMENT)
        return found

    def _manager(self, value: str) -> int:
        found = self.lookups.managers.get(value.lower())
        if found is None:
            raise CellError(errors.UNKNOWN_MANAGER)
        return found

    def parse(self, number: int, cells: list[Any], report: errors.ErrorReport) -> tuple | None:
        length = len(cells)
        if length < self.width:
            report.add(
                row=number,
                column="",
                code=errors.TOO_FEW_COLUMNS,
                value="",
                found=length,
                expected=self.width,
            )
            return None
        if length > self.width and any(_cell_text(c) for c in cells[self.width :]):
            report.add(
                row=number,
                column="",
                code=errors.TOO_MANY_COLUMNS,
                value="",
                found=length,
                expected=self.width,
            )
            return None
        values: list[Any] = [number]
        ok = True
        for field, position, convert in self._readers:
            if position is None:
                values.append(None)
                continue
            raw = cells[position]
            text = _cell_text(raw)
            if not text:
                if field in fields.KINDS[self.kind].required:
                    report.add(row=number, column=self.column_name(field), code=errors.MISSING)
                    ok = False
                values.append(None)
                continue
            limit = MAX_LENGTH.get(field)
            if limit is not None and len(text) > limit:
                report.add(
                    row=number,
                    column=self.column_name(field),
                    code=errors.TOO_LONG,
                    value=text,
                    limit=limit,
                )
                ok = False
                values.append(None)
                continue
            if convert is None:
                values.append(text)
                continue
            try:
                values.append(
                    convert(raw if field == fields.DATE and not isinstance(raw, str) else text)
                )
            except CellError as exc:
                report.add(row=number, column=self.column_name(field), code=exc.code, value=text)
                ok = False
                values.append(None)
        return tuple(values) if ok else None
