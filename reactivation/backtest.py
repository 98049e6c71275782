"""Replaying a policy over the business's own history, and previewing it on today's base.

``backtest(policy=..., as_of=D, days=N)``: a status is a function of the aggregates and a date,
so the aggregates as of a past date D (from transactions up to D) say who the policy would have
had lost on D. Of those, how many bought again within N days on their own (calls that would
have been wasted), how many came back later, and how many never returned. The policy may be
unsaved (an admin trying thresholds before saving them).

``policy_preview(policy=...)``: with these thresholds, how many of the policy's clients would be
active, sleeping and lost today, how many of the lost would be newly lost compared with their
current status, and how many of those would pass the queue gate right now.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from clients.models import Client, Transaction
from reactivation import rules
from reactivation.models import Case, Policy


@dataclass(frozen=True)
class BacktestResult:
    as_of: dt.date
    days: int
    clients: int  # clients under the policy with a purchase by as_of
    flagged: int  # lost on as_of under the policy
    bought_again_within: int  # of the flagged, bought again within ``days`` on their own
    returned_later: int  # bought again, but only after ``days``
    never_returned: int  # no purchase after as_of at all (up to today)
    observed_until: dt.date  # the last transaction date in the data

    @property
    def share(self) -> float:
        """Share of flagged clients who came back on their own within ``days``."""
        return self.bought_again_within / self.flagged if self.flagged else 0.0

    @property
    def never_returned_share(self) -> float:
        return self.never_returned / self.flagged if self.flagged else 0.0

    @property
    def window_complete(self) -> bool:
        """False while the data does not yet reach as_of + days (the figures may still grow)."""
        return self.observed_until >= self.as_of + dt.timedelta(days=self.days)


def _segment_filter(policy: Policy) -> Q:
    """Clients judged by this policy: its segment's, or (the default policy) every client whose
    segment has no policy of its own."""
    if policy.segment_id is not None:
        return Q(segment_id=policy.segment_id)
    own = Policy.objects.filter(segment__isnull=False).values("segment_id")
    return Q(segment__isnull=True) | ~Q(segment_id__in=own)


def _cycles(policy: Policy, n: np.ndarray, span: np.ndarray) -> np.ndarray:
    return rules.cycle_days_array(
        purchase_days=n,
        span_days=span,
        prior_strength=policy.prior_strength,
        default_cycle=policy.default_cycle_days,
        min_cycle=policy.min_cycle_days,
        max_cycle=policy.max_cycle_days,
    )


def backtest(*, policy: Policy, as_of: dt.date, days: int = 90) -> BacktestResult:
    """See the module docstring. One GROUP BY over the policy's clients' transactions."""
    if days <= 0:
        raise ValueError("days must be positive")
    purchases = Transaction.objects.filter(amount__gt=0).filter(
        client__in=Client.objects.filter(_segment_filter(policy))
    )
    before = Q(date__lte=as_of)
    rows = (
        purchases.values("client_id")
        .annotate(
            first=Min("date", filter=before),
            last=Max("date", filter=before),
            n=Count("date", filter=before, distinct=True),
            next=Min("date", filter=Q(date__gt=as_of)),
        )
        .filter(n__gt=0)
        .values_list("first", "last", "n", "next")
    )
    data = list(rows)
    observed = Transaction.objects.aggregate(last=Max("date"))["last"] or as_of
    if not data:
        return BacktestResult(as_of, days, 0, 0, 0, 0, 0, observed)
    first = np.array([r[0].toordinal() for r in data])
    last = np.array([r[1].toordinal() for r in data])
    n = np.array([r[2] for r in data])
    next_day = np.array([r[3].toordinal() if r[3] else -1 for r in data])
    cycle = _cycles(policy, n, last - first)
    codes = rules.status_array(
        days_since=as_of.toordinal() - last,
        cycle_days=cycle,
        sleeping_after=policy.sleeping_after,
        flag_after=policy.flag_after,
    )
    flagged = codes == 3
    gap = np.where(next_day > 0, next_day - as_of.toordinal(), -1)
    within = flagged & (gap > 0) & (gap <= days)
    later = flagged & (gap > days)
    never = flagged & (gap < 0)
    return BacktestResult(
        as_of=as_of,
        days=days,
        clients=len(data),
        flagged=int(flagged.sum()),
        bought_again_within=int(within.sum()),
        returned_later=int(later.sum()),
        never_returned=int(never.sum()),
        observed_until=observed,
    )


@dataclass(frozen=True)
class PolicyPreview:
    as_of: dt.date
    clients: int
    active: int
    sleeping: int
    lost: int
    lost_now: int  # lost under the current thresholds
    newly_lost: int  # lost with these thresholds but not under the current ones
    would_queue: int  # of the newly lost, those who would pass the gate today


def policy_preview(*, policy: Policy, as_of: dt.date | None = None) -> PolicyPreview:
    """See the module docstring. Reads the stored aggregates (no transaction is scanned)."""
    from reactivation.services.gate import client_value, exclusion_reason, gate_context

    as_of = as_of or timezone.localdate()
    rows = list(
        Client.objects.filter(_segment_filter(policy), stats__purchase_days__gt=0).values_list(
            "pk",
            "stats__first_purchase_on",
            "stats__last_purchase_on",
            "stats__purchase_days",
            "stats__status",
        )
    )
    if not rows:
        return PolicyPreview(as_of, 0, 0, 0, 0, 0, 0, 0)
    ids = np.array([r[0] for r in rows])
    first = np.array([r[1].toordinal() for r in rows])
    last = np.array([r[2].toordinal() for r in rows])
    n = np.array([r[3] for r in rows])
    current_lost = np.array([r[4] == rules.LOST for r in rows])
    cycle = _cycles(policy, n, last - first)
    codes = rules.status_array(
        days_since=as_of.toordinal() - last,
        cycle_days=cycle,
        sleeping_after=policy.sleeping_after,
        flag_after=policy.flag_after,
    )
    newly = (codes == 3) & ~current_lost
    candidates = ids[newly].tolist()
    would_queue = 0
    if candidates:
        context = gate_context(as_of=as_of)
        # Judge the candidates with this (possibly unsaved) policy and their new cycle.
        context.policies = {**context.policies, policy.segment_id: policy}
        new_cycle = dict(zip(ids[newly].tolist(), cycle[newly].tolist(), strict=True))
        open_ids = set(
            Case.objects.filter(client_id__in=candidates, status=Case.Status.OPEN).values_list(
                "client_id", flat=True
            )
        )
        last_closed = dict(
            Case.objects.filter(client_id__in=candidates, closed_on__isnull=False)
            .values("client_id")
            .annotate(last=Max("closed_on"))
            .values_list("client_id", "last")
        )
        for client in Client.objects.filter(pk__in=candidates).select_related("stats"):
            client.statistics.cycle_days = new_cycle[client.pk]
            if policy.segment_id is None:
                context.policies[client.segment_id] = policy
            reason = exclusion_reason(
                client,
                context=context,
                open_case=client.pk in open_ids,
                last_closed_on=last_closed.get(client.pk),
                value=client_value(client, context),
            )
            would_queue += reason is None
    return PolicyPreview(
        as_of=as_of,
        clients=len(rows),
        active=int((codes == 1).sum()),
        sleeping=int((codes == 2).sum()),
        lost=int((codes == 3).sum()),
        lost_now=int(current_lost.sum()),
        newly_lost=int(newly.sum()),
        would_queue=would_queue,
    )
