"""Messages: the case's send panel, provider callbacks, the Telegram webhook, unsubscribe
links, and the settings page for message templates."""

from __future__ import annotations

from django.urls import include, path

import reactivation.converters  # noqa: F401  (registers <id:...>)
from reactivation.messaging import views

urlpatterns = [
    path("cases/<id:case_id>/messages/", views.offer_send_panel, name="messaging_panel"),
    path("cases/<id:case_id>/messages/send/", views.offer_send_view, name="messaging_send"),
    path(
        "messaging/callbacks/<slug:provider>/<str:token>/",
        views.provider_callback,
        name="messaging_callback",
    ),
    path("messaging/telegram/<str:token>/", views.telegram_webhook, name="messaging_telegram"),
    # An ESP's delivery and bounce webhooks (anymail), e.g. messaging/anymail/unisender_go/tracking/
    path("messaging/anymail/", include("anymail.urls")),
    path("u/<str:token>/", views.unsubscribe_view, name="messaging_unsubscribe"),
    path("settings/messages/", views.settings_message_templates, name="settings_message_templates"),
    path(
        "settings/messages/new/",
        views.settings_message_template_edit,
        name="settings_message_template_create",
    ),
    path(
        "settings/messages/<id:template_id>/",
        views.settings_message_template_edit,
        name="settings_message_template_edit",
    ),
]
