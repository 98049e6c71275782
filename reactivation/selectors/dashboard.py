"""Reads for the owners' dashboard: one function per panel, each returning a ``Panel`` (the
chart's data and the tables that hold its numbers, which are also its CSV export).

Every panel reads the tables the nightly run keeps (``reactivation.services.snapshots`` and
``activity``): the
daily snapshots, the cohort and value tables, and the case, manager and reason activity
tables. None scans transactions, cases or calls per request, so the page costs the same on a
base of a million transactions as on one of ten million, and the whole result is cached until
the next nightly run. Only owners and admins read these (every entry point checks the role),
and they see every row. Definitions: docs/metrics.md.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.cache import cache
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from reactivation.dashboard_forms import DashboardFilters
from reactivation.models import BusinessSettings
from reactivation.selectors.customers import ALL_SEGMENTS
from reactivation.selectors.dashboard_common import (
    CACHE_SECONDS,
    Panel,
    latest_snapshot_on,
    require_owner,
)
from reactivation.selectors.dashboard_figures import (
    PeriodFigures,
    period_figures,
    with_return_share,
)
from reactivation.selectors.dashboard_history import (
    ltv_panel,
    retention_panel,
    snapshot_window,
    status_panel,
)
from reactivation.selectors.dashboard_values import (
    abc_panel,
    cohort_panel,
    forecast_panel,
    latest_values,
)
from reactivation.selectors.dashboard_work import (
    funnel_panel,
    managers_panel,
    reasons_panel,
    uplift_panel,
)
from reactivation.services.dashboard_cache import DASHBOARD_VERSION_KEY

SNAPSHOT_PANELS = ("status", "retention", "ltv", "cohorts", "abc", "forecast")
PANELS = (
    "status",
    "retention",
    "funnel",
    "uplift",
    "reasons",
    "managers",
    "ltv",
    "cohorts",
    "abc",
    "forecast",
)


def figures_for(filters: DashboardFilters) -> PeriodFigures:
    """The period's figures for the page's filters (the same ``manage.py metrics`` prints).

    Kept apart from the page's cache without the return share, which changes only the rule of
    thumb: "Recalculate" with another share does not read the purchases again."""
    key = (
        "dashboard:figures:"
        + hashlib.sha1(
            f"{filters.start}:{filters.end}:{filters.segment_id}:{filters.manager_id}:"
            f"{cache.get(DASHBOARD_VERSION_KEY, 0)}:{latest_snapshot_on()}:"
            f"{BusinessSettings.load().updated_at}".encode(),
            usedforsecurity=False,
        ).hexdigest()
    )
    figures = cache.get(key)
    if figures is None:
        figures = period_figures(
            start=filters.start,
            end=filters.end,
            segment_id=filters.segment_id if filters.segment_id else ALL_SEGMENTS,
            manager_id=filters.manager_id,
            by_month=True,
        )
        cache.set(key, figures, CACHE_SECONDS)
    return with_return_share(figures, filters.return_share)


def _all_panels(filters: DashboardFilters, settings: BusinessSettings) -> dict[str, Panel]:
    days = snapshot_window(filters)
    values = latest_values(filters)
    figures = figures_for(filters)
    funnel = funnel_panel(filters=filters, settings=settings)
    panels = {
        "status": status_panel(filters=filters, days=days),
        "retention": retention_panel(filters=filters, figures=figures),
        "funnel": funnel,
        "uplift": uplift_panel(filters=filters, funnel=funnel, figures=figures),
        "reasons": reasons_panel(filters=filters),
        "managers": managers_panel(filters=filters, settings=settings),
        "ltv": ltv_panel(filters=filters, figures=figures, settings=settings),
        "cohorts": cohort_panel(filters=filters),
        "abc": abc_panel(filters=filters, values=values),
        "forecast": forecast_panel(filters=filters, figures=figures),
    }
    if filters.manager_id:
        note = _("Not split by manager: this panel shows the whole base (or the chosen segment).")
        for name in SNAPSHOT_PANELS:
            panels[name].notes.append(note)
    return panels


def dashboard_get(
    *, filters: DashboardFilters, user: Any, use_cache: bool = True
) -> dict[str, Panel]:
    """Every panel of the dashboard for ``filters``, owners and admins only.

    Every panel reads the nightly tables, so the result is cached per (language, filters, the
    version those tables' writers bump, latest snapshot, settings change).
    """
    require_owner(user)
    settings = BusinessSettings.load()
    key = (
        "dashboard:v4:"
        + hashlib.sha1(
            f"{get_language()}:{filters.cache_key()}:{cache.get(DASHBOARD_VERSION_KEY, 0)}:"
            f"{latest_snapshot_on()}:{settings.updated_at}".encode(),
            usedforsecurity=False,
        ).hexdigest()
    )
    panels = cache.get(key) if use_cache else None
    if panels is None:
        panels = _all_panels(filters, settings)
        if use_cache:
            cache.set(key, panels, CACHE_SECONDS)
    return panels


def panel_get(*, name: str, filters: DashboardFilters, user: Any) -> Panel:
    """One panel (for its numbers and its CSV export)."""
    return dashboard_get(filters=filters, user=user)[name]
