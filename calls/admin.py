"""Data administration (Django admin) for reasons, scripts and calls.

Script versions are immutable (calls point at the version they used): they are edited on the
settings pages, which make a new version, and shown here read-only.
"""

from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from calls.models import Call, Reason, Script, ScriptVersion


@admin.register(Reason)
class ReasonAdmin(SimpleHistoryAdmin):
    list_display = ["position", "name", "code", "active"]
    list_display_links = ["name"]
    list_filter = ["active"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # calls refer to reasons: switch one off instead


class ScriptVersionInline(admin.TabularInline):
    model = ScriptVersion
    fields = ["number", "note", "created_by", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Script)
class ScriptAdmin(SimpleHistoryAdmin):
    list_display = ["name", "segment", "language", "active", "created_at"]
    list_filter = ["active", "language", "segment"]
    inlines = [ScriptVersionInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # switch a script off; its versions stay for the calls made with them


@admin.register(ScriptVersion)
class ScriptVersionAdmin(admin.ModelAdmin):
    list_display = ["script", "number", "note", "created_by", "created_at"]
    list_select_related = ["script", "created_by"]
    readonly_fields = ["script", "number", "steps", "note", "created_by", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = ["called_at", "client", "manager", "outcome", "reason", "next_call_on"]
    list_filter = ["outcome", "reason"]
    search_fields = ["client__external_id", "client__name"]
    list_select_related = ["client", "manager", "reason"]
    raw_id_fields = ["case", "client", "manager", "script_version"]
    date_hierarchy = "called_at"
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
