"""P(alive) and expected purchases in the next 90 days, read where they are shown.

Both change every day for every client, so they are never stored per client: they are computed
here, vectorised, from the client's stored aggregates (first and last purchase day, purchase
days) and the segment's fitted MBG/NBD parameters (``Segment.model_*``, in days; the clients
without a segment have theirs on the default policy). A segment
without applied parameters has no estimate: the value is None and ``NO_MODEL_NOTE`` says why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext_lazy as _

from clients.models import Client, Segment
from reactivation import bgnbd
from reactivation.models import Policy

HORIZON_DAYS = 90
NO_MODEL_NOTE = _("No fitted model for this segment yet: the status rule alone applies.")
NO_PURCHASE_NOTE = _("No purchases yet.")


@dataclass(frozen=True)
class Estimate:
    p_alive: float | None
    expected_purchases: float | None
    note: str = ""


def _params(holder: Segment | Policy | None) -> bgnbd.Params | None:
    """The fit of a segment, or (the default policy) of the clients without a segment."""
    if holder is None or not holder.has_model:
        return None
    return bgnbd.Params(holder.model_r, holder.model_alpha, holder.model_a, holder.model_b)


def _unsegmented() -> Policy | None:
    return Policy.objects.filter(segment__isnull=True).first()


def summaries(clients: list, as_of: dt.date) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T) in days for clients with at least one purchase (rows or dicts)."""

    def get(client, name):
        return client[name] if isinstance(client, dict) else getattr(client, name)

    first = np.array([get(c, "first_purchase_on").toordinal() for c in clients], dtype=np.float64)
    last = np.array([get(c, "last_purchase_on").toordinal() for c in clients], dtype=np.float64)
    days = np.array([get(c, "purchase_days") for c in clients], dtype=np.float64)
    return days - 1, last - first, np.maximum(as_of.toordinal() - first, last - first)


def estimates(
    clients: Iterable, as_of: dt.date, *, with_expected: bool = True
) -> dict[int, Estimate]:
    """P(alive) and expected purchases in 90 days for each client (rows with ``segment``
    loaded, or a queryset), keyed by client id; ``with_expected=False`` leaves the expected
    purchases out (None)."""
    rows = list(clients)
    segments = {c.segment_id: c.segment for c in rows if c.segment_id}
    # The clients without a segment share the default policy's fit: read once for them all
    # (with or without purchases, so a page's queries do not depend on the client's history).
    unsegmented = _unsegmented() if any(c.segment_id is None for c in rows) else None
    by_segment: dict[int | None, list] = {}
    result: dict[int, Estimate] = {}
    for client in rows:
        if not client.purchase_days or client.first_purchase_on is None:
            result[client.pk] = Estimate(None, None, str(NO_PURCHASE_NOTE))
            continue
        by_segment.setdefault(client.segment_id, []).append(client)
    for segment_id, group in by_segment.items():
        params = _params(segments.get(segment_id) if segment_id else unsegmented)
        if params is None:
            for client in group:
                result[client.pk] = Estimate(None, None, str(NO_MODEL_NOTE))
            continue
        x, t_x, T = summaries(group, as_of)
        alive = bgnbd.p_alive(params, x, t_x, T)
        if with_expected:
            expected = bgnbd.expected_purchases(params, HORIZON_DAYS, x, t_x, T)
            for client, p, e in zip(group, alive, expected, strict=True):
                result[client.pk] = Estimate(float(p), float(e))
        else:
            for client, p in zip(group, alive, strict=True):
                result[client.pk] = Estimate(float(p), None)
    return result


def p_alive_for(clients: Iterable, as_of: dt.date) -> dict[int, float | None]:
    """Just P(alive) per client id (None where the segment has no model): for the export and
    the queue."""
    return {
        client_id: estimate.p_alive
        for client_id, estimate in estimates(clients, as_of, with_expected=False).items()
    }


def client_estimate(client: Client, as_of: dt.date) -> Estimate:
    return estimates([client], as_of)[client.pk]


def p_alive_array(
    *, params: bgnbd.Params, first: np.ndarray, last: np.ndarray, days: np.ndarray, as_of: dt.date
) -> np.ndarray:
    """P(alive) for arrays of ordinals (first, last purchase) and purchase-day counts."""
    first = np.asarray(first, dtype=np.float64)
    last = np.asarray(last, dtype=np.float64)
    T = np.maximum(as_of.toordinal() - first, last - first)
    return bgnbd.p_alive(params, np.asarray(days, dtype=np.float64) - 1, last - first, T)
