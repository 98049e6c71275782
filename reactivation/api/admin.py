"""API keys in the Django admin: to look at only. Keys are created and revoked on Settings ->
API keys or by ``manage.py api_key``, which check the role and user; the library's own key
model is not used and is left out of the admin."""

from __future__ import annotations

from django.contrib import admin
from rest_framework_api_key.models import APIKey

from reactivation.api.models import ApiKey

admin.site.unregister(APIKey)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "role", "user", "prefix", "created", "last_used_at", "revoked")
    list_filter = ("role", "revoked")
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = (
        "name",
        "role",
        "user",
        "prefix",
        "created",
        "created_by",
        "last_used_at",
        "revoked",
        "revoked_at",
        "expiry_date",
    )
    exclude = ("hashed_key",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
