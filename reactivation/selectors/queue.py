"""Reads for the manager's week: the queue, the pool, the plan counters and the case page.

Every read starts from ``Case.objects.visible_to(user)``. Each page runs a fixed number of
queries whatever the rows shown: related rows come with ``select_related`` or one query per
kind of row, and P(alive) is computed for the rows on the page in one vectorised call.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.db import connections
from django.db.models import BooleanField, F, IntegerField, Q, QuerySet, Value, When
from django.db.models import Case as CaseWhen
from django.db.models.expressions import RawSQL
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from calls.models import Call, Script, ScriptVersion
from calls.scripts import RenderedStep, render_steps
from clients.models import Client, Transaction
from clients.paginator import Page, paginate
from reactivation.filters import WORKED_STATUSES, PoolFilter, QueueFilter
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
    """The week in queue order, as one ORDER BY: the definition of the order. Pages read it
    part by part (``_week_ids``); this form is kept for small reads and for the tests."""
    return queryset.annotate(
        bucket=_bucket(today, start), abc_order=abc_order_expression()
    ).order_by(*QUEUE_ORDER)


def _bucket_parts(today: dt.date, start: dt.date) -> list[tuple[int, Q, bool]]:
    """The rows of each bucket as plain conditions, the same rule as ``_bucket``:
    (bucket, condition, read in date order). Each condition is an equality or a range on
    ``next_call_on``, or its absence and a range on ``assigned_on``: the leading columns of
    the index ``case_week_dates``.

    Assigned cases without an assignment date (set by hand, or old data) are read in that
    index's own order, which inside the part is the queue order (both dates are null): the
    planner counts every pool case as having no assignment date, so it would expect many
    such rows and walk ``case_week_order`` through the whole week to find none.
    """
    no_call_back = Q(next_call_on__isnull=True)
    return [
        (DUE_TODAY, Q(next_call_on=today), False),
        (OVERDUE, Q(next_call_on__lt=today), False),
        (OVERDUE, no_call_back & Q(assigned_on__lt=start), False),
        (THIS_WEEK, no_call_back & Q(assigned_on__gte=start), False),
        (THIS_WEEK, no_call_back & Q(assigned_on__isnull=True), True),
        (LATER, Q(next_call_on__gt=today), False),
    ]


@dataclass(frozen=True)
class WeekOrder:
    """What the queue order of a list depends on: the day and the plan week; and, for a list
    that mixes statuses, the statuses (each is then read on its own, since the indexes start
    with the manager and the status)."""

    today: dt.date
    start: dt.date
    statuses: tuple[str, ...] = ()


_PART_SLOT = "__week_part__"


def _where(condition: Q, connection: Any) -> tuple[str, list[Any]]:
    """``condition`` as SQL on the case table (no joins), with its parameters."""
    query = Case.objects.filter(condition).query
    compiler = query.get_compiler(connection=connection)
    sql, params = query.where.as_sql(compiler, connection)
    return f"({sql})", list(params)


def _week_ids(
    queryset: QuerySet[Case],
    order: WeekOrder,
    *,
    offset: int,
    limit: int,
    buckets: tuple[int, ...] = (DUE_TODAY, OVERDUE, THIS_WEEK, LATER),
) -> list[tuple[int, int]]:
    """(id, bucket) of rows ``offset`` to ``offset + limit`` of ``queryset`` in queue order, in
    one query.

    The order starts with the bucket, which depends on today's date, so no index holds it
    and one ORDER BY would sort every case of the week. Instead each part of each bucket (and
    each status, for a list of mixed statuses) is read in the order inside a bucket (ABC
    class, priority, value, id) with a LIMIT of ``offset + limit`` rows, and the outer query
    sorts those few rows. For each part PostgreSQL either walks ``case_week_order`` in that
    order and stops after the LIMIT (a large part), or reads the part's date range from
    ``case_week_dates`` and sorts it (a small part), whichever its statistics say reads
    fewer rows; either way a page reads about a page of rows per part, not the whole week.

    The queryset is compiled once, with a slot for the part's condition: the parts differ
    only in that condition, and compiling a filtered queryset costs more than the query.
    """
    connection = connections[queryset.db]
    template = (
        queryset.filter(RawSQL("%s", [_PART_SLOT], output_field=BooleanField()))
        .annotate(
            w_id=F("id"),
            w_abc=abc_order_expression(),
            w_priority=F("priority"),
            w_value=F("potential_value"),
        )
        .order_by("w_abc", "-w_priority", "-w_value", "w_id")
        .values_list("w_id", "w_abc", "w_priority", "w_value")[: offset + limit]
    )
    sql, template_params = template.query.sql_with_params()
    # Django escapes a literal % as %%, so every lone %s is a parameter, in order.
    pieces = sql.replace("%%", "\0").split("%s")
    slot = list(template_params).index(_PART_SLOT)
    before = "%s".join(pieces[: slot + 1]).replace("\0", "%%")
    after = "%s".join(pieces[slot + 1 :]).replace("\0", "%%")
    quote, table = connection.ops.quote_name, Case._meta.db_table
    dates = ", ".join(
        f"{quote(table)}.{quote(Case._meta.get_field(name).column)} ASC"
        for name in ("next_call_on", "assigned_on")
    )
    at = after.rindex(" ORDER BY ") + len(" ORDER BY ")
    after_in_date_order = f"{after[:at]}{dates}, {after[at:]}"
    parts: list[str] = []
    params: list[Any] = []
    for status in order.statuses or (None,):
        for bucket, condition, in_date_order in _bucket_parts(order.today, order.start):
            if bucket not in buckets:
                continue
            if status is not None:
                condition &= Q(status=status)
            where, where_params = _where(condition, connection)
            tail = after_in_date_order if in_date_order else after
            # Only compiled SQL and an integer are spliced in; values are parameters.
            part = f"SELECT {int(bucket)} AS w_bucket, p.* FROM ({before}{where}{tail}) p"  # noqa: S608
            parts.append(part)
            params += [*template_params[:slot], *where_params, *template_params[slot + 1 :]]
    sql = (
        f"SELECT u.w_id, u.w_bucket FROM ({' UNION ALL '.join(parts)}) u "  # noqa: S608
        "ORDER BY u.w_bucket, u.w_abc, u.w_priority DESC, u.w_value DESC, u.w_id "
        "LIMIT %s OFFSET %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit, offset])
        return [(row[0], row[1]) for row in cursor.fetchall()]


def _rows(queryset: QuerySet[Case]) -> QuerySet[Case]:
    return queryset.select_related("client", "client__segment", "client__stats", "assigned_to")


@dataclass
class Listing:
    """A filtered list of cases and the filterset that drew it (for the form); ``queryset`` is
    the list in its order.

    For my week, ``rows`` is not ordered yet: ``week`` says how the order is read page by
    page, and ``own`` is the same filtered list written without the scope's pool branch
    (``page_of_week``). Its ``queryset`` (the order as one ORDER BY) is built only when asked
    for: the page does not use it."""

    filter: QueueFilter | PoolFilter
    rows: QuerySet[Case]
    week: WeekOrder | None = None
    own: QuerySet[Case] | None = None

    @cached_property
    def queryset(self) -> QuerySet[Case]:
        if self.week is None:
            return self.rows
        return _ordered(self.rows, self.week.today, self.week.start)


def queue_list(*, user: Any, filters: Any, today: dt.date, start: dt.date | None = None) -> Listing:
    """My week: the cases assigned to ``user``, open ones unless the status filter says
    otherwise, in the order to call them."""
    start = start or week_start(today)
    data = filters.copy() if filters is not None else {}
    if "status" not in data:
        data["status"] = Case.Status.OPEN
    queryset = _rows(Case.objects.visible_to(user).filter(assigned_to=user, is_control=False))
    filterset = QueueFilter(data, queryset=queryset)
    filtered = filterset.qs
    # The cases assigned to the user are always inside their scope (it is "assigned to me, or
    # the pool"), so the ids and the count are read without the scope's OR: it would be
    # planned again in every part of the week and spoil the row estimates. The rows
    # themselves are then fetched through the scope.
    own = filterset.filter_queryset(Case.objects.filter(assigned_to=user, is_control=False))
    # Without a valid status filter the list mixes statuses (closed cases too).
    mixed = not filterset.form.cleaned_data.get("status")
    statuses = tuple(value for value, _label in WORKED_STATUSES) if mixed else ()
    return Listing(
        filterset,
        filtered,
        WeekOrder(today, start, statuses),
        own if getattr(user, "is_authenticated", False) else filtered,
    )


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
    found = _week_ids(
        queryset,
        WeekOrder(today, start),
        offset=0,
        limit=1,
        buckets=(DUE_TODAY, OVERDUE, THIS_WEEK),
    )
    return found[0][0] if found else None


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


# My week counts its cases exactly up to this many (10 pages); beyond, the pager shows the
# planner's estimate, so that a page never counts every case of a very large week.
EXACT_TOTAL_UP_TO = 250


def page_of_week(listing: Listing, page_number: Any, page_size: int) -> Page:
    """One page of my week in queue order, in a fixed number of queries whatever the size of
    the week: the page's (id, bucket) pairs read bucket by bucket (``_week_ids``), the total
    (counted up to ``EXACT_TOTAL_UP_TO``, the planner's estimate beyond), then the page's
    rows with their client, segment and manager."""
    assert listing.week is not None and listing.own is not None
    try:
        number = max(1, int(page_number))
    except (TypeError, ValueError):
        number = 1
    offset = (number - 1) * page_size
    found = _week_ids(listing.own, listing.week, offset=offset, limit=page_size + 1)
    has_next = len(found) > page_size
    found = found[:page_size]
    # Both the capped count and the estimate run every time, so the page reads the same
    # number of queries however many cases it shows (each costs well under a millisecond).
    ids = listing.own.order_by().values("pk")
    total = ids[: EXACT_TOTAL_UP_TO + 1].count()
    planned = _planner_estimate(ids)
    estimate = total > EXACT_TOTAL_UP_TO
    if estimate:
        total = max(planned, total)
    total = max(total, offset + len(found) + (1 if has_next else 0))
    buckets = dict(found)
    # Every row is mine, so no manager to join; the order is the one read above.
    week = listing.filter.qs.select_related(None).select_related(
        "client", "client__segment", "client__stats"
    )
    rows = {case.pk: case for case in week.filter(pk__in=buckets).order_by()}
    cases = []
    for pk, bucket in found:
        if pk in rows:
            rows[pk].bucket = bucket
            cases.append(rows[pk])
    return Page(cases, number, page_size, has_next, total, estimate)


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
