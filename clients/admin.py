from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from clients.models import STATS_FIELDS, Client, ImportJob, Segment, Transaction


@admin.register(Segment)
class SegmentAdmin(SimpleHistoryAdmin):
    list_display = [
        "code",
        "name",
        "model_r",
        "model_alpha",
        "model_a",
        "model_b",
        "model_fitted_at",
    ]
    search_fields = ["code", "name"]


@admin.register(Client)
class ClientAdmin(SimpleHistoryAdmin):
    list_display = [
        "external_id",
        "name",
        "segment",
        "status_display",
        "abc_class",
        "last_purchase",
        "manager",
    ]
    list_filter = ["stats__status", "abc_class", "segment", "do_not_contact"]
    search_fields = ["external_id", "name", "phone", "email"]
    raw_id_fields = ["manager"]
    list_select_related = ["segment", "manager", "stats"]
    show_full_result_count = False
    readonly_fields = [
        *STATS_FIELDS,
        "created_at",
        "updated_at",
    ]

    @admin.display(description=_("status"), ordering="stats__status")
    def status_display(self, obj: Client) -> str:
        return obj.get_status_display()

    @admin.display(description=_("last purchase"), ordering="stats__last_purchase_on")
    def last_purchase(self, obj: Client):
        return obj.last_purchase_on


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
    list_display = ["date", "client", "amount", "margin", "promo_code", "external_id"]
    raw_id_fields = ["client", "import_job"]
    search_fields = ["external_id", "promo_code", "client__external_id"]
    date_hierarchy = "date"
    show_full_result_count = False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting a transaction must recompute the client and be recorded in the audit
        # history: that is the delete link on the client card (settings_transaction_delete).
        return False


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "kind",
        "original_name",
        "state",
        "total_rows",
        "error_count",
        "created_by",
    ]
    list_filter = ["kind", "state"]
    readonly_fields = [f.name for f in ImportJob._meta.fields]
