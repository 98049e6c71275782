"""A rate limit per API key (``API_RATE_LIMIT``, default 600 requests a minute), counted in the
cache (Redis in production, so every web process shares the count). Past it: 429 with
Retry-After, in seconds."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from reactivation.api.models import ApiKey


class PerKeyThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_rate(self) -> str | None:
        # Read per request rather than at import, so a changed setting (and a test) takes effect.
        return settings.API_RATE_LIMIT or None

    def allow_request(self, request: Any, view: Any) -> bool:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        key = request.auth
        if not isinstance(key, ApiKey):
            return None  # no key: refused before any work, not counted
        return self.cache_format % {"scope": self.scope, "ident": key.prefix}
