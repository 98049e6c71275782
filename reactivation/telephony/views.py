"""The phone system's webhook, click-to-call, recordings, the unmatched inbox and the
settings page. Thin: the services and selectors do the work."""

from __future__ import annotations

import logging

import requests
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from clients.models import Client
from clients.paginator import paginate
from reactivation.roles import admin_required, member_required, sees_everything
from reactivation.selectors.case_page import case_get
from reactivation.telephony import selectors, services
from reactivation.telephony.adapters import ADAPTERS, OriginateError, WebhookRequest, adapter_for
from reactivation.telephony.forms import AttachForm, ExtensionForm, PhoneAccountForm
from reactivation.telephony.models import PhoneAccount, PhoneCall, PhoneExtension

security_log = logging.getLogger("reactivation.security")
CHUNK = 64 * 1024


# --- The webhook ------------------------------------------------------------------------------
def _refuse(request: HttpRequest, provider: str, why: str) -> HttpResponse:
    security_log.warning(
        "phone webhook refused (%s): provider=%s from=%s",
        why,
        provider,
        request.META.get("REMOTE_ADDR"),
    )
    return HttpResponseForbidden("forbidden")


@csrf_exempt
def phone_webhook(
    request: HttpRequest, provider: str, token: str, subpath: str = ""
) -> HttpResponse:
    """``/hooks/phone/<provider>/<token>/``: a wrong token or signature is a 403 that stores
    nothing; a set-up check is answered; events are stored and answered at once."""
    if provider not in ADAPTERS:
        raise Http404
    account = services.account_for_webhook(provider, token)
    if account is None:
        return _refuse(request, provider, "token")
    body = request.body  # before the form: reading a form may consume the stream
    hook = WebhookRequest(
        method=request.method or "GET",
        headers={name.lower(): value for name, value in request.headers.items()},
        query={key: request.GET.get(key, "") for key in request.GET},
        form={key: request.POST.get(key, "") for key in request.POST},
        body=body,
        received_at=timezone.now(),
        subpath=subpath,
    )
    adapter = adapter_for(account.adapter_config())
    answer = adapter.handshake(hook)
    if answer is not None:
        body, headers = answer
        response = HttpResponse(body, content_type="text/plain")
        for name, value in headers.items():
            response[name] = value
        return response
    if request.method != "POST":
        return HttpResponse(status=405)
    if not adapter.verify(hook):
        return _refuse(request, provider, "signature")
    stored = services.events_receive(account=account, request=hook)
    return JsonResponse({"stored": len(stored)})


# --- Click-to-call and recordings -------------------------------------------------------------
@require_POST
@member_required
def phone_call_start(request: HttpRequest, case_id: int) -> HttpResponse:
    case = case_get(case_id=case_id, user=request.user)
    try:
        dialled = services.call_originate(case=case, user=request.user)
    except services.PhoneError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request,
            _("Calling: your phone (extension %(extension)s) rings first, then the client.")
            % {"extension": dialled.extension},
        )
    return redirect("case_detail", case_id=case.pk)


@member_required
def phone_recording(request: HttpRequest, phone_call_id: int) -> HttpResponse:
    """Play a call's recording, streamed from the phone system (its links expire and are not
    shown to the browser). The case page's visibility applies, and then only the case's
    manager, owners and admins may listen."""
    call = get_object_or_404(PhoneCall.objects.select_related("account"), pk=phone_call_id)
    case = case_get(case_id=call.case_id, user=request.user) if call.case_id else None
    if case is None and not sees_everything(request.user):
        raise Http404
    if not selectors.may_play_recording(case=case, user=request.user):
        raise PermissionDenied
    if not call.has_recording:
        raise Http404
    if call.recording_file:
        response = FileResponse(call.recording_file.open("rb"))
        response["Cache-Control"] = "private, no-store"
        return response
    adapter = adapter_for(call.account.adapter_config())
    try:
        url = adapter.recording(
            recording_ref=call.recording_ref,
            recording_url=call.recording_url,
            call_id=call.provider_call_id,
        )
        if not url.startswith(("https://", "http://")):
            raise Http404
        upstream = requests.get(url, stream=True, timeout=30)
    except (OriginateError, requests.RequestException):
        return HttpResponse(_("The phone system did not give the recording."), status=502)
    if upstream.status_code != 200:
        upstream.close()
        return HttpResponse(_("The phone system did not give the recording."), status=502)
    response = StreamingHttpResponse(
        upstream.iter_content(CHUNK),
        content_type=upstream.headers.get("Content-Type", "audio/mpeg"),
    )
    if upstream.headers.get("Content-Length"):
        response["Content-Length"] = upstream.headers["Content-Length"]
    response["Cache-Control"] = "private, no-store"
    return response


# --- The unmatched inbox ----------------------------------------------------------------------
@member_required
def phone_unmatched(request: HttpRequest) -> HttpResponse:
    page = paginate(
        selectors.calls_unmatched(user=request.user),
        request.GET.get("page"),
        selectors.UNMATCHED_PAGE_SIZE,
    )
    return render(request, "telephony/unmatched.html", {"page": page, "form": AttachForm()})


@require_POST
@member_required
def phone_unmatched_attach(request: HttpRequest, phone_call_id: int) -> HttpResponse:
    call = get_object_or_404(selectors.calls_unmatched(user=request.user), pk=phone_call_id)
    form = AttachForm(request.POST, clients=Client.objects.visible_to(request.user))
    if not form.is_valid():
        for error in form.errors.get("client", []):
            messages.error(request, error)
        return redirect("phone_unmatched")
    call = services.phone_call_attach(phone_call=call, client=form.cleaned_data["client"])
    client = form.cleaned_data["client"]
    messages.success(
        request,
        _("The call is attached to %(client)s.") % {"client": client.name or client.external_id},
    )
    if call.case_id:
        return redirect("case_detail", case_id=call.case_id)
    return redirect("phone_unmatched")


# --- Settings ---------------------------------------------------------------------------------
def _webhook_url(request: HttpRequest, account: PhoneAccount) -> str:
    token = account.current_token()
    if not token:
        return ""
    return request.build_absolute_uri(
        reverse("phone_webhook", kwargs={"provider": account.provider, "token": token})
    )


@admin_required
def settings_phone(request: HttpRequest) -> HttpResponse:
    extension_form = ExtensionForm(request.POST or None)
    if request.method == "POST" and extension_form.is_valid():
        try:
            services.extension_set(
                user=extension_form.cleaned_data["user"],
                extension=extension_form.cleaned_data["extension"],
            )
        except services.PhoneError as exc:
            extension_form.add_error("extension", exc.message)
        else:
            messages.success(request, _("Extension saved."))
            return redirect("settings_phone")
    services.environment_account()
    accounts = list(PhoneAccount.objects.exclude(from_environment=True, active=False))
    rows = [(account, _webhook_url(request, account)) for account in accounts]
    return render(
        request,
        "telephony/settings.html",
        {
            "rows": rows,
            "default": services.account_default(),
            "extensions": PhoneExtension.objects.select_related("user").order_by("extension"),
            "extension_form": extension_form,
        },
    )


@admin_required
def settings_phone_account(request: HttpRequest, account_id: int | None = None) -> HttpResponse:
    account = (
        get_object_or_404(PhoneAccount, pk=account_id, from_environment=False)
        if account_id is not None
        else None
    )
    form = PhoneAccountForm(request.POST or None, instance=account)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Phone system saved."))
        return redirect("settings_phone")
    return render(request, "telephony/account_form.html", {"form": form, "account": account})


@require_POST
@admin_required
def settings_phone_token(request: HttpRequest, account_id: int) -> HttpResponse:
    account = get_object_or_404(PhoneAccount, pk=account_id, from_environment=False)
    services.account_regenerate_token(account)
    messages.success(
        request, _("New webhook address made: paste it into the phone system's cabinet.")
    )
    return redirect("settings_phone")
