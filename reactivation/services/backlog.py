"""Clients who were lost before the engine ever judged them: the backlog.

The nightly run judges a client when they *become* lost. A business that imports years of
history starts with many clients who are lost already (their status was set by the import or by
``rebuild_stats``, not by a night), so no night will ever judge them. ``backlog_queue`` runs the
same gate over those clients once: the never-judged lost clients (no case and no recorded
exclusion, ever) get a case or an exclusion with its reason, exactly as if they had just become
lost. Run it after a first import, from Settings or ``manage.py queue_backlog``; running it
again judges only clients that are still in the backlog.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet

from clients.models import ClientStats, Status
from reactivation.models import Case, QueueExclusion
from reactivation.services import gate

CHUNK = 2000


def backlog_clients() -> QuerySet[ClientStats]:
    """Lost clients who have never had a case nor an exclusion."""
    return ClientStats.objects.filter(status=Status.LOST).filter(
        ~Exists(Case.objects.filter(client_id=OuterRef("client_id"))),
        ~Exists(QueueExclusion.objects.filter(client_id=OuterRef("client_id"))),
    )


def backlog_count() -> int:
    return backlog_clients().count()


def backlog_queue(*, as_of: dt.date, chunk_size: int = CHUNK) -> tuple[int, gate.GateResult]:
    """Judge every client of the backlog through the gate, a chunk per transaction. Returns the
    clients judged and what the gate did (cases opened, control cases, exclusions by reason)."""
    context = gate.gate_context(as_of=as_of)
    total, result, after = 0, gate.GateResult(), 0
    while True:
        ids = list(
            backlog_clients()
            .filter(client_id__gt=after)
            .order_by("client_id")
            .values_list("client_id", flat=True)[:chunk_size]
        )
        if not ids:
            return total, result
        with transaction.atomic():
            result.add(gate.cases_open_for_lost(as_of=as_of, client_ids=ids, context=context))
        total += len(ids)
        after = ids[-1]
