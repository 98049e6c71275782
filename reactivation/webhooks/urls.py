"""Settings -> Webhooks, for admins (every view carries ``admin_required``)."""

from __future__ import annotations

from django.urls import path

from reactivation.webhooks import views

urlpatterns = [
    path("settings/webhooks/", views.settings_webhooks, name="settings_webhooks"),
    path("settings/webhooks/<int:pk>/", views.settings_webhook, name="settings_webhook"),
    path(
        "settings/webhooks/<int:pk>/deactivate/",
        views.settings_webhook_deactivate,
        name="settings_webhook_deactivate",
    ),
    path(
        "settings/webhooks/<int:pk>/deliveries/<int:delivery_id>/redeliver/",
        views.settings_webhook_redeliver,
        name="settings_webhook_redeliver",
    ),
]
