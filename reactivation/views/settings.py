"""Settings pages for admins: the overview, the nightly schedule and business settings, offer
templates, reasons, weekly plans, and users with their roles.

Policies and models live in settings_policies.py, scripts in settings_scripts.py, the audit
history and deletions in settings_audit.py.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from calls.models import Reason, Script
from clients.models import Segment
from clients.paginator import paginate
from reactivation.models import BusinessSettings, OfferTemplate, Policy, WeeklyPlan
from reactivation.roles import Role, admin_required
from reactivation.services import admin as services
from reactivation.settings_forms import (
    BusinessSettingsForm,
    OfferTemplateForm,
    PasswordSetForm,
    ReasonForm,
    ReassignForm,
    UserCreateForm,
    UserForm,
    WeeklyPlanForm,
)

User = get_user_model()
SETTINGS_PAGE_SIZE = 50


def _errors_to_form(form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form, keeping what was typed."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


@admin_required
def settings_home(request: HttpRequest) -> HttpResponse:
    context = {
        "policies": Policy.objects.count(),
        "segments": Segment.objects.count(),
        "scripts": Script.objects.filter(active=True).count(),
        "templates": OfferTemplate.objects.filter(active=True).count(),
        "reasons": Reason.objects.filter(active=True).count(),
        "users": User.objects.filter(is_active=True).count(),
        "business": BusinessSettings.load(),
    }
    return render(request, "reactivation/settings/home.html", context)


@admin_required
def settings_schedule(request: HttpRequest) -> HttpResponse:
    row = BusinessSettings.load()
    form = BusinessSettingsForm(request.POST or None, instance=row)
    if request.method == "POST" and form.is_valid():
        try:
            services.business_settings_save(settings_row=form.save(commit=False), user=request.user)
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("settings_schedule")
    return render(request, "reactivation/settings/schedule.html", {"form": form})


# --- Offer templates ---------------------------------------------------------------------------
@admin_required
def settings_offers(request: HttpRequest) -> HttpResponse:
    templates = OfferTemplate.objects.annotate(issued=Count("offers")).order_by("-active", "name")
    page = paginate(templates, request.GET.get("page"), SETTINGS_PAGE_SIZE)
    return render(request, "reactivation/settings/offers.html", {"page": page})


@admin_required
def settings_offer_edit(request: HttpRequest, template_id: int | None = None) -> HttpResponse:
    template = get_object_or_404(OfferTemplate, pk=template_id) if template_id else None
    form = OfferTemplateForm(request.POST or None, instance=template)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Offer template saved."))
        return redirect("settings_offers")
    return render(
        request, "reactivation/settings/offer_form.html", {"form": form, "template": template}
    )


# --- Reasons -------------------------------------------------------------------------------------
@admin_required
def settings_reasons(request: HttpRequest) -> HttpResponse:
    reasons = Reason.objects.annotate(used=Count("calls")).order_by("-active", "position", "name")
    page = paginate(reasons, request.GET.get("page"), SETTINGS_PAGE_SIZE)
    return render(request, "reactivation/settings/reasons.html", {"page": page})


@admin_required
def settings_reason_edit(request: HttpRequest, reason_id: int | None = None) -> HttpResponse:
    reason = get_object_or_404(Reason, pk=reason_id) if reason_id else None
    form = ReasonForm(request.POST or None, instance=reason)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Reason saved."))
        return redirect("settings_reasons")
    return render(
        request, "reactivation/settings/reason_form.html", {"form": form, "reason": reason}
    )


# --- Weekly plans --------------------------------------------------------------------------------
def _managers():
    return (
        User.objects.filter(groups__name=Role.MANAGER).distinct().order_by("-is_active", "username")
    )


@admin_required
def settings_plans(request: HttpRequest) -> HttpResponse:
    managers = (
        _managers()
        .select_related("weekly_plan")
        .annotate(open_cases=Count("cases", filter=Q(cases__status="open")))
    )
    page = paginate(managers, request.GET.get("page"), SETTINGS_PAGE_SIZE)
    return render(request, "reactivation/settings/plans.html", {"page": page})


@admin_required
def settings_plan_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    manager = get_object_or_404(_managers(), pk=user_id)
    plan = WeeklyPlan.objects.filter(manager=manager).first() or WeeklyPlan(manager=manager)
    form = WeeklyPlanForm(request.POST or None, instance=plan)
    if request.method == "POST" and form.is_valid():
        try:
            services.weekly_plan_set(manager=manager, user=request.user, **form.cleaned_data)
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            messages.success(request, _("Plan saved."))
            return redirect("settings_plans")
    return render(
        request, "reactivation/settings/plan_form.html", {"form": form, "manager": manager}
    )


# --- Users and roles -----------------------------------------------------------------------------
@admin_required
def settings_users(request: HttpRequest) -> HttpResponse:
    users = User.objects.prefetch_related("groups").order_by("-is_active", "username")
    page = paginate(users, request.GET.get("page"), SETTINGS_PAGE_SIZE)
    labels = dict(Role.choices)
    for row in page.object_list:
        row.role_labels = [labels[g.name] for g in row.groups.all() if g.name in labels]
    return render(request, "reactivation/settings/users.html", {"page": page})


def _user_input(data: dict) -> services.UserInput:
    return services.UserInput(
        username=data["username"],
        first_name=data["first_name"],
        last_name=data["last_name"],
        email=data["email"],
        roles=list(data["roles"]),
        is_active=data["is_active"],
    )


@admin_required
def settings_user_create(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None, initial={"is_active": True})
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(
                data=_user_input(form.cleaned_data), password=form.cleaned_data["password1"]
            )
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                _errors_to_form(form, error)
            else:
                form.add_error("password1", error)
        else:
            messages.success(request, _("User %(name)s created.") % {"name": user.username})
            return redirect("settings_users")
    return render(request, "reactivation/settings/user_form.html", {"form": form})


@admin_required
def settings_user_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    target = get_object_or_404(User, pk=user_id)
    initial = {
        "username": target.username,
        "first_name": target.first_name,
        "last_name": target.last_name,
        "email": target.email,
        "is_active": target.is_active,
        "roles": list(target.groups.filter(name__in=Role.values).values_list("name", flat=True)),
    }
    form = UserForm(request.POST or None, initial=initial)
    form.fields["username"].disabled = True
    reassign = ReassignForm(request.POST or None, prefix="reassign")
    reassign.fields["to"].queryset = reassign.fields["to"].queryset.exclude(pk=target.pk)
    if request.method == "POST" and form.is_valid() and reassign.is_valid():
        try:
            services.user_update(
                user=target,
                data=_user_input(form.cleaned_data),
                acting_user=request.user,
                hand_over_to=reassign.cleaned_data["to"],
            )
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            messages.success(request, _("User %(name)s saved.") % {"name": target.username})
            return redirect("settings_users")
    context = {
        "form": form,
        "reassign": reassign,
        "target": target,
        "open_cases": target.cases.filter(status="open").count(),
    }
    return render(request, "reactivation/settings/user_form.html", context)


@admin_required
def settings_user_password(request: HttpRequest, user_id: int) -> HttpResponse:
    target = get_object_or_404(User, pk=user_id)
    form = PasswordSetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_set_password(user=target, password=form.cleaned_data["password1"])
        except ValidationError as error:
            form.add_error("password1", error)
        else:
            messages.success(
                request, _("Password of %(name)s changed.") % {"name": target.username}
            )
            return redirect("settings_users")
    return render(
        request, "reactivation/settings/password_form.html", {"form": form, "target": target}
    )
