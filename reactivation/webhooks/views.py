"""Settings -> Webhooks (admins): endpoints, their deliveries and attempts, redelivery."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from clients.paginator import paginate
from reactivation.roles import admin_required
from reactivation.webhooks import services
from reactivation.webhooks.forms import EndpointEditForm, EndpointForm
from reactivation.webhooks.models import Attempt, Delivery, Endpoint

PAGE_SIZE = 50


@never_cache  # the page that shows a new endpoint's secret is never kept by a browser or proxy
@admin_required
def settings_webhooks(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST if request.method == "POST" else None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            created = services.endpoint_create(**form.cleaned_data, created_by=request.user)
        except services.WebhookError as exc:
            form.add_error("events", exc.message)
        else:
            form = EndpointForm()
    endpoints = Endpoint.objects.order_by("-active", "name", "pk")
    context = {"form": form, "endpoints": endpoints, "created": created}
    return render(request, "webhooks/settings.html", context, status=400 if form.errors else 200)


@admin_required
def settings_webhook(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(Endpoint, pk=pk)
    initial = {
        "name": endpoint.name,
        "url": endpoint.url,
        "events": endpoint.events,
        "active": endpoint.active,
    }
    form = EndpointEditForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.endpoint_update(endpoint=endpoint, **form.cleaned_data)
        except services.WebhookError as exc:
            form.add_error("events", exc.message)
        else:
            messages.success(request, _("The endpoint was saved."))
            return redirect("settings_webhook", pk=endpoint.pk)
    deliveries = (
        Delivery.objects.filter(endpoint=endpoint)
        .select_related("event")
        .prefetch_related(Prefetch("attempt_rows", queryset=Attempt.objects.order_by("number")))
        .order_by("-created_at", "-pk")
    )
    page = paginate(deliveries, request.GET.get("page"), PAGE_SIZE)
    context = {"form": form, "endpoint": endpoint, "page": page}
    return render(request, "webhooks/endpoint.html", context, status=400 if form.errors else 200)


@require_POST
@admin_required
def settings_webhook_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(Endpoint, pk=pk)
    services.endpoint_deactivate(endpoint=endpoint)
    messages.success(
        request, _("The endpoint “%(name)s” was deactivated.") % {"name": endpoint.name}
    )
    return redirect("settings_webhook", pk=endpoint.pk)


@require_POST
@admin_required
def settings_webhook_redeliver(request: HttpRequest, pk: int, delivery_id: int) -> HttpResponse:
    delivery = get_object_or_404(Delivery, pk=delivery_id, endpoint_id=pk, endpoint__active=True)
    services.delivery_redeliver(delivery=delivery)
    messages.success(request, _("The event will be sent again."))
    return redirect("settings_webhook", pk=pk)
