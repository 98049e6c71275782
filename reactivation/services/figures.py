"""The dashboard's period figures, computed off the request and kept in ``PeriodFiguresRecord``.

``period_figures`` reads every purchase day up to the period's end and fits the purchase
models: seconds on a large base, far too long for a request. So a page never computes them
(with a broker configured): it reads the row of its view (period, segment choice, manager) and
of the current data version; when there is none, it creates the row pending, which enqueues
``reactivation.period_figures_compute`` once the request commits, and the page shows those
panels as being computed until the row is done. The unique row makes any number of requests
enqueue one computation. The nightly run enqueues the default views (every preset period x
the whole base and each segment, no manager) after its snapshot.

Without a broker (``REDIS_URL`` unset: tasks run in-process, the embedded default) the request
computes and stores the figures itself, as before, and the nightly run enqueues nothing.

The **data version** is what the figures follow: the nightly snapshots (their last day and
their newest row, so a re-written history counts as new), the business settings and the
policies. Purchases imported during the day show after the next nightly run, like every other
panel of the dashboard.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from reactivation.models import BusinessSettings, DailySnapshot, PeriodFiguresRecord, Policy
from reactivation.selectors.customers import ALL_SEGMENTS, SegmentChoice
from reactivation.selectors.dashboard_figures import PeriodFigures, period_figures

logger = logging.getLogger(__name__)

ALL = "all"
NONE = "none"
# Rows of other data versions are dropped this long after they were asked for.
KEEP_OLD_DAYS = 2


def segment_key(segment_id: SegmentChoice) -> str:
    if segment_id is ALL_SEGMENTS:
        return ALL
    if segment_id is None:
        return NONE
    return str(int(segment_id))


def segment_choice(key: str) -> SegmentChoice:
    if key == ALL:
        return ALL_SEGMENTS
    if key == NONE:
        return None
    return int(key)


def data_version() -> str:
    """The version of the data the figures are computed from (see the module docstring)."""
    snapshots = DailySnapshot.objects.aggregate(day=Max("as_of"), row=Max("pk"))
    policies = Policy.objects.aggregate(changed=Max("updated_at"))["changed"]
    settings = BusinessSettings.load()
    return ":".join(
        str(part)
        for part in (
            snapshots["day"],
            snapshots["row"],
            settings.updated_at.timestamp() if settings.updated_at else None,
            policies.timestamp() if policies else None,
        )
    )


@dataclass(frozen=True)
class View:
    """One dashboard view whose figures are stored: the task's arguments."""

    start: dt.date
    end: dt.date
    segment: str = ALL  # segment_key()
    manager: int = 0  # 0: every manager

    def key(self, version: str) -> dict:
        return {
            "start": self.start,
            "end": self.end,
            "segment": self.segment,
            "manager": self.manager,
            "data_version": version,
        }


@dataclass(frozen=True)
class StoredFigures:
    """The figures of a view as a page finds them: done (``figures``), pending or failed."""

    state: str
    figures: PeriodFigures | None = None
    requested_at: dt.datetime | None = None

    @property
    def ready(self) -> bool:
        return self.figures is not None

    @property
    def pending(self) -> bool:
        return self.state == PeriodFiguresRecord.State.PENDING

    @property
    def failed(self) -> bool:
        return self.state == PeriodFiguresRecord.State.FAILED


def _stored(row: PeriodFiguresRecord) -> StoredFigures:
    figures = (
        PeriodFigures.from_dict(row.figures)
        if row.state == PeriodFiguresRecord.State.DONE
        else None
    )
    return StoredFigures(row.state, figures, row.requested_at)


def _in_process() -> bool:
    from reactivation.celery import app

    return bool(app.conf.task_always_eager)


def _stale_after() -> dt.timedelta:
    """A pending row older than the task's time limit was lost (its worker died and the
    broker dropped it): the next request enqueues it again."""
    from reactivation.tasks import TIME_LIMIT

    return dt.timedelta(seconds=TIME_LIMIT)


def _enqueue(view: View) -> None:
    from reactivation.dashboard_tasks import period_figures_compute

    args = (view.start.isoformat(), view.end.isoformat(), view.segment, view.manager)
    transaction.on_commit(lambda: period_figures_compute.delay(*args))


def figures_compute(view: View) -> PeriodFiguresRecord:
    """Compute the figures of ``view`` from the current data and store them (the task's body).
    Idempotent: a view already done for the current data version is left as it is."""
    version = data_version()
    key = view.key(version)
    row = PeriodFiguresRecord.objects.filter(**key).first()
    if row is not None and row.state == PeriodFiguresRecord.State.DONE:
        return row
    began = time.perf_counter()
    try:
        figures = period_figures(
            start=view.start,
            end=view.end,
            segment_id=segment_choice(view.segment),
            manager_id=view.manager or None,
            by_month=True,
        )
    except Exception as error:
        PeriodFiguresRecord.objects.update_or_create(
            **key,
            defaults={
                "state": PeriodFiguresRecord.State.FAILED,
                "error": repr(error)[:2000],
                "computed_at": timezone.now(),
            },
            create_defaults={
                "state": PeriodFiguresRecord.State.FAILED,
                "error": repr(error)[:2000],
                "computed_at": timezone.now(),
                "requested_at": timezone.now(),
            },
        )
        raise
    now = timezone.now()
    done = {
        "state": PeriodFiguresRecord.State.DONE,
        "figures": figures.to_dict(),
        "computed_at": now,
        "seconds": time.perf_counter() - began,
        "error": "",
    }
    row, _created = PeriodFiguresRecord.objects.update_or_create(
        **key, defaults=done, create_defaults={**done, "requested_at": now}
    )
    return row


def figures_request(view: View, *, retry_failed: bool = True) -> StoredFigures:
    """The figures of ``view`` for a page: the stored row of the current data version when it is
    done; else, with a broker, the row created (or found) pending and the computation enqueued
    once (after commit); without one, computed here and stored.

    ``retry_failed``: a failed row is enqueued again (a page load; a poll only reports it)."""
    version = data_version()
    key = view.key(version)
    row = PeriodFiguresRecord.objects.filter(**key).first()
    if row is not None and row.state == PeriodFiguresRecord.State.DONE:
        return _stored(row)
    if _in_process():
        return _stored(figures_compute(view))
    now = timezone.now()
    if row is None:
        row, created = PeriodFiguresRecord.objects.get_or_create(
            **key, defaults={"requested_at": now}
        )
        if created:
            _enqueue(view)
        return _stored(row)
    lost = row.state == PeriodFiguresRecord.State.PENDING and row.requested_at < now - (
        _stale_after()
    )
    again = row.state == PeriodFiguresRecord.State.FAILED and retry_failed
    if lost or again:
        # Only the request whose update finds the row as it read it enqueues.
        claimed = PeriodFiguresRecord.objects.filter(
            pk=row.pk, state=row.state, requested_at=row.requested_at
        ).update(state=PeriodFiguresRecord.State.PENDING, requested_at=now, error="")
        if claimed:
            _enqueue(view)
            return StoredFigures(PeriodFiguresRecord.State.PENDING, None, now)
    return _stored(row)


def default_views(*, end: dt.date) -> list[View]:
    """The views the nightly run computes ahead: every preset period of the dashboard's filter
    ending on ``end`` x (the whole base and each segment), every manager."""
    from clients.models import Segment
    from reactivation.dashboard_forms import PERIODS

    segments = [
        ALL,
        *(str(pk) for pk in Segment.objects.order_by("pk").values_list("pk", flat=True)),
    ]
    days = [int(value) for value, _label in PERIODS if value.isdigit()]
    return [
        View(start=end - dt.timedelta(days=count - 1), end=end, segment=segment)
        for count in days
        for segment in segments
    ]


def figures_defaults_enqueue(*, as_of: dt.date) -> int:
    """After the nightly snapshot: enqueue the default views ending on ``as_of`` (once the
    run's transaction commits; the task computes each from the data it then finds) and drop
    rows of old data versions. Returns the views enqueued.

    Without a broker nothing is enqueued: tasks would run inside the nightly run itself, and
    the embedded default computes a view when its page is first asked for, as it always did."""
    PeriodFiguresRecord.objects.exclude(data_version=data_version()).filter(
        requested_at__lt=timezone.now() - dt.timedelta(days=KEEP_OLD_DAYS)
    ).delete()
    if _in_process():
        return 0
    views = default_views(end=as_of)
    for view in views:
        _enqueue(view)
    return len(views)


def figures_defaults_compute(*, as_of: dt.date) -> int:
    """The default views computed here and now (the demo ends with them, so its first page is
    complete)."""
    views = default_views(end=as_of)
    for view in views:
        figures_compute(view)
    return len(views)
