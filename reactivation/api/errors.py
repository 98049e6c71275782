"""The one error shape of the API, for every status it answers with:

    {"code": "...", "message": "...", "errors": [{"index", "id", "field", "message"}]}

``code`` is stable (programs test it), ``message`` is for a person (in the request's language),
``errors`` lists what was wrong item by item: ``index`` is the 0-based position of the item in
a batch (null for a single object), ``id`` its id when it has one, ``field`` the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response

# Codes (stable: documented in docs/api.md).
INVALID = "invalid"
BAD_JSON = "bad_json"
UNAUTHORIZED = "unauthorized"
FORBIDDEN = "forbidden"
NOT_FOUND = "not_found"
CONFLICT = "conflict"
RATE_LIMITED = "rate_limited"
METHOD_NOT_ALLOWED = "method_not_allowed"
UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
NOT_ACCEPTABLE = "not_acceptable"

MSG_INVALID = _("The request has invalid values; see errors.")
MSG_NOT_FOUND = _("Not found.")


@dataclass
class ItemError:
    message: str
    field: str | None = None
    index: int | None = None
    id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "id": self.id,
            "field": self.field,
            "message": str(self.message),
        }


@dataclass
class ApiError(Exception):
    """An answer other than success, raised by a view and shaped by ``exception_handler``."""

    status: int
    code: str
    message: Any
    errors: list[ItemError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


def body(code: str, message: Any, errors: list[ItemError] | None = None) -> dict[str, Any]:
    return {
        "code": code,
        "message": str(message),
        "errors": [error.as_dict() for error in errors or []],
    }


def _flatten(detail: Any, path: tuple[str, ...] = (), index: int | None = None) -> list[ItemError]:
    """A serializer's nested errors as flat items: ``{"a": {"b": ["msg"]}}`` -> field ``a.b``."""
    if isinstance(detail, dict):
        found: list[ItemError] = []
        for key, value in detail.items():
            if key in ("non_field_errors", "detail"):
                found += _flatten(value, path, index)
            else:
                found += _flatten(value, (*path, str(key)), index)
        return found
    if isinstance(detail, list):
        if detail and all(isinstance(item, dict | list) for item in detail) and not path:
            # A list of items at the top: each one's errors carry its index.
            found = []
            for position, item in enumerate(detail):
                found += _flatten(item, path, position)
            return found
        found = []
        for item in detail:
            found += _flatten(item, path, index)
        return found
    return [ItemError(message=str(detail), field=".".join(path) or None, index=index)]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exceptions, Django's 404 and 403, and ``ApiError``, all in the one shape."""
    headers: dict[str, str] = {}
    if isinstance(exc, ApiError):
        return Response(
            body(exc.code, exc.message, exc.errors), status=exc.status, headers=exc.headers or None
        )
    if isinstance(exc, Http404):
        return Response(body(NOT_FOUND, MSG_NOT_FOUND), status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django's 500 handling (and the error log) takes it
    if isinstance(exc, exceptions.ValidationError):
        return Response(
            body(INVALID, MSG_INVALID, _flatten(exc.detail)), status=status.HTTP_400_BAD_REQUEST
        )
    code = {
        exceptions.ParseError: BAD_JSON,
        exceptions.NotAuthenticated: UNAUTHORIZED,
        exceptions.AuthenticationFailed: UNAUTHORIZED,
        exceptions.PermissionDenied: FORBIDDEN,
        exceptions.NotFound: NOT_FOUND,
        exceptions.MethodNotAllowed: METHOD_NOT_ALLOWED,
        exceptions.UnsupportedMediaType: UNSUPPORTED_MEDIA_TYPE,
        exceptions.NotAcceptable: NOT_ACCEPTABLE,
        exceptions.Throttled: RATE_LIMITED,
    }.get(type(exc), str(exc.default_code))
    status_code = exc.status_code
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        status_code = status.HTTP_401_UNAUTHORIZED
        headers["WWW-Authenticate"] = "Api-Key"
    if isinstance(exc, exceptions.Throttled):
        headers["Retry-After"] = str(max(1, math.ceil(exc.wait or 1)))
    detail = exc.detail if not isinstance(exc.detail, list | dict) else exc.default_detail
    return Response(body(code, detail), status=status_code, headers=headers or None)
