"""Reading one cell: numbers, dates, phones and e-mail addresses as businesses type them.

Pure functions (no Django). Each parser returns the value or raises ``CellError`` with a reason
code from ``clients.importing.errors``; callers turn codes into messages in the user's language.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

import phonenumbers

from clients.importing import errors

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("1e12")  # the columns hold 14 digits, 2 after the point
MIN_YEAR, MAX_YEAR = 1900, 2100

_SPACES = str.maketrans({" ": None, "\u00a0": None, "\u202f": None, "\u2009": None, "'": None})
_CURRENCY = re.compile(r"(?:₽|руб\.?|р\.|rub|\$|€)$", re.IGNORECASE)
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:[.,]\d{3})+")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_TIME = re.compile(r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
_EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")


# Most cells already are a plain number once spaces are gone: canonical text without Decimal.
_SIMPLE = re.compile(r"-?(?:0|[1-9]\d{0,11})(?:[.,](\d{1,2}))?")


class CellError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def parse_decimal(value: object) -> Decimal:
    """``"1 234,50"``, ``"1,234.50"``, ``"1.234,50"``, ``"-12.5"``, ``"1 234 ₽"`` -> Decimal(2 places).

    A single comma or point is the decimal separator; several of the same kind, or the earlier
    of two different ones, separate thousands. Spaces (also non-breaking) are thousands
    separators too.
    """
    if isinstance(value, bool):
        raise CellError(errors.BAD_NUMBER)
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
    else:
        text = str(value).strip().translate(_SPACES).replace("\u2212", "-")
        text = _CURRENCY.sub("", text)
        if not _PLAIN_NUMBER.fullmatch(text):
            comma, point = text.rfind(","), text.rfind(".")
            if comma >= 0 and point >= 0:
                thousands, decimal = (".", ",") if comma > point else (",", ".")
                head, _sep, tail = text.rpartition(decimal)
                if (
                    thousands in tail
                    or not _THOUSANDS.fullmatch(head)
                    and not head.lstrip("+-").isdigit()
                ):
                    raise CellError(errors.BAD_NUMBER)
                text = head.replace(thousands, "") + "." + tail
            elif comma >= 0:
                if text.count(",") == 1:
                    text = text.replace(",", ".")
                elif _THOUSANDS.fullmatch(text):
                    text = text.replace(",", "")
                else:
                    raise CellError(errors.BAD_NUMBER)
            elif point >= 0 and _THOUSANDS.fullmatch(text):
                text = text.replace(".", "")
            if not _PLAIN_NUMBER.fullmatch(text):
                raise CellError(errors.BAD_NUMBER)
        try:
            number = Decimal(text)
        except InvalidOperation as exc:  # pragma: no cover - the pattern already checked it
            raise CellError(errors.BAD_NUMBER) from exc
    if not number.is_finite():
        raise CellError(errors.BAD_NUMBER)
    number = number.quantize(CENT, rounding=ROUND_HALF_UP)
    if abs(number) >= MAX_AMOUNT:
        raise CellError(errors.TOO_LARGE)
    return number if number else Decimal("0.00")


def parse_date(value: object) -> dt.date:
    """``YYYY-MM-DD`` or ``DD.MM.YYYY``, optionally followed by a time; spreadsheet dates too."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    match = _ISO.match(text)
    if match:
        year, month, day = int(match[1]), int(match[2]), int(match[3])
    else:
        match = _DOTTED.match(text)
        if not match:
            raise CellError(errors.BAD_DATE)
        day, month, year = int(match[1]), int(match[2]), int(match[3])
    if not _TIME.fullmatch(text, match.end()):
        raise CellError(errors.BAD_DATE)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise CellError(errors.IMPOSSIBLE_DATE)
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise CellError(errors.IMPOSSIBLE_DATE) from exc


@lru_cache(maxsize=65536)
def normalize_phone(text: str) -> str:
    """A valid Russian (or international) number in E.164; anything else as typed."""
    try:
        number = phonenumbers.parse(text, "RU")
    except phonenumbers.NumberParseException:
        return text
    if phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return text


def check_email(text: str) -> str:
    if not _EMAIL.fullmatch(text):
        raise CellError(errors.BAD_EMAIL)
    return text


def amount_text(value: object) -> str:
    """``parse_decimal`` then ``format_amount``, with a fast path for plain numbers."""
    if value.__class__ is str:
        text = value.translate(_SPACES)
        match = _SIMPLE.fullmatch(text)
        if match and not text.startswith("-0"):
            cents = match[1]
            if cents is None:
                return text + ".00"
            head = text[: match.start(1) - 1]
            return f"{head}.{cents}0" if len(cents) == 1 else f"{head}.{cents}"
    return format_amount(parse_decimal(value))


def format_amount(number: Decimal) -> str:
    """The canonical text of an amount, as transaction identities spell it: ``1234.50``."""
    return f"{number:.2f}"
