from __future__ import annotations

from django.contrib import admin

from reactivation.webhooks.models import Delivery, Endpoint, OutboxEvent


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "active", "created_at")
    exclude = ("secret",)  # shown once, on the settings page that makes it


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ("msg_id", "event_type", "subject", "created_at")
    list_filter = ("event_type",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("event", "endpoint", "state", "attempts", "last_status_code", "next_attempt_at")
    list_filter = ("state",)
    raw_id_fields = ("event", "endpoint")

    def has_change_permission(self, request, obj=None) -> bool:
        return False
