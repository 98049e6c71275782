"""Messages: the case's send panel, provider callbacks, the Telegram webhook, unsubscribe
links, and the settings page for message templates."""

from __future__ import annotations

from anymail import urls as anymail_urls
from django.conf import settings
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


def esp_webhooks(email_backend: str) -> list:
    """The delivery and bounce webhooks of the ESP that ``email_backend`` sends through (e.g.
    ``messaging/anymail/unisender_go/tracking/``), and no other: another ESP's view has no
    settings here and would fail on every request."""
    if not email_backend.startswith("anymail.backends."):
        return []
    esp = email_backend.split(".")[2]
    return [
        pattern
        for pattern in anymail_urls.urlpatterns
        if str(pattern.pattern).lstrip("^").startswith(f"{esp}/")
    ]


if webhooks := esp_webhooks(settings.EMAIL_BACKEND):
    urlpatterns.append(path("messaging/anymail/", include((webhooks, "anymail"))))
