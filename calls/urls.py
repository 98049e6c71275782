"""Recording a call on a case (the call form posts here)."""

from __future__ import annotations

from django.urls import path

import reactivation.converters  # noqa: F401  (registers <id:...>)
from reactivation.views import cases

urlpatterns = [
    path("cases/<id:case_id>/call/", cases.case_call, name="case_call"),
]
