"""Settings pages, for admins only: every view here carries ``admin_required``."""

from __future__ import annotations

from django.urls import path

import reactivation.converters  # noqa: F401  (registers <id:...>)
from reactivation.views import settings as views
from reactivation.views import settings_audit as audit
from reactivation.views import settings_policies as policies
from reactivation.views import settings_scripts as scripts

urlpatterns = [
    path("settings/", views.settings_home, name="settings_home"),
    path("settings/schedule/", views.settings_schedule, name="settings_schedule"),
    # Policies, their preview and backtest, and the fitted models
    path("settings/policies/", policies.settings_policies, name="settings_policies"),
    path("settings/policies/new/", policies.settings_policy_create, name="settings_policy_create"),
    path(
        "settings/policies/<id:policy_id>/",
        policies.settings_policy_edit,
        name="settings_policy_edit",
    ),
    path(
        "settings/policies/<id:policy_id>/preview/",
        policies.settings_policy_preview,
        name="settings_policy_preview",
    ),
    path(
        "settings/policies/<id:policy_id>/backtest/",
        policies.settings_policy_backtest,
        name="settings_policy_backtest",
    ),
    path("settings/policies/backlog/", policies.settings_backlog, name="settings_backlog"),
    path("settings/models/", policies.settings_models, name="settings_models"),
    path(
        "settings/models/<id:segment_id>/fit/",
        policies.settings_model_fit,
        name="settings_model_fit",
    ),
    path(
        "settings/models/<id:segment_id>/apply/",
        policies.settings_model_apply,
        name="settings_model_apply",
    ),
    # Call scripts
    path("settings/scripts/", scripts.settings_scripts, name="settings_scripts"),
    path("settings/scripts/new/", scripts.settings_script_create, name="settings_script_create"),
    path("settings/scripts/import/", scripts.settings_script_import, name="settings_script_import"),
    path(
        "settings/scripts/<id:script_id>/",
        scripts.settings_script_edit,
        name="settings_script_edit",
    ),
    path(
        "settings/scripts/<id:script_id>/preview/",
        scripts.settings_script_preview,
        name="settings_script_preview",
    ),
    path(
        "settings/scripts/<id:script_id>/export/",
        scripts.settings_script_export,
        name="settings_script_export",
    ),
    # Offer templates, reasons, plans
    path("settings/offers/", views.settings_offers, name="settings_offers"),
    path("settings/offers/new/", views.settings_offer_edit, name="settings_offer_create"),
    path(
        "settings/offers/<id:template_id>/", views.settings_offer_edit, name="settings_offer_edit"
    ),
    path("settings/reasons/", views.settings_reasons, name="settings_reasons"),
    path("settings/reasons/new/", views.settings_reason_edit, name="settings_reason_create"),
    path(
        "settings/reasons/<id:reason_id>/", views.settings_reason_edit, name="settings_reason_edit"
    ),
    path("settings/plans/", views.settings_plans, name="settings_plans"),
    path("settings/plans/<id:user_id>/", views.settings_plan_edit, name="settings_plan_edit"),
    # Users and roles
    path("settings/users/", views.settings_users, name="settings_users"),
    path("settings/users/new/", views.settings_user_create, name="settings_user_create"),
    path("settings/users/<id:user_id>/", views.settings_user_edit, name="settings_user_edit"),
    path(
        "settings/users/<id:user_id>/password/",
        views.settings_user_password,
        name="settings_user_password",
    ),
    # Audit history and the admin-only deletions
    path("settings/audit/", audit.settings_audit, name="settings_audit"),
    path(
        "settings/clients/<id:client_id>/delete/",
        audit.settings_client_delete,
        name="settings_client_delete",
    ),
    path(
        "settings/transactions/<id:transaction_id>/delete/",
        audit.settings_transaction_delete,
        name="settings_transaction_delete",
    ),
]
