"""Reason codes in words, in the language of whoever reads the report."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from clients.importing import errors, fields

REASONS = {
    errors.MISSING: _("The value is empty but required."),
    errors.TOO_FEW_COLUMNS: _("The row has %(found)s columns, the header has %(expected)s."),
    errors.TOO_MANY_COLUMNS: _(
        "The row has %(found)s columns, the header has %(expected)s (an unquoted separator inside a value?)."
    ),
    errors.BAD_DATE: _("Not a date: use YYYY-MM-DD or DD.MM.YYYY."),
    errors.IMPOSSIBLE_DATE: _("No such date."),
    errors.BAD_NUMBER: _("Not a number."),
    errors.TOO_LARGE: _("The number is too large."),
    errors.TOO_LONG: _("Too long: at most %(limit)s characters."),
    errors.BAD_EMAIL: _("Not an e-mail address."),
    errors.UNKNOWN_SEGMENT: _("No segment with this code or name."),
    errors.UNKNOWN_MANAGER: _("No user with this username."),
    errors.DUPLICATE_ID: _("This transaction id already appears in row %(first)s."),
    errors.DUPLICATE_CLIENT: _("This client already appears in row %(first)s."),
    errors.EMPTY_FILE: _("The file is empty."),
    errors.NO_HEADER: _("The file has no header row."),
    errors.MISSING_COLUMNS: _(
        "Required columns are not found: %(columns)s. Map them by hand in the preview."
    ),
    errors.BAD_ENCODING: _(
        "The file is not valid %(encoding)s text (near line %(line)s). Choose another encoding."
    ),
    errors.UNREADABLE: _("The file cannot be read (near line %(line)s): %(detail)s"),
    errors.UNSUPPORTED_FORMAT: _(
        "Old .xls files are not supported: save the file as .xlsx or CSV."
    ),
    errors.BINARY: _(
        "This is not a CSV or XLSX table: line %(line)s holds a NUL byte, as binary files do. "
        "If it is UTF-16 text without a byte-order mark, choose that encoding."
    ),
    errors.TOO_WIDE: _(
        "The header has %(found)s columns; at most %(limit)s can be imported. "
        "Remove the columns you do not need."
    ),
    errors.LINE_TOO_LONG: _(
        "Line %(line)s is longer than %(limit)s MB: this is not a table of clients or purchases."
    ),
    errors.CELL_TOO_LARGE: _("A cell near row %(line)s is larger than %(limit)s KB."),
    errors.TOO_MANY_ROWS: _(
        "The file has more than %(limit)s rows: split it into several files and import each."
    ),
    errors.UNPACKED_TOO_LARGE: _(
        "The workbook unpacks to more than %(limit)s MB: save the sheet as CSV, or split it."
    ),
    errors.INTERRUPTED: _(
        "The import stopped %(attempts)s times (its background worker stopped) and was given up. "
        "Nothing was written. Try again, or ask the administrator to check the worker."
    ),
    errors.TIMED_OUT: _(
        "The import ran longer than %(minutes)s minutes and was stopped. Nothing was written."
    ),
    errors.NOT_STARTED: _(
        "The import did not start within %(minutes)s minutes: no background worker took it. "
        "Nothing was written. Ask the administrator to check the worker, then try again."
    ),
    errors.INTERNAL: _(
        "The import failed because of an unexpected error. Nothing was written. "
        "The details are in the server's log."
    ),
}

# When the reader cannot say where (a workbook's shared strings are no row).
REASONS_NOWHERE = {
    errors.CELL_TOO_LARGE: _("A cell of the workbook is larger than %(limit)s KB."),
    errors.UNREADABLE: _("The file cannot be read: %(detail)s"),
}

REASON_TITLES = {
    errors.MISSING: _("empty required value"),
    errors.TOO_FEW_COLUMNS: _("too few columns"),
    errors.TOO_MANY_COLUMNS: _("too many columns"),
    errors.BAD_DATE: _("not a date"),
    errors.IMPOSSIBLE_DATE: _("no such date"),
    errors.BAD_NUMBER: _("not a number"),
    errors.TOO_LARGE: _("number too large"),
    errors.TOO_LONG: _("value too long"),
    errors.BAD_EMAIL: _("not an e-mail address"),
    errors.UNKNOWN_SEGMENT: _("unknown segment"),
    errors.UNKNOWN_MANAGER: _("unknown manager"),
    errors.DUPLICATE_ID: _("repeated transaction id"),
    errors.DUPLICATE_CLIENT: _("repeated client"),
}

FIELD_LABELS = {
    fields.CLIENT: _("Client id"),
    fields.NAME: _("Name"),
    fields.PHONE: _("Phone"),
    fields.EMAIL: _("Email"),
    fields.SEGMENT: _("Segment"),
    fields.MANAGER: _("Manager"),
    fields.DATE: _("Date"),
    fields.AMOUNT: _("Amount"),
    fields.MARGIN: _("Margin"),
    fields.PROMO_CODE: _("Promo code"),
    fields.TRANSACTION_ID: _("Transaction id"),
}


def reason(code: str, params: dict[str, Any] | None = None) -> str:
    params = dict(params or {})
    if code in REASONS_NOWHERE and "line" not in params:
        text = str(REASONS_NOWHERE[code])
    else:
        text = str(REASONS.get(code, code))
    if code == errors.MISSING_COLUMNS and isinstance(params.get("columns"), list):
        params["columns"] = ", ".join(str(FIELD_LABELS.get(c, c)) for c in params["columns"])
    try:
        return text % params if params else text.replace("%%", "%")
    except (KeyError, TypeError, ValueError):
        return text


def reason_title(code: str) -> str:
    return str(REASON_TITLES.get(code, code))


def describe(error: dict[str, Any]) -> str:
    """One error entry of a report as a sentence."""
    return reason(error.get("code", ""), error.get("params"))
