"""Data administration for messages and consent. Consent records and messages are written by
the product and are evidence: read-only here. Suppressions may be added by hand."""

from __future__ import annotations

from django.contrib import admin

from reactivation.messaging.models import (
    Consent,
    Message,
    MessageTemplate,
    Suppression,
    TelegramLink,
)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Consent)
class ConsentAdmin(ReadOnly):
    list_display = [
        "client",
        "channel",
        "purpose",
        "granted",
        "source",
        "text_version",
        "recorded_at",
        "recorded_by",
    ]
    list_filter = ["channel", "purpose", "granted", "source"]
    search_fields = ["client__name", "client__external_id", "address"]
    raw_id_fields = ["client", "call"]


@admin.register(Message)
class MessageAdmin(ReadOnly):
    list_display = [
        "created_at",
        "client",
        "channel",
        "purpose",
        "to",
        "provider",
        "status",
        "error",
    ]
    list_filter = ["channel", "status", "provider", "purpose"]
    search_fields = ["to", "provider_id", "client__name", "client__external_id"]


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ["value", "kind", "source", "created_at"]
    list_filter = ["kind", "source"]
    search_fields = ["value"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["offer_template", "channel", "language", "active", "updated_at"]
    list_filter = ["channel", "language", "active"]


@admin.register(TelegramLink)
class TelegramLinkAdmin(ReadOnly):
    list_display = ["client", "chat_id", "linked_at"]
