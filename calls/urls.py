"""Recording a call on a case (the call form posts here)."""

from __future__ import annotations

from django.urls import path

from reactivation.views import cases

urlpatterns = [
    path("cases/<int:case_id>/call/", cases.case_call, name="case_call"),
]
