"""Settings -> Webhooks, for admins (every view carries ``admin_required``)."""

from __future__ import annotations

from django.urls import path

import reactivation.converters  # noqa: F401  (registers <id:...>)
from reactivation.webhooks import views

urlpatterns = [
    path("settings/webhooks/", views.settings_webhooks, name="settings_webhooks"),
    path("settings/webhooks/<id:pk>/", views.settings_webhook, name="settings_webhook"),
    path(
        "settings/webhooks/<id:pk>/deactivate/",
        views.settings_webhook_deactivate,
        name="settings_webhook_deactivate",
    ),
    path(
        "settings/webhooks/<id:pk>/deliveries/<id:delivery_id>/redeliver/",
        views.settings_webhook_redeliver,
        name="settings_webhook_redeliver",
    ),
]
