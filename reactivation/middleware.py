"""Middleware of the product's own: no caching of signed-in pages, and request bodies refused
by their declared size before they are read."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils.cache import add_never_cache_headers

# The URLs that take a data file; every other request's body stays within Django's
# DATA_UPLOAD_MAX_MEMORY_SIZE.
UPLOAD_URL_NAMES = frozenset({"import_start"})
# A multipart body carries the form's other fields and the part headers beside the file.
MULTIPART_MARGIN = 1024 * 1024


class NoStoreForSignedInMiddleware:
    """Pages and exports answered to a signed-in user, and API answers to a request with
    credentials (``Authorization``), carry ``Cache-Control: no-store``: a client list, a case or
    an export left in a browser's or a proxy's cache would outlive the session that was allowed
    to see it (a shared computer, a "back" after logging out). Static files never reach this
    (WhiteNoise answers them first), so they stay cacheable."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if signed_in or "HTTP_AUTHORIZATION" in request.META:
            add_never_cache_headers(response)
        return response


def body_limit(request: HttpRequest) -> int:
    """The largest body this request may send: the upload cap on the import upload, Django's
    own limit on form data everywhere else."""
    try:
        name = resolve(request.path_info).url_name
    except Resolver404:
        name = None
    if name in UPLOAD_URL_NAMES:
        return settings.UPLOAD_MAX_BYTES + MULTIPART_MARGIN
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE + MULTIPART_MARGIN


class RequestBodyLimitMiddleware:
    """A body larger than its URL takes is refused (413) from its ``Content-Length`` before a
    byte of it is read, instead of after the whole file has been received and spooled to disk.
    Django reads no more than ``Content-Length`` (a body without one is read as empty), so the
    declared size is the size; the web server in front refuses it earlier still
    (``client_max_body_size``, docs/operations.md)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        # Only a body past the smallest limit costs a URL lookup.
        if declared > settings.DATA_UPLOAD_MAX_MEMORY_SIZE + MULTIPART_MARGIN:
            limit = body_limit(request)
            if declared > limit:
                # The body is left unread: the connection is closed after this answer.
                response = render(
                    request, "413.html", {"limit_mb": limit // (1024 * 1024)}, status=413
                )
                response["Connection"] = "close"
                return response
        return self.get_response(request)
