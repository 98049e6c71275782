"""The client search box: what people type, matched the way they mean it.

- A name, e-mail or code matches anywhere in it, whatever the letter case, Cyrillic included,
  on both databases. PostgreSQL's ``UPPER`` folds Cyrillic under a UTF-8 locale (the
  deployment's ``C.UTF-8`` or ``ru_RU.UTF-8``); SQLite's built-in ``LIKE`` folds ASCII only, so
  the embedded database gets a ``LIKE`` that folds every letter (:func:`sqlite_like`).
- A phone is typed in any common Russian form (``89123456789``, ``8 (912) 345-67-89``,
  ``+7 912 345 67 89``, ``9123456789``) and is matched against the stored E.164 number; phones
  are stored in E.164 by the import and by :meth:`clients.models.Client.save`.
- An exact code or phone comes first, then the rest by name.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

# A query that is a phone: digits with the usual separators, nothing else.
_PHONE_TYPED = re.compile(r"\+?[\d\s().-]+")
# Partial numbers shorter than this would match too many phones to be useful.
MIN_PHONE_DIGITS = 5
DEFAULT_REGION = "RU"


@lru_cache(maxsize=65536)
def normalize_phone(text: str, region: str = DEFAULT_REGION) -> str:
    """A valid number in E.164 (read in ``region`` when it has no country code); anything else
    stripped and as typed."""
    text = text.strip()
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return text
    if phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return text


@lru_cache(maxsize=65536)
def format_phone(text: str, region: str = DEFAULT_REGION) -> str:
    """A stored number as people read it: ``+79123456789`` -> ``+7 912 345-67-89``; anything
    that is not a valid number as it is."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return text
    if not phonenumbers.is_valid_number(number):
        return text
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_digits(text: str, region: str = DEFAULT_REGION) -> str | None:
    """The digits to look for in stored E.164 phones when ``text`` is typed as a phone, or None.

    A whole number becomes its E.164 digits; a part of one keeps its digits, except that a
    Russian trunk prefix ``8`` before ten digits is the country code ``7``.
    """
    text = text.strip()
    if not _PHONE_TYPED.fullmatch(text):
        return None
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) < MIN_PHONE_DIGITS:
        return None
    whole = normalize_phone(text, region)
    if whole.startswith("+"):
        return whole[1:]
    if region == "RU" and len(digits) == 11 and digits[0] == "8":
        return "7" + digits[1:]
    return digits


def client_search(queryset: QuerySet, value: str) -> QuerySet:
    """Clients whose name, e-mail, code or phone match ``value``, exact matches first."""
    value = value.strip()
    if not value:
        return queryset
    query = Q(name__icontains=value) | Q(email__icontains=value) | Q(external_id__iexact=value)
    exact = Q(external_id__iexact=value)
    digits = phone_digits(value)
    if digits is not None:
        query |= Q(phone__contains=digits)
        exact |= Q(phone=f"+{digits}")
    rank = Case(When(exact, then=Value(0)), default=Value(1), output_field=IntegerField())
    return queryset.filter(query).annotate(search_rank=rank).order_by("search_rank", "name", "id")


@lru_cache(maxsize=256)
def _like_pattern(pattern: str, escape: str | None) -> re.Pattern[str]:
    parts: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if escape is not None and ch == escape:
            parts.append(re.escape(next(chars, "")))
        elif ch == "%":
            parts.append(".*")
        elif ch == "_":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def sqlite_like(pattern: str | None, text: str | None, escape: str | None = None) -> bool | None:
    """SQLite's ``text LIKE pattern [ESCAPE escape]``, folding the case of every letter."""
    if pattern is None or text is None:
        return None
    return _like_pattern(pattern, escape).fullmatch(str(text)) is not None


def sqlite_connection_created(sender, connection, **kwargs) -> None:
    """Install :func:`sqlite_like` on each new SQLite connection (``LIKE`` is SQLite's
    ``like()`` function, with two or three arguments)."""
    if connection.vendor != "sqlite":
        return
    raw = connection.connection
    raw.create_function("like", 2, sqlite_like, deterministic=True)
    raw.create_function("like", 3, sqlite_like, deterministic=True)
