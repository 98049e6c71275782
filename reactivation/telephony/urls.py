"""Telephony URLs: the phone system's webhook, click-to-call, recordings, the inbox, settings."""

from __future__ import annotations

from django.urls import path

import reactivation.converters  # noqa: F401  (registers <id:...>)
from reactivation.telephony import views

urlpatterns = [
    path("hooks/phone/<slug:provider>/<str:token>/", views.phone_webhook, name="phone_webhook"),
    # Mango Office appends the event's path (events/call, events/summary ...) to the address.
    path(
        "hooks/phone/<slug:provider>/<str:token>/<path:subpath>",
        views.phone_webhook,
        name="phone_webhook_event",
    ),
    path("cases/<id:case_id>/dial/", views.phone_call_start, name="phone_call_start"),
    path(
        "phone/calls/<id:phone_call_id>/recording/", views.phone_recording, name="phone_recording"
    ),
    path("phone/unmatched/", views.phone_unmatched, name="phone_unmatched"),
    path(
        "phone/unmatched/<id:phone_call_id>/attach/",
        views.phone_unmatched_attach,
        name="phone_unmatched_attach",
    ),
    path("settings/phone/", views.settings_phone, name="settings_phone"),
    path("settings/phone/new/", views.settings_phone_account, name="settings_phone_create"),
    path(
        "settings/phone/<id:account_id>/",
        views.settings_phone_account,
        name="settings_phone_edit",
    ),
    path(
        "settings/phone/<id:account_id>/token/",
        views.settings_phone_token,
        name="settings_phone_token",
    ),
]
