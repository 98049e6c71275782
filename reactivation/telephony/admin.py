"""Data administration for the phone system: the calls and the raw events, read-only (they are
the phone system's record), and the extensions. Accounts are set on Settings -> Phone system,
where the credentials are sealed; here they are listed without them."""

from __future__ import annotations

from django.contrib import admin

from reactivation.telephony.models import PhoneAccount, PhoneCall, PhoneEvent, PhoneExtension


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PhoneAccount)
class PhoneAccountAdmin(ReadOnlyAdmin):
    list_display = ["name", "provider", "active", "from_environment", "created_at"]
    fields = ["name", "provider", "base_url", "timezone", "active", "from_environment"]


@admin.register(PhoneExtension)
class PhoneExtensionAdmin(admin.ModelAdmin):
    list_display = ["extension", "user"]
    search_fields = ["extension", "user__username"]
    raw_id_fields = ["user"]


@admin.register(PhoneCall)
class PhoneCallAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at",
        "direction",
        "number",
        "extension",
        "manager",
        "result",
        "duration",
        "client",
    ]
    list_filter = ["direction", "result", "click_to_call", "from_returning_client"]
    search_fields = ["number", "provider_call_id", "extension"]
    raw_id_fields = ["manager", "client", "case", "call"]
    exclude = ["recording_file"]


@admin.register(PhoneEvent)
class PhoneEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "account", "kind", "call_id", "processed_at"]
    list_filter = ["kind", "account"]
    search_fields = ["call_id", "key"]
