"""The queue gate: which newly lost clients get a case, and why the others do not.

A newly lost client gets one case unless (checked in this order, the first reason recorded):
1. they are marked do-not-contact;
2. a case is already open for them (the partial unique constraint ``one_open_case_per_client``
   enforces it too: the check here only explains it);
3. a case of theirs was closed within the policy's cooldown;
4. their ABC class is one the policy keeps out of the queue;
5. their potential value is below the cost of winning them back (offer + call).

Every exclusion is written as a ``QueueExclusion`` (one per client and day) and shown on the
client card. Of the clients that pass, the policy's control share is held out as ``control``
cases nobody is assigned; the draw is a hash of (client, date), so a rerun draws the same.

Potential value = margin per purchase x purchases per month (30 / cycle) x expected lifetime in
months (12 / yearly churn). Yearly churn is measured from the base: of the clients who bought in
the year before last, the share who have not bought in the last year. Priority, which orders
the queue within an ABC class, is the potential value weighted by P(alive) where the segment
has a fitted model: ``value x (0.5 + 0.5 x P(alive))`` (the model refines, never decides).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Avg, Count, Max, Q

from clients.models import STATS_FIELDS, Client, ClientStats
from reactivation import rules
from reactivation.models import (
    BusinessSettings,
    Case,
    OfferTemplate,
    PipelineRun,
    Policy,
    QueueExclusion,
)
from reactivation.policies import policy_for_segments
from reactivation.services import bulk

# Below this many clients in the measurement the churn says nothing: assume this one.
DEFAULT_YEARLY_CHURN = 0.3
MIN_CHURN_SAMPLE = 30
# A measured churn is reused for this long (the nightly run must not scan the whole base).
CHURN_MAX_AGE_DAYS = 7


@dataclass
class GateContext:
    as_of: dt.date
    policies: dict[int | None, Policy]
    yearly_churn: float
    offer_cost: float
    margin_rate: float

    def policy(self, segment_id: int | None) -> Policy:
        return self.policies.get(segment_id) or self.policies[None]


@dataclass
class GateResult:
    opened: int = 0
    control: int = 0
    excluded: dict[str, int] = field(default_factory=dict)

    def add(self, other: GateResult) -> None:
        self.opened += other.opened
        self.control += other.control
        for reason, count in other.excluded.items():
            self.excluded[reason] = self.excluded.get(reason, 0) + count


def measure_yearly_churn(*, as_of: dt.date) -> float:
    """Of the clients who bought in the year before last, the share with no purchase since."""
    year_ago = as_of - dt.timedelta(days=365)
    two_years_ago = as_of - dt.timedelta(days=730)
    counts = ClientStats.objects.aggregate(
        churned=Count(
            "pk", filter=Q(last_purchase_on__gt=two_years_ago, last_purchase_on__lte=year_ago)
        ),
        retained=Count(
            "pk", filter=Q(first_purchase_on__lte=year_ago, last_purchase_on__gt=year_ago)
        ),
    )
    total = counts["churned"] + counts["retained"]
    if total < MIN_CHURN_SAMPLE:
        return DEFAULT_YEARLY_CHURN
    return counts["churned"] / total


def yearly_churn(*, as_of: dt.date) -> float:
    """The churn recorded by a recent nightly run, else a fresh measurement."""
    recent = (
        PipelineRun.objects.filter(
            as_of__lte=as_of,
            as_of__gt=as_of - dt.timedelta(days=CHURN_MAX_AGE_DAYS),
            counts__has_key="yearly_churn",
        )
        .order_by("-as_of")
        .values_list("counts", flat=True)
        .first()
    )
    if recent is not None:
        return float(recent["yearly_churn"])
    return measure_yearly_churn(as_of=as_of)


def gate_context(*, as_of: dt.date, yearly_churn_value: float | None = None) -> GateContext:
    offer_cost = OfferTemplate.objects.filter(active=True).aggregate(cost=Avg("cost"))["cost"]
    return GateContext(
        as_of=as_of,
        policies=policy_for_segments(),
        yearly_churn=yearly_churn_value
        if yearly_churn_value is not None
        else yearly_churn(as_of=as_of),
        offer_cost=float(offer_cost or 0),
        margin_rate=BusinessSettings.load().margin_rate,
    )


def margin_per_purchase(
    *, margin: float, revenue: float, purchase_days: int, margin_rate: float
) -> float:
    """The client's own margin per purchase day; their revenue x the margin rate where no
    margin was imported."""
    if purchase_days <= 0:
        return 0.0
    total = margin if margin else revenue * margin_rate
    return float(total) / purchase_days


def client_value(client: Client, context: GateContext) -> float:
    return rules.potential_value(
        margin_per_purchase=margin_per_purchase(
            margin=float(client.margin),
            revenue=float(client.revenue),
            purchase_days=client.purchase_days,
            margin_rate=context.margin_rate,
        ),
        cycle_days=client.cycle_days or 0.0,
        yearly_churn=context.yearly_churn,
    )


def control_draw(*, client_id: int, as_of: dt.date) -> float:
    """A uniform number in [0, 1) fixed by (client, date): the control group is reproducible."""
    digest = hashlib.blake2b(f"{client_id}|{as_of.isoformat()}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def exclusion_reason(
    client: Client,
    *,
    context: GateContext,
    open_case: bool,
    last_closed_on: dt.date | None,
    value: float,
) -> tuple[str, str] | None:
    """The first reason that keeps this client out of the queue, with a short detail."""
    policy = context.policy(client.segment_id)
    if client.do_not_contact:
        return QueueExclusion.Reason.DO_NOT_CONTACT, ""
    if open_case:
        return QueueExclusion.Reason.OPEN_CASE, ""
    if last_closed_on is not None and (context.as_of - last_closed_on).days < policy.cooldown_days:
        return QueueExclusion.Reason.COOLDOWN, last_closed_on.isoformat()
    if client.abc_class and client.abc_class in policy.excluded_class_set:
        return QueueExclusion.Reason.EXCLUDED_CLASS, client.abc_class
    cost = context.offer_cost + float(policy.cost_per_call)
    if not rules.worth_winning_back(
        potential=value, offer_cost=context.offer_cost, call_cost=float(policy.cost_per_call)
    ):
        return QueueExclusion.Reason.LOW_VALUE, f"{value:.2f} < {cost:.2f}"
    return None


@transaction.atomic
def cases_open_for_lost(
    *, as_of: dt.date, client_ids: list[int], context: GateContext | None = None
) -> GateResult:
    """Judge the given newly lost clients: open cases (and control cases) or record why not."""
    from reactivation.selectors.model import p_alive_for

    result = GateResult()
    if not client_ids:
        return result
    context = context or gate_context(as_of=as_of)
    clients = list(
        Client.objects.filter(pk__in=client_ids, stats__status="lost")
        .select_related("stats")
        .only("segment_id", "do_not_contact", "abc_class", *(f"stats__{f}" for f in STATS_FIELDS))
        .prefetch_related("segment")  # a few segments, shared by the many clients
        .order_by("pk")
    )
    # Each client's open case and latest closed one, in one read of their cases.
    is_open = Q(status=Case.Status.OPEN)
    closed = Q(closed_on__isnull=False, closed_on__lte=as_of)
    open_ids, last_closed = set(), {}
    for client_id, opened, last in (
        Case.objects.filter(is_open | closed, client_id__in=client_ids)
        .values("client_id")
        .annotate(opened=Count("pk", filter=is_open), last=Max("closed_on", filter=closed))
        .values_list("client_id", "opened", "last")
        .order_by()
    ):
        if opened:
            open_ids.add(client_id)
        if last is not None:
            last_closed[client_id] = last
    judged, exclusions = [], []
    for client in clients:
        value = client_value(client, context)
        reason = exclusion_reason(
            client,
            context=context,
            open_case=client.pk in open_ids,
            last_closed_on=last_closed.get(client.pk),
            value=value,
        )
        if reason is not None:
            exclusions.append(
                QueueExclusion(client_id=client.pk, as_of=as_of, reason=reason[0], detail=reason[1])
            )
            result.excluded[reason[0]] = result.excluded.get(reason[0], 0) + 1
            continue
        judged.append((client, value))
    # P(alive) refines the priority of the clients who get a case, so only theirs is computed.
    alive = p_alive_for([client for client, _value in judged], as_of)
    cases = []
    for client, value in judged:
        p = alive.get(client.pk)
        priority = value if p is None else value * (0.5 + 0.5 * p)
        policy = context.policy(client.segment_id)
        is_control = control_draw(client_id=client.pk, as_of=as_of) < policy.control_share
        cases.append(
            Case(
                client_id=client.pk,
                segment_id=client.segment_id,
                opened_on=as_of,
                status=Case.Status.OPEN,
                is_control=is_control,
                abc_class=client.abc_class,
                potential_value=Decimal(f"{value:.2f}"),
                priority=priority,
            )
        )
    bulk.insert_new(exclusions, returning="id")
    # A concurrent opener that got there first makes the partial unique index skip the row.
    controls = bulk.insert_new(cases, returning="is_control")
    if controls is None:  # SQLite: count what is there (one writer at a time)
        made = Case.objects.filter(
            client_id__in=[c.client_id for c in cases], opened_on=as_of, status=Case.Status.OPEN
        )
        controls = list(made.values_list("is_control", flat=True))
    result.control = sum(1 for is_control in controls if is_control)
    result.opened = len(controls) - result.control
    return result
