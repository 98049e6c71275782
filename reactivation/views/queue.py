"""My week and the pool."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from calls.forms import ReassignForm, ReleaseForm
from reactivation.roles import admin_required, is_admin, member_required
from reactivation.selectors import case_page as case_reads
from reactivation.selectors import queue as lists
from reactivation.selectors import week
from reactivation.services.cases import CaseError, case_claim, cases_reassign, manager_release_cases

PAGE_SIZE = 25


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("queue_pool")


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@member_required
@vary_on_headers("HX-Request")
def queue(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    start = week.week_start(today)
    listing = lists.queue_list(user=request.user, filters=request.GET, today=today, start=start)
    page = week.page_of_week(listing, request.GET.get("page"), PAGE_SIZE)
    context = {
        "filter": listing.filter,
        "page": page,
        "query": _query_without_page(request),
        "today": today,
        "filtered": any(v for k, v in request.GET.items() if k != "page"),
    }
    if request.htmx:
        return render(request, "reactivation/queue.html#results", context)
    context["plan"] = week.plan_counters(user=request.user, today=today, start=start)
    return render(request, "reactivation/queue.html", context)


@member_required
@vary_on_headers("HX-Request")
def pool(request: HttpRequest) -> HttpResponse:
    listing = lists.pool_list(user=request.user, filters=request.GET)
    page = lists.page_of_pool(listing.queryset, request.GET.get("page"), PAGE_SIZE)
    context = {
        "filter": listing.filter,
        "page": page,
        "query": _query_without_page(request),
        "is_admin": is_admin(request.user),
    }
    if request.htmx:
        return render(request, "reactivation/queue_pool.html#results", context)
    if context["is_admin"]:
        context["reassign_form"] = ReassignForm()
        context["release_form"] = ReleaseForm()
    return render(request, "reactivation/queue_pool.html", context)


@require_POST
@member_required
@vary_on_headers("HX-Request")
def claim(request: HttpRequest, case_id: int) -> HttpResponse:
    """Take a case from the pool. Of two managers claiming at once, one wins; the other is told."""
    case = case_reads.case_get_to_claim(case_id=case_id, user=request.user)
    error = None
    try:
        case = case_claim(case_id=case.pk, user=request.user)
    except CaseError as exc:
        error = exc.message
    if request.htmx:
        case = case_reads.case_get(case_id=case.pk, user=request.user) if error is None else case
        return render(
            request,
            "reactivation/queue_pool.html#pool_row",
            {"case": case, "claimed": error is None, "error": error},
        )
    if error is not None:
        messages.error(request, error)
        return redirect("queue_pool")
    messages.success(request, _("The case is yours now."))
    return redirect("case_detail", case_id=case.pk)


@member_required
def next_case(request: HttpRequest) -> HttpResponse:
    """Open the next case of my week that I have not called today."""
    try:
        after = int(request.GET.get("after", ""))
    except ValueError:
        after = None
    case_id = week.next_case_id(user=request.user, today=timezone.localdate(), after=after)
    if case_id is None:
        messages.info(request, _("No more cases to call today. Well done!"))
        if request.htmx:
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("queue")
            return response
        return redirect("queue")
    if request.htmx:
        from reactivation.views.cases import render_workspace

        response = render_workspace(request, case_id=case_id)
        response["HX-Push-Url"] = reverse("case_detail", args=[case_id])
        return response
    return redirect("case_detail", case_id=case_id)


@require_POST
@admin_required
def reassign(request: HttpRequest) -> HttpResponse:
    """Give the selected cases to a manager, or back to the pool."""
    form = ReassignForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return _back(request)
    try:
        moved = cases_reassign(
            case_ids=[c.pk for c in form.cleaned_data["cases"]],
            manager=form.cleaned_data["manager"],
        )
    except CaseError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            ngettext("%(count)s case moved.", "%(count)s cases moved.", moved) % {"count": moved},
        )
    return _back(request)


@require_POST
@admin_required
def release(request: HttpRequest) -> HttpResponse:
    """A manager who leaves hands their open cases back to the pool."""
    form = ReleaseForm(request.POST)
    if form.is_valid():
        count = manager_release_cases(manager=form.cleaned_data["manager"])
        messages.success(
            request,
            ngettext(
                "%(count)s case returned to the pool.",
                "%(count)s cases returned to the pool.",
                count,
            )
            % {"count": count},
        )
    else:
        messages.error(request, _("Choose the manager whose cases go back to the pool."))
    return redirect("queue_pool")
