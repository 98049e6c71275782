"""The project's URLs. Each area keeps its own URL module; views are scoped by role."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from reactivation.views import home

urlpatterns = [
    path("", home.home, name="home"),
    path("healthz", home.healthz, name="healthz"),
    # Browsers (and the Django admin's pages) ask for /favicon.ico; the icon is an SVG.
    path(
        "favicon.ico", lambda r: redirect(static("img/favicon.svg"), permanent=True), name="favicon"
    ),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("", include("clients.urls")),
    path("", include("clients.import_urls")),
    path("", include("calls.urls")),
    path("", include("reactivation.queue_urls")),
    path("", include("reactivation.dashboard_urls")),
    path("", include("reactivation.settings_urls")),
    path("", include("reactivation.telephony.urls")),
    path("", include("reactivation.messaging.urls")),
    path("", include("reactivation.api.urls")),
    path("", include("reactivation.api.settings_urls")),
    path("", include("reactivation.webhooks.urls")),
]

if settings.DEBUG:
    # Under its own name: ``static`` above is the static files' URL, used by /favicon.ico.
    from django.conf.urls.static import static as media_patterns

    urlpatterns += media_patterns(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
