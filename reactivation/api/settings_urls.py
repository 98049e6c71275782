"""Settings -> API keys, for admins (every view carries ``admin_required``)."""

from __future__ import annotations

from django.urls import path

from reactivation.api import settings_views as views

urlpatterns = [
    path("settings/api-keys/", views.settings_api_keys, name="settings_api_keys"),
    path(
        "settings/api-keys/<str:prefix>/revoke/",
        views.settings_api_key_revoke,
        name="settings_api_key_revoke",
    ),
]
