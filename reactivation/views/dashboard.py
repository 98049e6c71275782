"""The owners' dashboard and the CSV export of each of its charts."""

from __future__ import annotations

import csv
import datetime as dt

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from reactivation.dashboard_forms import DEFAULT_PERIOD, DashboardFilterForm, DashboardFilters
from reactivation.models import BusinessSettings
from reactivation.roles import owner_required
from reactivation.selectors import dashboard as selectors
from reactivation.templatetags.dashboard import display, raw

# The query parameter of the figure panels' poll (see ``dashboard``).
POLL_PARAM = "figures"
POLL_VALUE = "wait"


def _form_and_filters(
    request: HttpRequest,
) -> tuple[DashboardFilterForm, DashboardFilters, dt.date | None]:
    """The filter form bound to the query string and the filters it gives (the defaults when it
    is invalid, so the page still shows something beside the errors)."""
    latest = selectors.latest_snapshot_on()
    settings = BusinessSettings.load()
    data = request.GET.copy()
    data.setdefault("period", DEFAULT_PERIOD)
    form = DashboardFilterForm(
        data,
        latest=latest or timezone.localdate(),
        default_return_share=settings.return_share,
    )
    if form.is_valid():
        return form, form.filters(), latest
    fallback = DashboardFilterForm(
        {}, latest=form.latest, default_return_share=settings.return_share
    )
    fallback.is_valid()
    return form, fallback.filters(), latest


def _present(panels: dict[str, selectors.Panel]) -> None:
    """Attach the displayed and raw cells to every table (the template prints them as they are)."""
    for panel in panels.values():
        for table in panel.tables:
            table.cells = [
                [
                    (display(value, column.kind), raw(value, column.kind), column.kind)
                    for value, column in zip(row, table.columns, strict=True)
                ]
                for row in table.rows
            ]


@owner_required
@require_GET
@vary_on_headers("HX-Request")
def dashboard(request: HttpRequest) -> HttpResponse:
    """The page; with ``figures=wait`` (the poll of a page whose figure panels are being
    computed) 204 No Content while they still are, else the panels to swap in."""
    form, filters, latest = _form_and_filters(request)
    poll = request.GET.get(POLL_PARAM) == POLL_VALUE
    if poll:
        selectors.require_owner(request.user)
        if selectors.figures_for(filters, poll=True).pending:
            return HttpResponse(status=204)
    panels = selectors.dashboard_get(filters=filters, user=request.user, poll=poll)
    # The managers' table is shown open; every other panel's numbers load when asked for.
    _present({"managers": panels["managers"]})
    query = request.GET.copy()
    query.pop("table", None)
    query.pop(POLL_PARAM, None)
    poll_query = query.copy()
    poll_query[POLL_PARAM] = POLL_VALUE
    context = {
        "form": form,
        "figures_pending": selectors.figures_pending(panels),
        "poll_query": poll_query.urlencode(),
        "filters": filters,
        "panels": panels,
        "latest": latest,
        "query": query.urlencode(),
        "return_share_percent": round(filters.return_share * 100, 2),
        # A number input takes only a plain decimal point: never the language's "20,0".
        "return_share_input": (
            form.data.get("return_share", "")
            if form.errors.get("return_share")
            else f"{filters.return_share * 100:g}"
        ),
    }
    template = (
        "reactivation/dashboard.html#panels"
        if request.htmx or poll
        else "reactivation/dashboard.html"
    )
    return render(request, template, context)


@owner_required
@require_GET
@vary_on_headers("HX-Request")
def dashboard_numbers(request: HttpRequest, panel: str) -> HttpResponse:
    """One chart's numbers: the tables behind it (a fragment for htmx, else a page)."""
    if panel not in selectors.PANELS:
        raise Http404
    _form, filters, _latest = _form_and_filters(request)
    found = selectors.panel_get(name=panel, filters=filters, user=request.user)
    _present({panel: found})
    query = request.GET.copy()
    query.pop("table", None)
    context = {"panel": found, "filters": filters, "query": query.urlencode()}
    template = (
        "reactivation/dashboard_numbers.html#tables"
        if request.htmx
        else "reactivation/dashboard_numbers.html"
    )
    return render(request, template, context)


@owner_required
@require_GET
def dashboard_export(request: HttpRequest, panel: str) -> HttpResponse:
    """One chart's numbers as CSV (``?table=N`` for a panel's further tables)."""
    if panel not in selectors.PANELS:
        raise Http404
    _form, filters, _latest = _form_and_filters(request)
    found = selectors.panel_get(name=panel, filters=filters, user=request.user)
    try:
        table = found.tables[int(request.GET.get("table", 0))]
    except (ValueError, IndexError) as exc:
        raise Http404 from exc
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"dashboard-{panel}-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response.write("\ufeff")  # a BOM, so that spreadsheet programs read the file as UTF-8
    writer = csv.writer(response)
    writer.writerow([column.label for column in table.columns])
    for row in table.rows:
        writer.writerow(
            [raw(value, column.kind) for value, column in zip(row, table.columns, strict=True)]
        )
    return response
