"""Settings -> API keys (admins): create a key (its secret shown once), list and revoke keys."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from clients.paginator import paginate
from reactivation.api import services
from reactivation.api.forms import ApiKeyCreateForm
from reactivation.api.models import ApiKey
from reactivation.roles import admin_required

TEMPLATE = "api/settings_keys.html"
PAGE_SIZE = 50


@never_cache  # the page that shows a new key's secret is never kept by a browser or a proxy
@admin_required
def settings_api_keys(request: HttpRequest) -> HttpResponse:
    form = ApiKeyCreateForm(request.POST if request.method == "POST" else None)
    secret, created = None, None
    if request.method == "POST" and form.is_valid():
        try:
            created, secret = services.key_create(
                name=form.cleaned_data["name"],
                role=form.cleaned_data["role"],
                user=form.cleaned_data["user"],
                created_by=request.user,
            )
        except services.ApiKeyError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            form = ApiKeyCreateForm()
    keys = ApiKey.objects.select_related("user", "created_by").order_by("revoked", "-created")
    page = paginate(keys, request.GET.get("page"), PAGE_SIZE)
    context = {"form": form, "page": page, "secret": secret, "created": created}
    return render(request, TEMPLATE, context, status=400 if form.errors else 200)


@require_POST
@admin_required
def settings_api_key_revoke(request: HttpRequest, prefix: str) -> HttpResponse:
    key = get_object_or_404(ApiKey, prefix=prefix, revoked=False)
    services.key_revoke(key=key)
    messages.success(request, _("The key “%(name)s” was revoked.") % {"name": key.name})
    return redirect("settings_api_keys")
