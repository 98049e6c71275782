"""Fitting the MBG/NBD model per segment on purchases up to a date, and applying a fit.

The data are each client's (repeat purchase days, days from first to last purchase, days from
first purchase to ``until``), from one GROUP BY over the segment's purchases up to ``until``;
the fit itself is ``reactivation.bgnbd.fit`` (alpha in days). Clients without a segment are a
segment of their own: their fit is stored on the default policy. A fit is shown first
(``manage.py fit_model``, or the admin's settings) and stored only when applied; segments with
``model_auto_refit`` (and the clients without one, where the default policy says so) are
refitted and applied by the weekly task, and so is every segment that has no fit yet: the cycle
prior is fitted from the data by default.

Applying a fit also changes the cycle prior of the segment's one-time buyers (alpha / r, unless
the policy pins the typed prior), so it re-statuses the segment's clients as of the fit's date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import numpy as np
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from clients import stats
from clients.models import Client, Segment
from reactivation import bgnbd
from reactivation.models import Policy
from reactivation.policies import default_policy


@dataclass(frozen=True)
class SegmentFit:
    segment: str | None  # the segment's code; None for the clients without a segment
    until: dt.date
    clients: int
    r: float | None
    alpha: float | None
    a: float | None
    b: float | None
    model: str = bgnbd.MODEL
    log_likelihood: float | None = None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.r is not None

    @property
    def default_cycle_days(self) -> float | None:
        """The gamma part's typical gap alpha / r: a suggestion for the policy's default cycle."""
        return self.alpha / self.r if self.ok and self.r else None

    def as_json(self) -> dict:
        data = asdict(self)
        data["until"] = self.until.isoformat()
        return data


SUMMARY_SQL = """
SELECT MIN(t.date), MAX(t.date), COUNT(DISTINCT t.date)
FROM clients_transaction t
JOIN clients_client c ON c.id = t.client_id
WHERE {segment} AND t.amount > 0 AND t.date <= %s
GROUP BY t.client_id
"""


def segment_summaries(
    *, segment: Segment | None, until: dt.date, every_client: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T) in days for every client of the segment (None: the clients without one;
    ``every_client``: the whole base, as one segment) with a purchase by ``until``."""
    if every_client:
        condition, params = "1 = 1", [until]
    elif segment is None:
        condition, params = "c.segment_id IS NULL", [until]
    else:
        condition, params = "c.segment_id = %s", [segment.pk, until]
    with connection.cursor() as cursor:
        cursor.execute(SUMMARY_SQL.format(segment=condition), params)  # noqa: S608 - constants only
        rows = cursor.fetchall()
    if not rows:
        empty = np.zeros(0)
        return empty, empty, empty
    first = np.fromiter((_ordinal(r[0]) for r in rows), dtype=np.float64, count=len(rows))
    last = np.fromiter((_ordinal(r[1]) for r in rows), dtype=np.float64, count=len(rows))
    days = np.fromiter((r[2] for r in rows), dtype=np.float64, count=len(rows))
    return days - 1, last - first, until.toordinal() - first


def _ordinal(value) -> int:
    if isinstance(value, str):  # SQLite returns dates from raw SQL as text
        value = dt.date.fromisoformat(value)
    return value.toordinal()


def model_fit(*, segment: Segment | None, until: dt.date) -> SegmentFit:
    """Fit the segment's parameters (None: the clients without a segment); a segment with too
    little data gets a note, no numbers."""
    code = segment.code if segment is not None else None
    x, t_x, T = segment_summaries(segment=segment, until=until)
    try:
        result = bgnbd.fit(x, t_x, T)
    except bgnbd.NotEnoughData as error:
        return SegmentFit(code, until, int(x.size), None, None, None, None, note=str(error))
    p = result.params
    return SegmentFit(
        code,
        until,
        result.customers,
        p.r,
        p.alpha,
        p.a,
        p.b,
        log_likelihood=result.log_likelihood,
        note="" if result.converged else "the optimiser did not report convergence",
    )


MODEL_FIELDS = [
    "model_r",
    "model_alpha",
    "model_a",
    "model_b",
    "model_clients",
    "model_fitted_until",
    "model_fitted_at",
]


@transaction.atomic
def model_apply(*, segment: Segment | None, fit: SegmentFit) -> Segment | Policy:
    """Store a fit on the segment (None: on the default policy, for the clients without a
    segment): P(alive), expected purchases and the fitted cycle prior use it from now on, and
    the segment's clients are re-statused with that prior as of the fit's date."""
    if not fit.ok:
        raise ValueError(fit.note or "nothing to apply")
    holder: Segment | Policy = segment if segment is not None else default_policy()
    holder.model_r, holder.model_alpha, holder.model_a, holder.model_b = (
        fit.r,
        fit.alpha,
        fit.a,
        fit.b,
    )
    holder.model_clients = fit.clients
    holder.model_fitted_until = fit.until
    holder.model_fitted_at = timezone.now()
    holder.save(update_fields=MODEL_FIELDS)
    clients = Client.objects.filter(
        segment_id=segment.pk if segment is not None else None
    ).values_list("pk", flat=True)
    stats.restatus_sql(client_ids=list(clients), as_of=fit.until)
    return holder


def fit_groups(*, only_auto: bool = False) -> list[Segment | None]:
    """Every segment and, last, None for the clients without one (the "segment of their own");
    ``only_auto``: those the weekly run fits: the ones that asked for weekly refits, and the
    ones that have no fit yet (the cycle prior is fitted from the data by default)."""
    segments = Segment.objects.order_by("code")
    if only_auto:
        segments = segments.filter(Q(model_auto_refit=True) | Q(model_r__isnull=True))
    groups: list[Segment | None] = list(segments)
    unsegmented = Client.objects.filter(segment__isnull=True).exists()
    default = default_policy()
    if unsegmented and (not only_auto or default.model_auto_refit or not default.has_model):
        groups.append(None)
    return groups


def models_refit(*, until: dt.date, only_auto: bool = True) -> list[SegmentFit]:
    """Fit and apply the segments the weekly run fits (see ``fit_groups``), or all of them."""
    fits = []
    for segment in fit_groups(only_auto=only_auto):
        fit = model_fit(segment=segment, until=until)
        if fit.ok:
            model_apply(segment=segment, fit=fit)
        fits.append(fit)
    return fits


def models_fit_missing(*, until: dt.date) -> list[SegmentFit]:
    """Fit and apply every segment (and the clients without one) that has no fit yet: what a
    first load needs, so that one-time buyers get the fitted cycle prior from the first
    statuses, not a week later when the weekly run fits them. Segments fitted already are
    left as they are."""
    fits = []
    for segment in fit_groups(only_auto=False):
        holder = segment if segment is not None else default_policy()
        if holder.model_r is not None:
            continue
        fit = model_fit(segment=segment, until=until)
        if fit.ok:
            model_apply(segment=segment, fit=fit)
        fits.append(fit)
    return fits
