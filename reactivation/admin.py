"""Data administration (Django admin) for the reactivation models.

Changes made here land in the same audit history as the settings pages (SimpleHistoryAdmin
shows each row's history). Cases, offers, snapshots and the run ledger are written by the
product itself, so here they are read-only: nobody deletes a case or an offer by hand.
"""

from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from reactivation.models import (
    BusinessSettings,
    Case,
    DailySnapshot,
    Offer,
    OfferTemplate,
    PipelineRun,
    Policy,
    QueueExclusion,
    WeeklyPlan,
)


class ReadOnlyMixin:
    """Rows the product writes: visible for support, never edited or deleted by hand."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Policy)
class PolicyAdmin(SimpleHistoryAdmin):
    list_display = [
        "__str__",
        "sleeping_after",
        "flag_after",
        "default_cycle_days",
        "control_share",
        "updated_at",
    ]
    list_select_related = ["segment"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # The default policy judges every segment without its own; it must always exist.
        return (
            obj is not None
            and obj.segment_id is not None
            and super().has_delete_permission(request, obj)
        )


@admin.register(BusinessSettings)
class BusinessSettingsAdmin(SimpleHistoryAdmin):
    list_display = ["__str__", "company_name", "nightly_at", "assignment_weekday", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return not BusinessSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    list_display = [
        "pk",
        "client",
        "status",
        "assigned_to",
        "opened_on",
        "closed_on",
        "abc_class",
        "priority",
    ]
    list_filter = ["status", "is_control", "abc_class"]
    search_fields = ["client__external_id", "client__name"]
    list_select_related = ["client", "assigned_to"]
    raw_id_fields = ["client", "assigned_to", "won_transaction", "credited_manager"]
    show_full_result_count = False


@admin.register(QueueExclusion)
class QueueExclusionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["as_of", "client", "reason", "detail"]
    list_filter = ["reason"]
    list_select_related = ["client"]
    search_fields = ["client__external_id"]
    show_full_result_count = False


@admin.register(OfferTemplate)
class OfferTemplateAdmin(SimpleHistoryAdmin):
    list_display = ["name", "kind", "value", "validity_days", "cost", "active"]
    list_filter = ["kind", "active"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Issued offers point at their template: switch it off instead.
        return False


@admin.register(Offer)
class OfferAdmin(ReadOnlyMixin, SimpleHistoryAdmin):
    list_display = [
        "code",
        "client",
        "kind",
        "value",
        "status",
        "issued_on",
        "expires_on",
        "redeemed_on",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["code", "client__external_id"]
    list_select_related = ["client"]
    show_full_result_count = False


@admin.register(WeeklyPlan)
class WeeklyPlanAdmin(SimpleHistoryAdmin):
    list_display = ["manager", "calls", "reached", "offers", "wins", "updated_at"]
    list_select_related = ["manager"]


@admin.register(PipelineRun)
class PipelineRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["as_of", "state", "started_at", "finished_at", "heartbeat_at"]
    list_filter = ["state"]


@admin.register(DailySnapshot)
class DailySnapshotAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "as_of",
        "segment",
        "active",
        "sleeping",
        "lost",
        "revenue",
        "cases_opened",
        "cases_won",
    ]
    date_hierarchy = "as_of"
    show_full_result_count = False
