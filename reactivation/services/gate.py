"""The queue gate: which newly lost clients get a case, and why the others do not.

A newly lost client gets one case unless (checked in this order, the first reason recorded):
1. they are marked do-not-contact;
2. a case is already open for them (the partial unique constraint ``one_open_case_per_client``
   enforces it too: the check here only explains it);
3. a case of theirs was closed within the policy's cooldown;
4. their ABC class is one the policy keeps out of the queue;
5. a call is not expected to pay: its expected gain is not above zero.

Every exclusion is written as a ``QueueExclusion`` (one per client and day) and shown on the
client card. Of the clients that pass, the policy's control share is held out as ``control``
cases nobody is assigned; the draw is a hash of (client, date), so a rerun draws the same.

Expected gain of a call = value x the extra return probability the call buys - (cost per call +
offer cost) (``rules.expected_gain``); it is the case's priority, which orders the queue within
an ABC class. Value = margin per purchase (the client's own) x purchases per year x lifetime
(``rules.client_value``), the figures of the dashboard: purchases per year are the purchase days
the segment's customers really made in the last 365 days, per customer; lifetime is 1 / yearly
churn (capped), churn = 1 - retention over the 365 days ending at the date (the customers at
the start still customers at its end; ``reactivation.selectors.customers``). They are measured
weekly and reused by the nightly runs in between (a run must not scan the base). The extra
return probability is measured by the control group per P(alive) band (called cases' return
rate minus control cases' return rate, the same outcome for both: a purchase within the case's
lifetime after it opened) once a band has enough cases of both kinds; before that it is the
policy's ``prior_uplift``. The bands are measured with the value figures, weekly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Avg, Count, Max, OuterRef, Q, Subquery

from clients.models import STATS_FIELDS, Client, Transaction
from reactivation import metrics, rules
from reactivation.models import (
    BusinessSettings,
    Case,
    OfferTemplate,
    PipelineRun,
    Policy,
    QueueExclusion,
)
from reactivation.policies import policy_for_segments
from reactivation.selectors.customers import PurchaseLog
from reactivation.selectors.model import p_alive_for
from reactivation.services import bulk
from reactivation.webhooks import outbox

# Below this many customers at the start of the year a segment's own figures say little: the
# base's are used; below it for the base, these defaults.
DEFAULT_YEARLY_CHURN = 0.3
DEFAULT_PURCHASES_PER_YEAR = 1.0
MIN_CHURN_SAMPLE = 30
# Measured figures are reused for this long (the nightly run must not scan the whole base).
FIGURES_MAX_AGE_DAYS = 7
FIGURES_KEY = "value_figures"
BASE = "all"  # the key of the whole base's figures; "none" is the clients without a segment
BANDS_MARKER, BAND_PREFIX = "bands", "band:"  # the measured uplift bands in the same record
# P(alive) bands of the measured uplift (lower edges); a case without a model is in band "none".
UPLIFT_BANDS = (0.0, 0.2, 0.5, 0.8)
MIN_BAND_CASES = metrics.MIN_CONTROL_CASES
# Cases whose outcome counts: opened within this many days and whose window has ended.
UPLIFT_LOOKBACK_DAYS = 730


def _group_key(segment_id: int | None) -> str:
    return "none" if segment_id is None else str(segment_id)


@dataclass(frozen=True)
class ValueFigures:
    """The inputs of a client's value for one segment (or the base)."""

    purchases_per_year: float
    yearly_churn: float
    lifetime_years: float
    lifetime_capped: bool
    customers: int  # customers at the start of the year the figures come from
    measured: bool  # False: too few customers, the defaults (or the base's) stand in


def figures_from_counts(counts: dict, *, fallback: ValueFigures | None = None) -> ValueFigures:
    """Figures from the year's counts (``start``, ``retained``, ``purchase_days``,
    ``customers``); too few customers at the start: ``fallback`` (else the defaults)."""
    start = int(counts.get("start", 0))
    if start < MIN_CHURN_SAMPLE:
        if fallback is not None:
            return fallback
        ppy = metrics.purchases_per_year(
            purchase_days=int(counts.get("purchase_days", 0)),
            customers=int(counts.get("customers", 0)),
        )
        churn = DEFAULT_YEARLY_CHURN
        lifetime = metrics.lifetime_years(churn=churn)
        return ValueFigures(
            ppy or DEFAULT_PURCHASES_PER_YEAR, churn, lifetime.years, lifetime.capped, start, False
        )
    retention = metrics.retention_rate(retained=int(counts["retained"]), start=start)
    churn = metrics.yearly_churn(retention=retention)
    lifetime = metrics.lifetime_years(churn=churn)
    ppy = metrics.purchases_per_year(
        purchase_days=int(counts["purchase_days"]), customers=int(counts["customers"])
    )
    return ValueFigures(
        ppy or DEFAULT_PURCHASES_PER_YEAR, churn, lifetime.years, lifetime.capped, start, True
    )


def measure_value_figures(*, as_of: dt.date) -> list[dict]:
    """The year's counts per segment (``group``: segment id, "none") and for the base ("all"),
    from one read of the purchase days up to ``as_of`` per segment: the customers at the start
    of the 365 days ending at ``as_of``, those still customers at its end, and their purchase
    days in it; then the measured uplift per P(alive) band (``group`` "band:<band>", after a
    "bands" marker). A list, as the run ledger records it (a measure, replaced, not added up):
    the weekly run measures, the nights in between reuse it."""
    start = as_of - dt.timedelta(days=metrics.DAYS_PER_YEAR - 1)
    result: list[dict] = []
    total = {"group": BASE, "start": 0, "retained": 0, "purchase_days": 0, "customers": 0}
    segment_ids = [None, *Client.objects.order_by().values_list("segment_id", flat=True).distinct()]
    for segment_id in dict.fromkeys(segment_ids):
        log = PurchaseLog.load(until=as_of, segment_id=segment_id)
        if not log.clients:
            continue
        counts = log.counts_between(start=start, end=as_of)
        purchase_days, customers = log.purchases_per_year(end=as_of)
        row = {
            "group": _group_key(segment_id),
            "start": counts.start,
            "retained": counts.retained,
            "purchase_days": purchase_days,
            "customers": customers,
        }
        result.append(row)
        for name in ("start", "retained", "purchase_days", "customers"):
            total[name] += row[name]
    result.append(total)
    result.append({"group": BANDS_MARKER})
    for band, counts in measure_uplift_bands(as_of=as_of).items():
        result.append({"group": BAND_PREFIX + band, **asdict(counts)})
    return result


def value_figures(*, as_of: dt.date) -> list[dict]:
    """The counts recorded by a recent nightly run, else a fresh measurement."""
    recent = (
        PipelineRun.objects.filter(
            as_of__lte=as_of,
            as_of__gt=as_of - dt.timedelta(days=FIGURES_MAX_AGE_DAYS),
            counts__has_key=FIGURES_KEY,
        )
        .order_by("-as_of")
        .values_list("counts", flat=True)
        .first()
    )
    if recent is not None:
        return recent[FIGURES_KEY]
    return measure_value_figures(as_of=as_of)


def band_of(p_alive: float | None) -> str:
    """The P(alive) band a client or a case belongs to ("none" without a model)."""
    if p_alive is None:
        return "none"
    edge = max(low for low in UPLIFT_BANDS if p_alive >= low)
    return f"{edge:.1f}"


@dataclass(frozen=True)
class BandUplift:
    called: int
    called_returned: int
    control: int
    control_returned: int

    @property
    def enough(self) -> bool:
        return self.called >= MIN_BAND_CASES and self.control >= MIN_BAND_CASES

    @property
    def uplift(self) -> float | None:
        if not self.enough:
            return None
        return self.called_returned / self.called - self.control_returned / self.control


def measure_uplift_bands(*, as_of: dt.date) -> dict[str, BandUplift]:
    """Per P(alive) band, the cases (called and control) whose window ended by ``as_of`` and how
    many of their clients bought within the case's lifetime after it opened. Reads the cases of
    the last two years and each one's next purchase by key: its cost follows the cases."""
    policies = policy_for_segments()
    next_purchase = (
        Transaction.objects.filter(
            client_id=OuterRef("client_id"), amount__gt=0, date__gt=OuterRef("opened_on")
        )
        .order_by("date")
        .values("date")[:1]
    )
    rows = (
        Case.objects.filter(
            opened_on__gt=as_of - dt.timedelta(days=UPLIFT_LOOKBACK_DAYS), opened_on__lte=as_of
        )
        .annotate(next_on=Subquery(next_purchase))
        .values_list("segment_id", "opened_on", "is_control", "p_alive", "next_on")
    )
    counts: dict[str, list[int]] = {}
    for segment_id, opened_on, is_control, p_alive, next_on in rows.iterator(chunk_size=5000):
        lifetime = (policies.get(segment_id) or policies[None]).case_lifetime_days
        ends = opened_on + dt.timedelta(days=lifetime)
        if ends > as_of:
            continue  # the outcome is not known yet
        returned = next_on is not None and next_on <= ends
        row = counts.setdefault(band_of(p_alive), [0, 0, 0, 0])
        offset = 2 if is_control else 0
        row[offset] += 1
        row[offset + 1] += returned
    return {band: BandUplift(*values) for band, values in counts.items()}


@dataclass
class GateContext:
    as_of: dt.date
    policies: dict[int | None, Policy]
    figures: dict[str, dict]
    offer_cost: float
    margin_rate: float
    bands: dict[str, BandUplift] = field(default_factory=dict)
    _values: dict[str, ValueFigures] = field(default_factory=dict, repr=False)

    def policy(self, segment_id: int | None) -> Policy:
        return self.policies.get(segment_id) or self.policies[None]

    def value_figures(self, segment_id: int | None) -> ValueFigures:
        key = _group_key(segment_id)
        if key not in self._values:
            base = figures_from_counts(self.figures.get(BASE, {}))
            own = self.figures.get(key)
            self._values[key] = base if own is None else figures_from_counts(own, fallback=base)
        return self._values[key]

    def uplift(self, segment_id: int | None, p_alive: float | None) -> tuple[float, bool]:
        """(extra return probability of a call, whether the control group measured it)."""
        band = self.bands.get(band_of(p_alive))
        measured = band.uplift if band is not None else None
        if measured is not None:
            return measured, True
        return float(self.policy(segment_id).prior_uplift), False


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


def gate_context(*, as_of: dt.date, figures: list[dict] | None = None) -> GateContext:
    """What the gate needs for a day, read once: policies, the value figures (recorded by a
    recent run when given), the offer cost, the margin rate and the measured uplift bands."""
    if figures is None:
        figures = value_figures(as_of=as_of)
    rows = {row["group"]: row for row in figures}
    if BANDS_MARKER in rows:
        bands = {
            group.removeprefix(BAND_PREFIX): BandUplift(
                **{k: v for k, v in row.items() if k != "group"}
            )
            for group, row in rows.items()
            if group.startswith(BAND_PREFIX)
        }
    else:  # a record from before the bands were kept in it, or figures given by hand
        bands = measure_uplift_bands(as_of=as_of)
    offer_cost = OfferTemplate.objects.filter(active=True).aggregate(cost=Avg("cost"))["cost"]
    return GateContext(
        as_of=as_of,
        policies=policy_for_segments(),
        figures=rows,
        offer_cost=float(offer_cost or 0),
        margin_rate=BusinessSettings.load().margin_rate,
        bands=bands,
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


@dataclass(frozen=True)
class Judgement:
    """What a call to one client is expected to bring."""

    value: float
    uplift: float
    uplift_measured: bool
    cost: float
    gain: float


def judge(client: Client, context: GateContext, p_alive: float | None) -> Judgement:
    figures = context.value_figures(client.segment_id)
    value = rules.client_value(
        margin_per_purchase=margin_per_purchase(
            margin=float(client.margin),
            revenue=float(client.revenue),
            purchase_days=client.purchase_days,
            margin_rate=context.margin_rate,
        ),
        purchases_per_year=figures.purchases_per_year,
        lifetime_years=figures.lifetime_years,
    )
    uplift, measured = context.uplift(client.segment_id, p_alive)
    call_cost = float(context.policy(client.segment_id).cost_per_call)
    gain = rules.expected_gain(
        value=value, uplift=uplift, offer_cost=context.offer_cost, call_cost=call_cost
    )
    return Judgement(value, uplift, measured, context.offer_cost + call_cost, gain)


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
    judgement: Judgement,
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
    if judgement.gain <= 0:
        j = judgement
        return (
            QueueExclusion.Reason.LOW_VALUE,
            f"{j.value:.2f} x {j.uplift:.3f} - {j.cost:.2f} = {j.gain:.2f}",
        )
    return None


@transaction.atomic
def cases_open_for_lost(
    *, as_of: dt.date, client_ids: list[int], context: GateContext | None = None
) -> GateResult:
    """Judge the given newly lost clients: open cases (and control cases) or record why not."""
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
    alive = p_alive_for(clients, as_of)
    exclusions, cases = [], []
    for client in clients:
        p = alive.get(client.pk)
        judgement = judge(client, context, p)
        reason = exclusion_reason(
            client,
            context=context,
            open_case=client.pk in open_ids,
            last_closed_on=last_closed.get(client.pk),
            judgement=judgement,
        )
        if reason is not None:
            exclusions.append(
                QueueExclusion(client_id=client.pk, as_of=as_of, reason=reason[0], detail=reason[1])
            )
            result.excluded[reason[0]] = result.excluded.get(reason[0], 0) + 1
            continue
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
                potential_value=Decimal(f"{judgement.value:.2f}"),
                priority=judgement.gain,
                p_alive=p,
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
    outbox.cases_opened_on(client_ids=[case.client_id for case in cases], opened_on=as_of)
    return result
