from __future__ import annotations

from django.urls import path

import reactivation.converters  # noqa: F401  (registers <id:...>)
from clients import import_views

urlpatterns = [
    path("import/", import_views.import_start, name="import_start"),
    path("import/<id:job_id>/", import_views.import_job, name="import_job"),
    path("import/<id:job_id>/preview/", import_views.import_preview, name="import_preview"),
    path("import/<id:job_id>/run/", import_views.import_run, name="import_run"),
    path("clients/export/", import_views.client_export, name="client_export"),
    path("queue/export/", import_views.queue_export, name="queue_export"),
]
