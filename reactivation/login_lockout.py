"""Log-in lockout on three counts, each with its own limit (django-axes' database handler).

- one user name at one address: ``AXES_FAILURE_LIMIT`` failures (5), a mistyped password;
- one user name from any address: ``LOGIN_FAILURES_PER_USERNAME`` (20), a guess at one account
  spread over many addresses;
- one address over any user names: ``LOGIN_FAILURES_PER_ADDRESS`` (20), "spraying" a few
  common passwords over every user name from one place.

axes counts the failures of each combination in ``AXES_LOCKOUT_PARAMETERS`` and compares the
largest with one limit. ``get_failures`` here answers that one number so that the comparison
holds exactly when some combination has reached its own limit. A successful log-in clears the
failures of that name at that address only: an attacker who owns one account cannot wipe his
address's count by logging in with it, nor the count against a colleague's name.
"""

from __future__ import annotations

from axes.conf import settings
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt
from django.db.models import Sum

PAIR = ("ip_address", "username")


def _key(parameter: str | list[str]) -> tuple[str, ...]:
    return (parameter,) if isinstance(parameter, str) else tuple(sorted(parameter))


def combination_limits(base: int) -> dict[tuple[str, ...], int]:
    return {
        PAIR: base,
        ("username",): settings.LOGIN_FAILURES_PER_USERNAME,
        ("ip_address",): settings.LOGIN_FAILURES_PER_ADDRESS,
    }


class LockoutHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials: dict | None = None) -> int:
        """The base limit less the failures the tightest combination has left: at or past
        the base limit exactly when one combination has used up its own."""
        base = get_failure_limit(request, credentials)
        limits = combination_limits(base)
        left = base
        for parameter, attempts in zip(
            settings.AXES_LOCKOUT_PARAMETERS,
            self.get_user_attempts(request, credentials),
            strict=True,
        ):
            failures = attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            left = min(left, limits.get(_key(parameter), base) - failures)
        return base - left

    def reset_user_attempts(self, request, credentials: dict | None = None) -> int:
        """On a successful log-in: only that name's failures at that address."""
        attempts = AccessAttempt.objects.filter(
            username=get_client_username(request, credentials),
            ip_address=request.axes_ip_address,
        )
        count, _ = attempts.delete()
        return count
