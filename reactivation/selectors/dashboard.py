"""Reads for the owners' dashboard: one function per panel, each returning a ``Panel`` (the
chart's data and the tables that hold its numbers, which are also its CSV export).

Every panel reads the tables the nightly run keeps (``reactivation.services.snapshots`` and
``activity``): the daily snapshots, the cohort and value tables, and the case, manager and
reason activity tables; the four figure panels (retention, uplift, LTV and revenue left, the
forecast) read one stored row of the period's figures (``services.figures``), which a task
computes from the purchases off the request. None scans transactions, cases or calls per
request, so the page costs the same on a base of a million transactions as on one of ten
million, and the whole result is cached until the next nightly run. Only owners and admins read these (every entry point checks the role),
and they see every row. Definitions: docs/metrics.md.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
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
from reactivation.selectors.dashboard_figures import with_return_share
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
from reactivation.services.figures import StoredFigures, View, figures_request, segment_key

# The panels drawn from the period's figures: computed off the request (services.figures).
FIGURE_PANELS = ("retention", "uplift", "ltv", "forecast")
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


def figures_view(filters: DashboardFilters) -> View:
    """The stored view behind the page's filters (the whole base when no segment is chosen)."""
    return View(
        start=filters.start,
        end=filters.end,
        segment=segment_key(filters.segment_id if filters.segment_id else ALL_SEGMENTS),
        manager=filters.manager_id or 0,
    )


def figures_for(filters: DashboardFilters, *, poll: bool = False) -> StoredFigures:
    """The period's figures for the page's filters (the same ``manage.py metrics`` prints), as
    stored for the current data (``services.figures``): ready, or pending with their
    computation enqueued (once, however many requests ask). Never computed here when a broker
    is configured. The return share changes only the rule of thumb, worked out here."""
    stored = figures_request(figures_view(filters), retry_failed=not poll)
    if stored.figures is None:
        return stored
    return replace(stored, figures=with_return_share(stored.figures, filters.return_share))


def _pending_panel(name: str, stored: StoredFigures) -> Panel:
    note = (
        _("These figures could not be computed. Reload the page to try again.")
        if stored.failed
        else _("Being computed from the purchases; this panel fills in by itself.")
    )
    return Panel(
        key=name,
        tables=[],
        data={"pending": not stored.failed, "failed": stored.failed, "since": stored.requested_at},
        notes=[note],
    )


def _all_panels(
    filters: DashboardFilters, settings: BusinessSettings, stored: StoredFigures
) -> dict[str, Panel]:
    days = snapshot_window(filters)
    values = latest_values(filters)
    figures = stored.figures
    funnel = funnel_panel(filters=filters, settings=settings)
    panels = {
        "status": status_panel(filters=filters, days=days),
        "funnel": funnel,
        "reasons": reasons_panel(filters=filters),
        "managers": managers_panel(filters=filters, settings=settings),
        "cohorts": cohort_panel(filters=filters),
        "abc": abc_panel(filters=filters, values=values),
    }
    if figures is None:
        panels.update({name: _pending_panel(name, stored) for name in FIGURE_PANELS})
    else:
        panels.update(
            {
                "retention": retention_panel(filters=filters, figures=figures),
                "uplift": uplift_panel(filters=filters, funnel=funnel, figures=figures),
                "ltv": ltv_panel(filters=filters, figures=figures, settings=settings),
                "forecast": forecast_panel(filters=filters, figures=figures),
            }
        )
    if filters.manager_id:
        note = _("Not split by manager: this panel shows the whole base (or the chosen segment).")
        for name in SNAPSHOT_PANELS:
            if not panels[name].data.get("pending") and not panels[name].data.get("failed"):
                panels[name].notes.append(note)
    return {name: panels[name] for name in PANELS}


def figures_pending(panels: dict[str, Panel]) -> bool:
    """Whether the page's figure panels are still being computed (the page polls until not)."""
    return any(panels[name].data.get("pending") for name in FIGURE_PANELS)


def dashboard_get(
    *, filters: DashboardFilters, user: Any, use_cache: bool = True, poll: bool = False
) -> dict[str, Panel]:
    """Every panel of the dashboard for ``filters``, owners and admins only (``poll``: for the
    poll of a page waiting for its figures, which does not enqueue a failed view again).

    Every panel reads the nightly tables, and the figure panels the stored figures of the view
    (``figures_for``), so the result is cached per (language, filters, the version those
    tables' writers bump, latest snapshot, settings change) once the figures are ready; while
    they are being computed the figure panels say so and nothing is cached.
    """
    require_owner(user)
    settings = BusinessSettings.load()
    key = (
        "dashboard:v5:"
        + hashlib.sha1(
            f"{get_language()}:{filters.cache_key()}:{cache.get(DASHBOARD_VERSION_KEY, 0)}:"
            f"{latest_snapshot_on()}:{settings.updated_at}".encode(),
            usedforsecurity=False,
        ).hexdigest()
    )
    panels = cache.get(key) if use_cache else None
    if panels is None:
        stored = figures_for(filters, poll=poll)
        panels = _all_panels(filters, settings, stored)
        if use_cache and stored.ready:
            cache.set(key, panels, CACHE_SECONDS)
    return panels


def panel_get(*, name: str, filters: DashboardFilters, user: Any) -> Panel:
    """One panel (for its numbers and its CSV export)."""
    return dashboard_get(filters=filters, user=user)[name]
