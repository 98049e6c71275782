"""The dashboards' cache version: every write of the tables they read makes it new, so no page
shows a cached result older than the data (``reactivation.selectors.dashboard`` keys its cache
on it)."""

from __future__ import annotations

import time

from django.core.cache import cache
from django.db import transaction

DASHBOARD_VERSION_KEY = "dashboard:version"


def dashboard_changed() -> None:
    """Mark the dashboards' cached results stale: called by every write of the tables they
    read, now and again once the transaction commits (a request in between must not cache
    what it read before the commit under the new version)."""

    def bump() -> None:
        cache.set(DASHBOARD_VERSION_KEY, time.time_ns(), None)

    bump()
    transaction.on_commit(bump)
