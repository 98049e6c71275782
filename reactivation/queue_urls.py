"""The manager's week: the queue, the pool and the case page."""

from __future__ import annotations

from django.urls import path

import reactivation.converters  # noqa: F401  (registers <id:...>)
from reactivation.views import cases, queue

urlpatterns = [
    path("queue/", queue.queue, name="queue"),
    path("queue/pool/", queue.pool, name="queue_pool"),
    path("queue/pool/reassign/", queue.reassign, name="queue_reassign"),
    path("queue/pool/release/", queue.release, name="queue_release"),
    path("queue/next/", queue.next_case, name="queue_next"),
    path("cases/<id:case_id>/", cases.case_detail, name="case_detail"),
    path("cases/<id:case_id>/claim/", queue.claim, name="case_claim"),
    path("cases/<id:case_id>/offer/", cases.case_offer, name="case_offer"),
    path("cases/<id:case_id>/close/", cases.case_close_view, name="case_close"),
    path("cases/<id:case_id>/assign/", cases.case_assign_view, name="case_assign"),
]
