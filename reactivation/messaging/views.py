"""The offer's send panel on the case page, the providers' callbacks, the Telegram webhook,
the unsubscribe link, and the admin's message templates."""

from __future__ import annotations

import hmac
import json
import re

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from clients.paginator import paginate
from reactivation.messaging import selectors, services
from reactivation.messaging.errors import MessageRefused
from reactivation.messaging.forms import MessageTemplateForm, OfferSendForm
from reactivation.messaging.models import Channel, MessageTemplate
from reactivation.messaging.providers import (
    PROVIDERS,
    SMS_PROVIDERS,
    get_provider,
    providers_in_use,
)
from reactivation.messaging.providers.base import InboundReply, StatusReport
from reactivation.roles import admin_required, is_admin, member_required
from reactivation.selectors.case_page import case_get

PANEL = "messaging/_offer_send.html"
START_RE = re.compile(r"^/start(?:@\w+)?\s+(\S+)")


def panel_context(
    request: HttpRequest, *, case, channel: str = "", language: str = "", notice=None
) -> dict:
    return selectors.panel_context(
        case=case, user=request.user, channel=channel, language=language, notice=notice
    )


@member_required
@vary_on_headers("HX-Request")
def offer_send_panel(request: HttpRequest, case_id: int) -> HttpResponse:
    """The panel for a channel and language (htmx swaps it in as the manager picks them)."""
    case = case_get(case_id=case_id, user=request.user)
    context = panel_context(
        request,
        case=case,
        channel=request.GET.get("channel", ""),
        language=request.GET.get("language", ""),
    )
    if request.htmx:
        return render(request, PANEL, context)
    return render(request, "messaging/offer_send_page.html", context)


@require_POST
@member_required
@vary_on_headers("HX-Request")
def offer_send_view(request: HttpRequest, case_id: int) -> HttpResponse:
    case = case_get(case_id=case_id, user=request.user)
    form = OfferSendForm(request.POST)
    channel, language = request.POST.get("channel", ""), request.POST.get("language", "")
    if not form.is_valid():
        notice = ("danger", _("Choose a channel and a language."))
    elif case.assigned_to_id != request.user.pk and not is_admin(request.user):
        notice = ("danger", _("Take this case from the pool before sending the offer."))
    else:
        try:
            message = services.message_send(
                case=case,
                channel=form.cleaned_data["channel"],
                language=form.cleaned_data["language"],
                purpose=form.cleaned_data["purpose"],
                by=request.user,
            )
        except MessageRefused as refusal:
            notice = ("danger", str(refusal.message))
        else:
            notice = (
                "success",
                _("The offer is on its way by %(channel)s to %(to)s.")
                % {"channel": Channel(message.channel).label, "to": message.to},
            )
    if request.htmx:
        status = 200 if notice[0] == "success" else 409
        case.refresh_from_db()
        context = panel_context(
            request, case=case, channel=channel, language=language, notice=notice
        )
        return render(request, PANEL, context, status=status)
    getattr(messages, "success" if notice[0] == "success" else "error")(request, notice[1])
    return redirect(reverse("case_detail", args=[case.pk]) + "#offer-send")


# --- From the providers (no session; a secret in the URL) -----------------------------------------
@csrf_exempt
@require_http_methods(["GET", "POST"])
def provider_callback(request: HttpRequest, provider: str, token: str) -> HttpResponse:
    """A provider's status callback: delivery reports and clients' replies (STOP)."""
    if provider not in SMS_PROVIDERS or provider == "console":
        raise Http404
    if not hmac.compare_digest(token, selectors.callback_token(provider)):
        raise Http404
    events = get_provider(provider).parse_status(request)
    reports = [e for e in events if isinstance(e, StatusReport)]
    replies = [e for e in events if isinstance(e, InboundReply)]
    with transaction.atomic():
        services.message_status_apply(provider=provider, reports=reports)
        services.inbound_apply(channel=Channel.SMS, replies=replies)
    module = __import__(PROVIDERS[provider].__module__, fromlist=["CALLBACK_ANSWER"])
    return HttpResponse(getattr(module, "CALLBACK_ANSWER", "OK"), content_type="text/plain")


def telegram_secret() -> str:
    return settings.TELEGRAM_WEBHOOK_SECRET or selectors.callback_token("telegram")


@csrf_exempt
@require_POST
def telegram_webhook(request: HttpRequest, token: str) -> HttpResponse:
    """Updates from the bot (setWebhook with ``secret_token``): ``/start <token>`` links the
    client's chat; STOP (or /stop) withdraws consent to advertising by Telegram."""
    secret = telegram_secret()
    if not hmac.compare_digest(token, secret):
        raise Http404
    header = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not hmac.compare_digest(header, secret):
        raise PermissionDenied
    replies = get_provider("telegram").parse_status(request)
    for reply in replies:
        match = START_RE.match(reply.text)
        if match:
            link = services.telegram_start(token=match.group(1), chat_id=int(reply.address))
            text = (
                _("Your chat is linked. Reply STOP to stop offers here.")
                if link
                else _("This link is not valid.")
            )
            # The answer to a webhook may be one Bot API call: the bot confirms in the chat.
            return JsonResponse(
                {"method": "sendMessage", "chat_id": int(reply.address), "text": text}
            )
    if services.inbound_apply(channel=Channel.TELEGRAM, replies=replies):
        chat = int(replies[0].address)
        return JsonResponse(
            {"method": "sendMessage", "chat_id": chat, "text": _("Done: no more offers here.")}
        )
    return HttpResponse(json.dumps({}), content_type="application/json")


@csrf_exempt  # a signed link with no session; mail clients post it in one click (RFC 8058)
@require_http_methods(["GET", "POST"])
def unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks (mail scanners open links); POST withdraws and suppresses at once."""
    found = selectors.unsubscribe_read(token)
    if found is None:
        raise Http404
    client_id, channel = found
    done = False
    if request.method == "POST":
        done = services.unsubscribe(client_id=client_id, channel=channel) is not None
        if not done:
            raise Http404
    context = {"done": done, "channel_label": Channel(channel).label}
    return render(request, "messaging/unsubscribe.html", context)


# --- Settings: message templates -------------------------------------------------------------------
@admin_required
def settings_message_templates(request: HttpRequest) -> HttpResponse:
    rows = MessageTemplate.objects.select_related("offer_template").order_by(
        "offer_template__name", "channel", "language"
    )
    page = paginate(rows, request.GET.get("page"), 50)
    context = {"page": page, "providers": providers_in_use()}
    return render(request, "messaging/settings_templates.html", context)


@admin_required
def settings_message_template_edit(
    request: HttpRequest, template_id: int | None = None
) -> HttpResponse:
    template = None if template_id is None else get_object_or_404(MessageTemplate, pk=template_id)
    form = MessageTemplateForm(request.POST or None, instance=template)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Message template saved."))
        return redirect("settings_message_templates")
    context = {"form": form, "template": template, "placeholders": selectors.MESSAGE_PLACEHOLDERS}
    return render(request, "messaging/settings_template_form.html", context)
