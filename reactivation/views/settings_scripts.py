"""Call scripts: the editor (steps, answers and where they lead), versions, a preview on a real
client, and JSON export and import."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from calls import script_services
from calls.models import Script, ScriptVersion
from calls.scripts import render_steps
from clients.models import Client, Status
from clients.paginator import paginate
from reactivation.models import BusinessSettings
from reactivation.roles import admin_required
from reactivation.selectors.case_page import script_values
from reactivation.settings_forms import (
    ScriptForm,
    ScriptImportForm,
    ScriptPreviewForm,
    StepFormSet,
    steps_initial,
)

SETTINGS_PAGE_SIZE = 50


@admin_required
def settings_scripts(request: HttpRequest) -> HttpResponse:
    scripts = (
        Script.objects.select_related("segment")
        .annotate(latest=Max("versions__number"), calls_count=Count("versions__calls"))
        .order_by("-active", "name")
    )
    page = paginate(scripts, request.GET.get("page"), SETTINGS_PAGE_SIZE)
    return render(request, "reactivation/settings/scripts.html", {"page": page})


def _steps_from(formset) -> list[dict] | None:
    """The steps typed, or None with the problems added to the formset's errors."""
    try:
        return script_services.steps_validate(formset.steps())
    except ValidationError as error:
        formset._non_form_errors = formset.error_class(error.messages)
        return None


@admin_required
def settings_script_create(request: HttpRequest) -> HttpResponse:
    form = ScriptForm(request.POST or None, initial={"active": True})
    formset = StepFormSet(request.POST or None, prefix="steps")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        steps = _steps_from(formset)
        if steps is not None:
            script = script_services.script_create(
                name=form.cleaned_data["name"],
                segment=form.cleaned_data["segment"],
                language=form.cleaned_data["language"],
                active=form.cleaned_data["active"],
                steps=steps,
                user=request.user,
                note=form.cleaned_data["note"],
            )
            messages.success(request, _("Script created (version 1)."))
            return redirect("settings_script_edit", script_id=script.pk)
    context = {"form": form, "formset": formset, "script": None}
    return render(request, "reactivation/settings/script_form.html", context)


@admin_required
def settings_script_edit(request: HttpRequest, script_id: int) -> HttpResponse:
    """Saving changed steps makes a new version; calls keep the version they used."""
    script = get_object_or_404(Script, pk=script_id)
    current = script.current_version
    form = ScriptForm(request.POST or None, instance=script)
    # Bound, the formset gets no initial: every posted step is validated and kept, changed or not.
    if request.method == "POST":
        formset = StepFormSet(request.POST, prefix="steps")
    else:
        formset = StepFormSet(
            prefix="steps", initial=steps_initial(current.steps if current else [])
        )
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        steps = _steps_from(formset)
        if steps is not None:
            with transaction.atomic():
                form.save()
                if current is None or steps != current.steps:
                    version = script_services.script_version_create(
                        script=script,
                        steps=steps,
                        user=request.user,
                        note=form.cleaned_data["note"],
                    )
                    messages.success(
                        request, _("Saved as version %(number)s.") % {"number": version.number}
                    )
                else:
                    messages.success(
                        request, _("Saved; the steps did not change, so no new version.")
                    )
            return redirect("settings_script_edit", script_id=script.pk)
    versions = script.versions.select_related("created_by").annotate(calls_count=Count("calls"))
    context = {
        "form": form,
        "formset": formset,
        "script": script,
        "current": current,
        "versions": versions,
    }
    return render(request, "reactivation/settings/script_form.html", context)


def _preview_client(query: str) -> Client | None:
    clients = Client.objects.select_related("stats")
    if query:
        return (
            clients.filter(external_id=query).first()
            or clients.filter(name__icontains=query).order_by("pk").first()
        )
    return (
        clients.filter(stats__status=Status.LOST).order_by("-stats__last_purchase_on", "pk").first()
        or clients.order_by("pk").first()
    )


@admin_required
def settings_script_preview(request: HttpRequest, script_id: int) -> HttpResponse:
    """The script as a manager will read it, placeholders filled from a real client."""
    script = get_object_or_404(Script, pk=script_id)
    version = get_object_or_404(
        ScriptVersion,
        script=script,
        number=request.GET.get("version")
        or (script.current_version.number if script.current_version else 0),
    )
    form = ScriptPreviewForm(request.GET or None)
    query = form.cleaned_data["client"].strip() if form.is_valid() else ""
    client = _preview_client(query)
    company = BusinessSettings.load().company_name or django_settings.COMPANY_NAME
    values = (
        script_values(
            client=client,
            manager=client.manager or request.user,
            company=company,
            today=timezone.localdate(),
        )
        if client
        else {}
    )
    context = {
        "script": script,
        "version": version,
        "form": form,
        "client": client,
        "not_found": bool(query) and client is None,
        "steps": render_steps(version.steps, values),
    }
    return render(request, "reactivation/settings/script_preview.html", context)


@admin_required
def settings_script_export(request: HttpRequest, script_id: int) -> HttpResponse:
    script = get_object_or_404(Script.objects.select_related("segment"), pk=script_id)
    version = None
    if request.GET.get("version"):
        version = get_object_or_404(ScriptVersion, script=script, number=request.GET["version"])
    content = script_services.script_export_json(script=script, version=version)
    number = (
        version.number
        if version
        else (script.current_version.number if script.current_version else 0)
    )
    filename = f"script-{slugify(script.name) or script.pk}-v{number}.json"
    response = HttpResponse(content, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@admin_required
def settings_script_import(request: HttpRequest) -> HttpResponse:
    form = ScriptImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            version = script_services.script_import_json(
                content=form.cleaned_data["file"], user=request.user, into=form.cleaned_data["into"]
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error("file", message)
        else:
            messages.success(
                request,
                _("Imported as version %(number)s of “%(name)s”.")
                % {"number": version.number, "name": version.script.name},
            )
            return redirect("settings_script_edit", script_id=version.script_id)
    return render(request, "reactivation/settings/script_import.html", {"form": form})
