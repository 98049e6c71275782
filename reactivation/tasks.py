"""Celery tasks: thin wrappers that take dates as ISO strings and call the services.

Every task can run twice with the same result (the pipeline's ledger and lock make a repeated
run a no-op). Tasks ack late and are re-queued if their worker dies (settings: acks_late,
reject_on_worker_lost); their time limits stay under the broker's visibility timeout; database
errors are retried a few times with backoff.
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

# Under the broker's visibility timeout, so Redis never hands a running task to a second worker.
TIME_LIMIT = min(settings.CELERY_TASK_TIME_LIMIT, settings.CELERY_BROKER_VISIBILITY_TIMEOUT - 600)
SOFT_TIME_LIMIT = TIME_LIMIT - 300
# Extra workers that share a night's re-status chunks (0: the run's own worker does it all).
HELPERS = getattr(settings, "NIGHTLY_HELPERS", 0)
RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": 30,
    "retry_backoff_max": 600,
    "max_retries": 3,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "time_limit": TIME_LIMIT,
    "soft_time_limit": SOFT_TIME_LIMIT,
}


def _date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


@shared_task(name="reactivation.nightly_tick", ignore_result=True, **RETRY)
def nightly_tick() -> list[str]:
    """Every 15 minutes from beat: once ``nightly_at`` has passed in the business timezone, run
    every missed business date in order, then the weekly work on the assignment day."""
    from reactivation.services.pipeline import business_date_due, missed_dates

    due = business_date_due()
    dates = missed_dates(until=due)
    if dates:
        nightly_catch_up_task.delay(due.isoformat())
    return [day.isoformat() for day in dates]


@shared_task(name="reactivation.nightly_catch_up", ignore_result=True, **RETRY)
def nightly_catch_up_task(until: str) -> list[str]:
    from reactivation.services.pipeline import DONE, nightly_catch_up

    outcomes = nightly_catch_up(until=_date(until), helpers=HELPERS)
    for outcome in outcomes:
        if outcome.outcome == DONE:
            weekly_if_due(outcome.as_of)
    return [f"{o.as_of.isoformat()} {o.outcome}" for o in outcomes]


@shared_task(name="reactivation.nightly_run", ignore_result=True, **RETRY)
def nightly_run_task(as_of: str, chunk_size: int | None = None, helpers: int | None = None) -> str:
    from reactivation.services.pipeline import CHUNK_SIZE, nightly_run

    outcome = nightly_run(
        as_of=_date(as_of),
        chunk_size=chunk_size or CHUNK_SIZE,
        helpers=HELPERS if helpers is None else helpers,
    )
    return outcome.outcome


@shared_task(name="reactivation.nightly_chunk", ignore_result=True, **RETRY)
def nightly_chunk_task(as_of: str) -> int:
    """A helper taking chunks of a run in progress (nothing to do if it is already over)."""
    from reactivation.services.pipeline import nightly_chunk

    return nightly_chunk(as_of=_date(as_of))


def weekly_if_due(as_of: dt.date) -> None:
    from reactivation.models import BusinessSettings

    if as_of.weekday() == BusinessSettings.load().assignment_weekday:
        weekly_task.delay(as_of.isoformat())


@shared_task(name="reactivation.weekly", ignore_result=True, **RETRY)
def weekly_task(as_of: str) -> dict:
    from reactivation.services.pipeline import weekly_run

    return weekly_run(as_of=_date(as_of))


@shared_task(name="reactivation.backlog_queue", ignore_result=True, **RETRY)
def backlog_queue_task(as_of: str) -> int:
    """Judge the lost clients no night has judged (see ``services.backlog``); a second run
    finds only those still left."""
    from reactivation.services.backlog import backlog_queue

    judged, _result = backlog_queue(as_of=_date(as_of))
    return judged


import reactivation.dashboard_tasks  # noqa: E402,F401  (registers the dashboard's task)
