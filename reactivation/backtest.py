"""Replaying a policy over the business's own history, and previewing it on today's base.

``backtest(as_of=D, days=N, window=W, policy=...)`` asks what the nightly runs of the W days up to
D would have done, and how well the rule and the model rank who comes back. Everything is
computed from the transactions up to D (no look-ahead): the aggregates, each segment's MBG/NBD
fit (``bgnbd.fit`` on the summaries as of D) and from it the fitted cycle prior and P(alive) as
of D. Only the outcomes are read after D.

- **flagged**: the clients who became lost in ``(D - W, D]``, whom those nights would have judged
  (a client lost earlier was judged on an earlier night);
- of them, **bought again on their own**: a purchase within ``(D, D + N]`` with no case (other
  than a control case, which nobody calls) and no call between becoming lost and that purchase;
  **after contact**: the same with a case or call in between; **later**: the first purchase after
  the horizon; **never came back**: no purchase after D at all (up to the data's last day).
  The four add up to the flagged;
- **missed**: clients the rule did not have lost on D (active or sleeping, so no night flagged
  them) who never came back either;
- **ranking quality**: the area under the ROC curve (``ranking.roc_auc``) for "buys again within
  the horizon" over every client who had bought by D, of the rule's score (days since the last
  purchase / cycle, lower ranks higher) and of the model's (P(alive) as of D; also its expected
  purchases within the horizon). Clients of a segment without enough data for a fit have no
  model score and are left out of the model's AUC.

With ``policy`` the replay covers that policy's clients judged by it (possibly unsaved: an admin
trying thresholds before saving); without, the whole base, each segment by its own policy.

``policy_preview(policy=...)``: with these thresholds, how many of the policy's clients would be
active, sleeping and lost today, how many of the lost would be newly lost compared with their
current status, and how many of those would pass the queue gate right now.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.db import connection
from django.db.models import Max, Q
from django.utils import timezone

from calls.models import Call
from clients.models import Client, Transaction
from reactivation import bgnbd, rules
from reactivation.models import Case, Policy
from reactivation.policies import policy_for_segments
from reactivation.ranking import roc_auc

DEFAULT_WINDOW_DAYS = 7


@dataclass(frozen=True)
class BacktestResult:
    as_of: dt.date
    days: int  # the horizon N
    window: int  # W: the nights before as_of whose newly lost are judged
    clients: int  # clients with a purchase by as_of
    flagged: int  # became lost in (as_of - window, as_of]
    bought_again_on_own: int  # of the flagged, bought within the horizon with no case or call
    bought_again_after_contact: int  # of the flagged, bought within the horizon after one
    returned_later: int  # of the flagged, first purchase after the horizon
    never_came_back: int  # of the flagged, no purchase after as_of at all
    missed: int  # not lost on as_of, and no purchase after as_of at all either
    auc_rule: float | None  # days since last / cycle, for buying again within the horizon
    auc_model: float | None  # P(alive) as of as_of from the fit on data up to as_of
    auc_expected: float | None  # the model's expected purchases within the horizon
    modelled: int  # clients with a model score (their segment had enough data for a fit)
    observed_until: dt.date  # the last transaction date in the data

    @property
    def share(self) -> float:
        """Share of flagged clients who came back on their own within the horizon."""
        return self.bought_again_on_own / self.flagged if self.flagged else 0.0

    @property
    def never_returned_share(self) -> float:
        return self.never_came_back / self.flagged if self.flagged else 0.0

    @property
    def window_complete(self) -> bool:
        """False while the data does not yet reach as_of + days (the figures may still grow)."""
        return self.observed_until >= self.as_of + dt.timedelta(days=self.days)

    @property
    def better_ranking(self) -> str | None:
        """ "model" or "rule": which ranks who buys again better here (None: not comparable)."""
        if self.auc_rule is None or self.auc_model is None:
            return None
        return "model" if self.auc_model > self.auc_rule else "rule"

    def as_json(self) -> dict:
        return {
            "flagged": self.flagged,
            "bought_again_on_own": self.bought_again_on_own,
            "never_came_back": self.never_came_back,
            "missed": self.missed,
            "auc_rule": self.auc_rule,
            "auc_model": self.auc_model,
        }


def _segment_filter(policy: Policy) -> Q:
    """Clients judged by this policy: its segment's, or (the default policy) every client whose
    segment has no policy of its own."""
    if policy.segment_id is not None:
        return Q(segment_id=policy.segment_id)
    own = Policy.objects.filter(segment__isnull=False).values("segment_id")
    return Q(segment__isnull=True) | ~Q(segment_id__in=own)


def _cycles(policy: Policy, n: np.ndarray, span: np.ndarray, prior=None) -> np.ndarray:
    strength, default = (
        (policy.prior_strength, policy.default_cycle_days) if prior is None else prior
    )
    return rules.cycle_days_array(
        purchase_days=n,
        span_days=span,
        prior_strength=strength,
        default_cycle=default,
        min_cycle=policy.min_cycle_days,
        max_cycle=policy.max_cycle_days,
    )


@dataclass
class _History:
    """Per client with a purchase by as_of: aggregates up to as_of and the first purchase after
    it (ordinals; -1: none), with the client's segment (-1: none)."""

    ids: np.ndarray
    segment: np.ndarray
    first: np.ndarray
    last: np.ndarray
    n: np.ndarray
    next_day: np.ndarray


EPOCH = dt.date(1970, 1, 1).toordinal()
HISTORY_SQL = """
SELECT t.client_id, COALESCE(c.segment_id, -1),
       MIN(CASE WHEN t.date <= %s THEN {day} END),
       MAX(CASE WHEN t.date <= %s THEN {day} END),
       COUNT(DISTINCT CASE WHEN t.date <= %s THEN t.date END),
       COALESCE(MIN(CASE WHEN t.date > %s THEN {day} END), -1)
FROM clients_transaction t JOIN clients_client c ON c.id = t.client_id
WHERE t.amount > 0 {clients}
GROUP BY t.client_id, c.segment_id
HAVING MIN(t.date) <= %s
"""


def _history(*, as_of: dt.date, clients: Q | None) -> _History:
    """One GROUP BY over the purchases (of the chosen clients), read straight into arrays (day
    numbers from 1970-01-01, turned into ordinals)."""
    if connection.vendor == "postgresql":
        day, date = "(t.date - DATE '1970-01-01')", as_of
    else:
        day, date = "CAST(julianday(t.date) - 2440587.5 AS INTEGER)", as_of.isoformat()
    where, inner = "", ()
    if clients is not None:
        sql, inner = Client.objects.filter(clients).values("pk").query.sql_with_params()
        where = f"AND t.client_id IN ({sql})"
    params = [date] * 4 + list(inner) + [date]
    with connection.cursor() as cursor:
        cursor.execute(HISTORY_SQL.format(day=day, clients=where), params)  # noqa: S608
        table = np.asarray(cursor.fetchall(), dtype=np.int64).reshape(-1, 6)
    next_day = table[:, 5]
    return _History(
        ids=table[:, 0],
        segment=table[:, 1],
        first=table[:, 2] + EPOCH,
        last=table[:, 3] + EPOCH,
        n=table[:, 4],
        next_day=np.where(next_day < 0, -1, next_day + EPOCH),
    )


def _contacted(*, ids: np.ndarray, lost_from: np.ndarray, until: np.ndarray) -> np.ndarray:
    """For each client, whether a case (not a control case) was open or a call was made on some
    day of ``[lost_from, until]`` (ordinals)."""
    if ids.size == 0:
        return np.zeros(0, dtype=bool)
    low = dt.date.fromordinal(int(lost_from.min()))
    high = dt.date.fromordinal(int(until.max()))
    spans: dict[int, list[tuple[int, int]]] = {}
    cases = Case.objects.filter(
        is_control=False, client_id__in=ids.tolist(), opened_on__lte=high
    ).filter(Q(closed_on__isnull=True) | Q(closed_on__gte=low))
    for client_id, opened, closed in cases.values_list("client_id", "opened_on", "closed_on"):
        end = closed.toordinal() if closed else high.toordinal()
        spans.setdefault(client_id, []).append((opened.toordinal(), end))
    calls = Call.objects.filter(
        client_id__in=ids.tolist(), called_at__date__gte=low, called_at__date__lte=high
    )
    for client_id, called_at in calls.values_list("client_id", "called_at"):
        day = timezone.localdate(called_at).toordinal()
        spans.setdefault(client_id, []).append((day, day))
    result = np.zeros(ids.size, dtype=bool)
    for index, client_id in enumerate(ids.tolist()):
        for begin, end in spans.get(client_id, ()):
            if begin <= until[index] and end >= lost_from[index]:
                result[index] = True
                break
    return result


def backtest(
    *,
    as_of: dt.date,
    days: int = 90,
    window: int = DEFAULT_WINDOW_DAYS,
    policy: Policy | None = None,
) -> BacktestResult:
    """See the module docstring. One GROUP BY over the purchases, a fit per segment on the
    summaries as of ``as_of``, and a read of the flagged clients' cases and calls."""
    if days <= 0:
        raise ValueError("days must be positive")
    if window <= 0:
        raise ValueError("window must be positive")
    history = _history(as_of=as_of, clients=_segment_filter(policy) if policy else None)
    observed = Transaction.objects.aggregate(last=Max("date"))["last"] or as_of
    size = history.ids.size
    day = as_of.toordinal()
    horizon_end = day + days
    cycle = np.full(size, np.nan)
    sleeping = np.zeros(size)
    flag = np.zeros(size)
    alive = np.full(size, np.nan)
    expected = np.full(size, np.nan)
    policies = policy_for_segments()
    for key in np.unique(history.segment):
        segment_id = None if key < 0 else int(key)
        rule = policy if policy is not None else policies.get(segment_id) or policies[None]
        mask = history.segment == key
        x = (history.n[mask] - 1).astype(np.float64)
        t_x = (history.last[mask] - history.first[mask]).astype(np.float64)
        T = (day - history.first[mask]).astype(np.float64)
        try:
            params = bgnbd.fit(x, t_x, T).params
        except bgnbd.NotEnoughData:
            params = None
        strength, default, _source = rules.prior_in_use(
            pin=rule.cycle_prior,
            typed_strength=rule.prior_strength,
            typed_cycle=rule.default_cycle_days,
            model_r=params.r if params else None,
            model_alpha=params.alpha if params else None,
        )
        cycle[mask] = _cycles(rule, history.n[mask], t_x, (strength, default))
        sleeping[mask] = rule.sleeping_after
        flag[mask] = rule.flag_after
        if params is not None:
            alive[mask] = bgnbd.p_alive(params, x, t_x, T)
            expected[mask] = bgnbd.expected_purchases(params, days, x, t_x, T)
    since = day - history.last
    codes = rules.status_array(
        days_since=since, cycle_days=cycle, sleeping_after=sleeping, flag_after=flag
    )
    lost_from = history.last + np.floor(flag * np.nan_to_num(cycle)).astype(np.int64) + 1
    flagged = (codes == 3) & (lost_from > day - window)
    bought = (history.next_day > 0) & (history.next_day <= horizon_end)
    never = history.next_day < 0
    came_back = flagged & bought
    contact = np.zeros(size, dtype=bool)
    where = np.flatnonzero(came_back)
    contact[where] = _contacted(
        ids=history.ids[where], lost_from=lost_from[where], until=history.next_day[where]
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        rule_score = -(since / cycle)
    return BacktestResult(
        as_of=as_of,
        days=days,
        window=window,
        clients=int(size),
        flagged=int(flagged.sum()),
        bought_again_on_own=int((came_back & ~contact).sum()),
        bought_again_after_contact=int((came_back & contact).sum()),
        returned_later=int((flagged & (history.next_day > horizon_end)).sum()),
        never_came_back=int((flagged & never).sum()),
        missed=int((((codes == 1) | (codes == 2)) & never).sum()),
        auc_rule=roc_auc(rule_score, bought),
        auc_model=roc_auc(alive, bought),
        auc_expected=roc_auc(expected, bought),
        modelled=int((~np.isnan(alive)).sum()),
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
    from clients.models import Segment
    from reactivation.policies import cycle_prior
    from reactivation.selectors.model import p_alive_for
    from reactivation.services.gate import exclusion_reason, gate_context, judge

    as_of = as_of or timezone.localdate()
    rows = list(
        Client.objects.filter(_segment_filter(policy), stats__purchase_days__gt=0).values_list(
            "pk",
            "stats__first_purchase_on",
            "stats__last_purchase_on",
            "stats__purchase_days",
            "stats__status",
            "segment_id",
        )
    )
    if not rows:
        return PolicyPreview(as_of, 0, 0, 0, 0, 0, 0, 0)
    ids = np.array([r[0] for r in rows])
    first = np.array([r[1].toordinal() for r in rows])
    last = np.array([r[2].toordinal() for r in rows])
    n = np.array([r[3] for r in rows])
    current_lost = np.array([r[4] == rules.LOST for r in rows])
    segment = np.array([-1 if r[5] is None else r[5] for r in rows])
    # Each segment's prior with these settings: its stored fit unless they pin the typed one.
    holders = {s.pk: s for s in Segment.objects.filter(pk__in=set(segment.tolist()) - {-1})}
    holders[-1] = policy_for_segments()[None]
    cycle = np.empty(ids.size)
    for key in np.unique(segment):
        prior = cycle_prior(policy, holders.get(int(key)))
        mask = segment == key
        cycle[mask] = _cycles(
            policy, n[mask], last[mask] - first[mask], (prior.prior_strength, prior.default_cycle)
        )
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
        # Judge the candidates with this (possibly unsaved) policy.
        context.policies = {**context.policies, policy.segment_id: policy}
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
        clients = list(
            Client.objects.filter(pk__in=candidates)
            .select_related("stats")
            .prefetch_related("segment")
        )
        alive = p_alive_for(clients, as_of)
        for client in clients:
            if policy.segment_id is None:
                context.policies[client.segment_id] = policy
            reason = exclusion_reason(
                client,
                context=context,
                open_case=client.pk in open_ids,
                last_closed_on=last_closed.get(client.pk),
                judgement=judge(client, context, alive.get(client.pk)),
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
