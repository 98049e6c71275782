"""The case page and what a manager does on it: call, issue an offer, close, reassign.

Every action posts a plain form; with htmx the response is the page's ``workspace`` partial,
so the manager stays on the page, and "save and next" swaps in the next case.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from calls.forms import OUTCOME_KEYS, CallForm, CaseAssignForm, CaseCloseForm, OfferIssueForm
from calls.models import ScriptVersion
from calls.services import CallError, call_record
from reactivation.roles import admin_required, is_admin, member_required
from reactivation.selectors import case_page as case_reads
from reactivation.selectors import week
from reactivation.services.cases import CaseError, case_assign, case_close, cases_reassign
from reactivation.services.offers import OfferError, offer_issue

TEMPLATE = "reactivation/case_detail.html"


def _script_id(request: HttpRequest) -> int | None:
    raw = request.POST.get("script") or request.GET.get("script")
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def _context(
    request: HttpRequest,
    *,
    case_id: int,
    call_form: CallForm | None = None,
    offer_form: OfferIssueForm | None = None,
    close_form: CaseCloseForm | None = None,
    notice: tuple[str, str] | None = None,
    offer_notice: tuple[str, str] | None = None,
    new_offer_id: int | None = None,
) -> dict[str, Any]:
    today = timezone.localdate()
    data = case_reads.case_page(
        case_id=case_id,
        user=request.user,
        today=today,
        language=translation.get_language() or "",
        script_id=_script_id(request),
    )
    if call_form is None:
        call_form = CallForm(initial={"script_version": data.version.pk if data.version else None})
    if offer_form is None:
        offer_form = OfferIssueForm()
        offer_form.fields["template"].queryset = offer_form.fields["template"].queryset.none()
        offer_form.fields["template"].choices = [(t.pk, t.name) for t in data.templates]
    answers = call_form.answers() if call_form.is_bound else {}
    chosen_outcome = call_form["outcome"].value()
    context = {
        # Each step, the answer chosen, and its choices with the id of the reason each names.
        "script_steps": [
            (
                step,
                answers.get(step.key),
                [(choice, data.reason_ids.get(choice.reason)) for choice in step.choices],
            )
            for step in data.steps
        ],
        "outcome_options": [
            (value, label, OUTCOME_KEYS[value], value == chosen_outcome)
            for value, label in call_form.fields["outcome"].choices
        ],
        "data": data,
        "case": data.case,
        "client": data.client,
        "call_form": call_form,
        "offer_form": offer_form,
        "close_form": close_form or CaseCloseForm(),
        "notice": notice,
        "offer_notice": offer_notice,
        "new_offer_id": new_offer_id,
        "is_admin": is_admin(request.user),
        "next_url": reverse("queue_next") + f"?after={data.case.pk}",
    }
    if context["is_admin"]:
        context["assign_form"] = CaseAssignForm(initial={"manager": data.case.assigned_to_id})
    return context


def render_workspace(
    request: HttpRequest, *, case_id: int, status: int = 200, **kwargs: Any
) -> HttpResponse:
    """The case page, or its workspace partial for htmx."""
    context = _context(request, case_id=case_id, **kwargs)
    template = f"{TEMPLATE}#workspace" if request.htmx else TEMPLATE
    return render(request, template, context, status=status)


def _done(
    request: HttpRequest, case_id: int, message: str, *, then_next: bool = False
) -> HttpResponse:
    """After a successful action: the next case or the same one, as a partial or a redirect."""
    if then_next:
        next_id = week.next_case_id(user=request.user, today=timezone.localdate(), after=case_id)
        if next_id is not None:
            if request.htmx:
                response = render_workspace(request, case_id=next_id, notice=("success", message))
                response["HX-Push-Url"] = reverse("case_detail", args=[next_id])
                return response
            messages.success(request, message)
            return redirect("case_detail", case_id=next_id)
        message = f"{message} {_('No more cases to call today.')}"
    if request.htmx:
        return render_workspace(request, case_id=case_id, notice=("success", message))
    messages.success(request, message)
    return redirect("case_detail", case_id=case_id)


def _refused(request: HttpRequest, case_id: int, message: Any, **forms: Any) -> HttpResponse:
    """An action the rules refuse: the same page with the reason and the input kept."""
    return render_workspace(request, case_id=case_id, notice=("danger", str(message)), **forms)


@member_required
@vary_on_headers("HX-Request")
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    return render_workspace(request, case_id=case_id)


@require_POST
@member_required
@vary_on_headers("HX-Request")
def case_call(request: HttpRequest, case_id: int) -> HttpResponse:
    """Record a call from the call form."""
    case = case_reads.case_get(case_id=case_id, user=request.user)
    form = CallForm(request.POST)
    if not form.is_valid():
        return _refused(
            request,
            case.pk,
            _("The call was not saved: check the fields marked below."),
            call_form=form,
        )
    version = None
    if form.cleaned_data.get("script_version"):
        version = ScriptVersion.objects.filter(pk=form.cleaned_data["script_version"]).first()
    try:
        call_record(case=case, manager=request.user, data=form.call_input(), script_version=version)
    except CallError as exc:
        if exc.field:
            form.add_error(exc.field, exc.message)
        return _refused(request, case.pk, exc.message, call_form=form)
    return _done(request, case.pk, _("Call saved."), then_next=request.POST.get("then") == "next")


@require_POST
@member_required
@vary_on_headers("HX-Request")
def case_offer(request: HttpRequest, case_id: int) -> HttpResponse:
    """Issue a personal offer from a template."""
    case = case_reads.case_get(case_id=case_id, user=request.user)
    form = OfferIssueForm(request.POST)
    error = None
    if not form.is_valid():
        error = _("Choose an offer.")
    elif case.assigned_to_id != request.user.pk and not is_admin(request.user):
        error = _("Take this case from the pool before issuing an offer.")
    else:
        try:
            offer = offer_issue(case=case, template=form.cleaned_data["template"], by=request.user)
        except OfferError as exc:
            error = exc.message
    if error is not None:
        # The offer panel alone is swapped, so a call form being filled in is kept.
        return render_workspace(
            request, case_id=case.pk, offer_notice=("danger", str(error)), offer_form=form
        )
    message = _("Offer issued: code %(code)s, valid until %(date)s.") % {
        "code": offer.code,
        "date": offer.expires_on.strftime("%d.%m.%Y"),
    }
    if request.htmx:
        return render_workspace(
            request, case_id=case.pk, offer_notice=("success", message), new_offer_id=offer.pk
        )
    messages.success(request, message)
    return redirect("case_detail", case_id=case.pk)


@require_POST
@member_required
@vary_on_headers("HX-Request")
def case_close_view(request: HttpRequest, case_id: int) -> HttpResponse:
    """Close the case by hand as declined or won back."""
    case = case_reads.case_get(case_id=case_id, user=request.user)
    form = CaseCloseForm(request.POST)
    if not form.is_valid():
        return _refused(request, case.pk, _("Choose how the case ends."), close_form=form)
    if case.assigned_to_id != request.user.pk and not is_admin(request.user):
        return _refused(request, case.pk, _("Take this case from the pool before closing it."))
    try:
        case = case_close(
            case=case,
            status=form.cleaned_data["status"],
            by=request.user,
            note=form.cleaned_data["note"],
        )
    except CaseError as exc:
        return _refused(request, case.pk, exc.message)
    return _done(
        request,
        case.pk,
        _("Case closed: %(status)s.") % {"status": case.get_status_display()},
        then_next=request.POST.get("then") == "next",
    )


@require_POST
@admin_required
def case_assign_view(request: HttpRequest, case_id: int) -> HttpResponse:
    """An admin gives one case to a manager."""
    case = case_reads.case_get(case_id=case_id, user=request.user)
    form = CaseAssignForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a manager or the pool."))
        return redirect("case_detail", case_id=case.pk)
    manager = form.cleaned_data["manager"]
    try:
        if manager is None:
            cases_reassign(case_ids=[case.pk], manager=None)
        else:
            case_assign(case=case, manager=manager)
    except CaseError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The case was reassigned."))
    return redirect("case_detail", case_id=case.pk)
