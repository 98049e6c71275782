"""The dashboard's Celery task: one view's period figures, computed off the request
(``reactivation.services.figures``). Registered through ``reactivation.tasks``."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from reactivation.tasks import RETRY


@shared_task(name="reactivation.period_figures_compute", ignore_result=True, **RETRY)
def period_figures_compute(start: str, end: str, segment: str, manager: int = 0) -> str:
    """Compute and store the figures of one view: ISO dates, the segment choice ("all", "none"
    or the segment's id) and the manager's id (0: every manager). Idempotent: a view already
    stored for the current data is not computed again. Acks late; its time limit stays under
    the broker's visibility timeout (``reactivation.tasks.RETRY``)."""
    from reactivation.services.figures import View, figures_compute

    row = figures_compute(
        View(
            start=dt.date.fromisoformat(start),
            end=dt.date.fromisoformat(end),
            segment=segment,
            manager=int(manager),
        )
    )
    return row.state
