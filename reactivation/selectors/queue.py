"""Reads for the manager's week: the queue, the pool, the plan counters and the case page.

Every read starts from ``Case.objects.visible_to(user)``. Each page runs a fixed number of
queries whatever the rows shown: related rows come with ``select_related`` or one query per
kind of row, and P(alive) is computed for the rows on the page in one vectorised call.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Case as CaseWhen
from django.db.models import F, IntegerField, Q, QuerySet, Value, When
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from calls.models import Call, Script, ScriptVersion
from calls.scripts import RenderedStep, render_steps
from clients.models import Client, Transaction
from clients.paginator import Page, paginate
from reactivation.filters import PoolFilter, QueueFilter
from reactivation.models import (
    BusinessSettings,
    Case,
    Offer,
    OfferTemplate,
    Policy,
    WeeklyPlan,
    abc_order_expression,
)

HISTORY_ROWS = 12
CALL_ROWS = 20

# The queue's buckets, in the order a manager works them.
DUE_TODAY, OVERDUE, THIS_WEEK, LATER = 0, 1, 2, 3


def week_start(today: dt.date, weekday: int | None = None) -> dt.date:
    """The first day of the plan week containing ``today``: weeks start on the assignment
    weekday (read from the business settings when not given)."""
    if weekday is None:
        weekday = BusinessSettings.load().assignment_weekday
    return today - dt.timedelta(days=(today.weekday() - weekday) % 7)


def _bucket(today: dt.date, start: dt.date) -> CaseWhen:
    """Call-backs due today first, then overdue (a missed call-back, or a case carried over
    from an earlier week), then this week's cases, then call-backs on a later day."""
    return CaseWhen(
        When(next_call_on=today, then=Value(DUE_TODAY)),
        When(next_call_on__lt=today, then=Value(OVERDUE)),
        When(next_call_on__gt=today, then=Value(LATER)),
        When(assigned_on__lt=start, then=Value(OVERDUE)),
        default=Value(THIS_WEEK),
        output_field=IntegerField(),
    )


QUEUE_ORDER = ("bucket", "abc_order", "-priority", "-potential_value", "id")


def _ordered(queryset: QuerySet[Case], today: dt.date, start: dt.date) -> QuerySet[Case]:
    return queryset.annotate(
        bucket=_bucket(today, start), abc_order=abc_order_expression()
    ).order_by(*QUEUE_ORDER)


def _rows(queryset: QuerySet[Case]) -> QuerySet[Case]:
    return queryset.select_related("client", "client__segment", "client__stats", "assigned_to")


@dataclass
class Listing:
    """A filtered, ordered list of cases and the filterset that drew it (for the form)."""

    filter: QueueFilter | PoolFilter
    queryset: QuerySet[Case]


def queue_list(*, user: Any, filters: Any, today: dt.date, start: dt.date | None = None) -> Listing:
    """My week: the cases assigned to ``user``, open ones unless the status filter says
    otherwise, in the order to call them."""
    start = start or week_start(today)
    data = filters.copy() if filters is not None else {}
    if "status" not in data:
        data["status"] = Case.Status.OPEN
    queryset = _rows(Case.objects.visible_to(user).filter(assigned_to=user, is_control=False))
    filterset = QueueFilter(data, queryset=queryset)
    return Listing(filterset, _ordered(filterset.qs, today, start))


def pool_list(*, user: Any, filters: Any) -> Listing:
    """Open, unassigned, non-control cases ``user`` may claim, best first.

    The same rows as the pool part of ``Case.objects.visible_to``, scoped here through
    ``Client.objects.visible_to`` as a semi-join: inside visible_to's OR the client check
    cannot be a join, and PostgreSQL would hash every client with a manager to answer it.
    """
    queryset = _rows(
        Case.objects.filter(
            assigned_to__isnull=True,
            status=Case.Status.OPEN,
            is_control=False,
            client__in=Client.objects.visible_to(user),
        )
    )
    filterset = PoolFilter(filters or {}, queryset=queryset)
    # The same expressions as the partial index ``case_pool_order``: PostgreSQL walks that
    # index and stops after a page, however large the pool.
    ordered = filterset.qs.order_by(
        abc_order_expression(), F("priority").desc(), F("potential_value").desc(), F("id")
    )
    return Listing(filterset, ordered)


def next_case_id(
    *, user: Any, today: dt.date, after: int | None = None, start: dt.date | None = None
) -> int | None:
    """The first case of ``user``'s queue not called today, other than ``after``."""
    start = start or week_start(today)
    queryset = (
        Case.objects.visible_to(user)
        .filter(assigned_to=user, status=Case.Status.OPEN, is_control=False)
        .filter(Q(next_call_on__isnull=True) | Q(next_call_on__lte=today))
    )
    queryset = queryset.exclude(last_call_at__date__gte=today)
    if after is not None:
        queryset = queryset.exclude(pk=after)
    return _ordered(queryset, today, start).values_list("pk", flat=True).first()


@dataclass
class PlanCounter:
    key: str
    done: int
    target: int

    @property
    def percent(self) -> int:
        if not self.target:
            return 100 if self.done else 0
        return min(100, round(100 * self.done / self.target))


@dataclass
class PlanCounters:
    week_start: dt.date
    counters: list[PlanCounter]
    has_plan: bool


def plan_counters(*, user: Any, today: dt.date, start: dt.date | None = None) -> PlanCounters:
    """This plan week's calls, reached, offers and wins against ``user``'s weekly plan."""
    from django.db.models import Count

    start = start or week_start(today)
    # A range on the timestamp (not ``__date``) so the (manager, called_at) index is used.
    week_began = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    calls = Call.objects.filter(manager=user, called_at__gte=week_began).aggregate(
        calls=Count("id"), reached=Count("id", filter=Q(outcome=Call.Outcome.REACHED))
    )
    offers = Offer.objects.filter(issued_by=user, issued_on__gte=start).count()
    wins = Case.objects.filter(
        credited_manager=user, status=Case.Status.WON_BACK, closed_on__gte=start
    ).count()
    plan = WeeklyPlan.objects.filter(manager=user).first()
    defaults = WeeklyPlan()
    plan_or_default = plan or defaults
    return PlanCounters(
        week_start=start,
        has_plan=plan is not None,
        counters=[
            PlanCounter("calls", calls["calls"], plan_or_default.calls),
            PlanCounter("reached", calls["reached"], plan_or_default.reached),
            PlanCounter("offers", offers, plan_or_default.offers),
            PlanCounter("wins", wins, plan_or_default.wins),
        ],
    )


def p_alive_for(clients: list[Client], today: dt.date) -> dict[int, float | None]:
    """P(alive) of each client, from the stored aggregates and the segment's fitted model, in
    one vectorised call; None where the segment has no model (the rule alone applies)."""
    result: dict[int, float | None] = {client.pk: None for client in clients}
    try:
        from reactivation.selectors.model import p_alive_for
    except ImportError:  # the model module is optional: without it the rule alone applies
        return result
    result.update(p_alive_for(clients, today))
    return result


def _pick_script(
    segment_id: int | None, language: str, script_id: int | None
) -> tuple[list[Script], Script | None]:
    """The active scripts a manager may pick from, and the one to use: the requested one, else
    the segment's own, else a default (no segment) one in the page's language."""
    scripts = list(
        Script.objects.filter(active=True)
        .filter(Q(segment_id=segment_id) | Q(segment__isnull=True))
        .order_by("name", "id")
    )
    chosen = next((s for s in scripts if s.pk == script_id), None)
    if chosen is None:
        ranked = sorted(
            scripts,
            key=lambda s: (
                s.segment_id is None,
                s.language not in (language, ""),
                s.language == "",
                s.name,
            ),
        )
        chosen = ranked[0] if ranked else None
    return scripts, chosen


def script_values(*, client: Client, manager: Any, company: str, today: dt.date) -> dict[str, Any]:
    from django.utils.formats import date_format

    days = client.days_since_last_purchase(today)
    return {
        "client_name": client.name or client.external_id,
        "days_since_last_purchase": "—" if days is None else days,
        "last_purchase_on": date_format(client.last_purchase_on, "SHORT_DATE_FORMAT")
        if client.last_purchase_on
        else "—",
        "manager_name": (manager.get_full_name() or manager.username) if manager else "",
        "company": company,
    }


@dataclass
class CasePage:
    case: Case
    client: Client
    policy: Policy
    transactions: list[Transaction]
    previous_cases: list[Case]
    calls: list[Call]
    offers: list[Offer]
    live_offer: Offer | None
    scripts: list[Script]
    script: Script | None
    version: ScriptVersion | None
    steps: list[RenderedStep]
    templates: list[OfferTemplate]
    p_alive: float | None
    days_since: int | None
    days_past_due: int | None
    today: dt.date
    company: str

    @property
    def can_call(self) -> bool:
        return (
            self.case.is_open and not self.case.is_control and self.case.assigned_to_id is not None
        )

    @property
    def p_alive_percent(self) -> int | None:
        return None if self.p_alive is None else round(100 * self.p_alive)


def case_get(*, case_id: int, user: Any) -> Case:
    """The case, or 404 when it does not exist or ``user`` may not see it."""
    return get_object_or_404(
        Case.objects.visible_to(user).select_related(
            "client", "client__segment", "client__stats", "client__manager", "assigned_to"
        ),
        pk=case_id,
    )


def case_get_to_claim(*, case_id: int, user: Any) -> Case:
    """The case ``user`` asks to claim: one they may see, or one that was in their pool until
    a colleague took it a moment ago, so that they are told so instead of shown a 404."""
    related = ("client", "client__segment", "client__stats", "client__manager", "assigned_to")
    case = Case.objects.visible_to(user).select_related(*related).filter(pk=case_id).first()
    if case is not None:
        return case
    return get_object_or_404(
        Case.objects.select_related(*related).filter(
            assigned_to__isnull=False,
            assigned_on__gte=timezone.localdate(),
            is_control=False,
            client__in=Client.objects.visible_to(user),
        ),
        pk=case_id,
    )


def case_page(
    *, case_id: int, user: Any, today: dt.date, language: str, script_id: int | None = None
) -> CasePage:
    """Everything the case page shows, in a fixed number of queries."""
    from reactivation.policies import policy_for_segments

    case = case_get(case_id=case_id, user=user)
    client = case.client
    policies = policy_for_segments()
    policy = policies.get(client.segment_id) or policies[None]
    settings_row = BusinessSettings.load()
    from django.conf import settings as django_settings

    company = settings_row.company_name or django_settings.COMPANY_NAME or str(_("our company"))
    transactions = list(client.transactions.order_by("-date", "-id")[:HISTORY_ROWS])
    previous = list(
        Case.objects.filter(client=client)
        .exclude(pk=case.pk)
        .select_related("assigned_to")
        .order_by("-opened_on")[:10]
    )
    calls = list(
        Call.objects.filter(client=client)
        .select_related("manager", "reason", "script_version__script")
        .order_by("-called_at", "-id")[:CALL_ROWS]
    )
    offers = list(
        Offer.objects.filter(client=client)
        .select_related("template")
        .order_by("-issued_on", "-id")[:10]
    )
    live = next((o for o in offers if o.case_id == case.pk and o.can_redeem(today)), None)
    scripts, script = _pick_script(client.segment_id, language, script_id)
    version = None
    if script is not None:
        version = ScriptVersion.objects.filter(script=script).order_by("-number").first()
    manager = case.assigned_to or user
    values = script_values(client=client, manager=manager, company=company, today=today)
    steps = render_steps(version.steps if version else [], values)
    templates = list(OfferTemplate.objects.filter(active=True))
    p_alive = p_alive_for([client], today)[client.pk]
    return CasePage(
        case=case,
        client=client,
        policy=policy,
        transactions=transactions,
        previous_cases=previous,
        calls=calls,
        offers=offers,
        live_offer=live,
        scripts=scripts,
        script=script,
        version=version,
        steps=steps,
        templates=templates,
        p_alive=p_alive,
        days_since=client.days_since_last_purchase(today),
        days_past_due=client.days_past_due(today, flag_after=policy.flag_after),
        today=today,
        company=company,
    )


def page_of_cases(
    queryset: QuerySet[Case], page_number: Any, page_size: int, *, exact_total: bool = True
) -> Page:
    """One page of an ordered case list, in two queries: the page's ids in order from the case
    table alone, then those rows with their client, segment and manager. The join then touches
    one page of rows, not a whole week of them.

    ``exact_total=False`` (the pool) shows the planner's estimate as the total once there is
    more than one page: an exact count would check every pool case's client, and its cost
    would follow the size of the base.
    """
    ids = queryset.values_list("pk", flat=True)
    if exact_total:
        page = paginate(ids, page_number, page_size)
    else:
        try:
            number = max(1, int(page_number))
        except (TypeError, ValueError):
            number = 1
        offset = (number - 1) * page_size
        found = list(ids[offset : offset + page_size + 1])
        has_next = len(found) > page_size
        found = found[:page_size]
        if number == 1 and not has_next:
            total, estimate = len(found), False
        else:
            total, estimate = _planner_estimate(ids), True
            total = max(total, offset + len(found) + (1 if has_next else 0))
        page = Page(found, number, page_size, has_next, total, estimate)
    rows = {case.pk: case for case in queryset.filter(pk__in=page.object_list)}
    page.object_list = [rows[pk] for pk in page.object_list if pk in rows]
    return page


def _planner_estimate(queryset: QuerySet) -> int:
    """The planner's row estimate (PostgreSQL), or an exact count elsewhere (small SQLite)."""
    import json

    from django.db import connections

    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return queryset.count()
    sql, params = queryset.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
