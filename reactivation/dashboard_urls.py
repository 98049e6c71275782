from __future__ import annotations

from django.urls import path

from reactivation.views import dashboard

urlpatterns = [
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/numbers/<slug:panel>/", dashboard.dashboard_numbers, name="dashboard_numbers"),
    path("dashboard/export/<slug:panel>.csv", dashboard.dashboard_export, name="dashboard_export"),
]
