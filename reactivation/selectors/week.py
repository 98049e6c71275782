"""My week: the order a manager calls their cases in, one page of it, and the plan counters.

The order starts with a bucket that depends on today's date (call-backs due today, overdue,
this week, later), so no index holds it; the week is read part by part along the case
indexes instead (``_week_sql``), and a page of it, with its rows and its capped count, comes in
one query (``page_of_week``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.db.models import (
    BooleanField,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models import Case as CaseWhen
from django.db.models.expressions import RawSQL
from django.utils import timezone

from calls.models import Call
from clients.models import Client, ClientStats, Segment
from clients.paginator import Page, planner_estimate, requested_page
from reactivation.models import (
    BusinessSettings,
    Case,
    WeeklyPlan,
    abc_order_expression,
    case_status_label,
)

if TYPE_CHECKING:
    from reactivation.selectors.queue import Listing

# The queue's buckets, in the order a manager works them.
DUE_TODAY, OVERDUE, THIS_WEEK, LATER = 0, 1, 2, 3


def week_start(today: dt.date, weekday: int | None = None) -> dt.date:
    """The first day of the plan week containing ``today``: weeks start on the assignment
    weekday (read from the business settings when not given)."""
    if weekday is None:
        weekday = BusinessSettings.load().assignment_weekday
    return today - dt.timedelta(days=(today.weekday() - weekday) % 7)


def _bucket(today: dt.date, start: dt.date) -> CaseWhen:
    """The week's rule of what is due, as one expression (``_bucket_parts`` is the same rule as
    the parts a page reads):

    - a call-back today: due today;
    - a call-back on an earlier day: overdue (every call sets the next call date again, so a
      date that has passed was not called since);
    - a call-back on a later day: later, never overdue, however the case came to the week;
    - no call-back, assigned before this plan week began and not called since it was assigned:
      overdue (carried over, never worked);
    - the rest (this week's new cases, and carried-over ones called since they were assigned):
      this week.
    """
    return CaseWhen(
        When(next_call_on=today, then=Value(DUE_TODAY)),
        When(next_call_on__lt=today, then=Value(OVERDUE)),
        When(next_call_on__gt=today, then=Value(LATER)),
        When(
            Q(assigned_on__lt=start)
            & (Q(last_call_at__isnull=True) | Q(last_call_at__lt=F("assigned_on"))),
            then=Value(OVERDUE),
        ),
        default=Value(THIS_WEEK),
        output_field=IntegerField(),
    )


def call_back_time() -> Subquery:
    """The time of day of a case's call-back: the one its latest call named with the date the
    case now waits for (a call-back takes a date and, optionally, a time)."""
    return Subquery(
        Call.objects.filter(case_id=OuterRef("pk"), next_call_on=OuterRef("next_call_on"))
        .order_by("-called_at", "-id")
        .values("next_call_time")[:1]
    )


# Call-backs come by their date and time (a time first, then the rest of that day), the other
# cases of a bucket after them, each group by ABC class, priority and value.
QUEUE_ORDER = (
    F("bucket").asc(),
    F("next_call_on").asc(nulls_last=True),
    F("call_back_time").asc(nulls_last=True),
    F("abc_order").asc(),
    F("priority").desc(),
    F("potential_value").desc(),
    F("id").asc(),
)


def _ordered(queryset: QuerySet[Case], today: dt.date, start: dt.date) -> QuerySet[Case]:
    """The week in queue order, as one ORDER BY: the definition of the order. Pages read it
    part by part (``_week_ids``); this form is kept for small reads and for the tests."""
    return queryset.annotate(
        bucket=_bucket(today, start),
        abc_order=abc_order_expression(),
        call_back_time=call_back_time(),
    ).order_by(*QUEUE_ORDER)


def _case_column(name: str, connection: Any) -> str:
    """A column of the case table, qualified and quoted, for SQL written here."""
    quote = connection.ops.quote_name
    return f"{quote(Case._meta.db_table)}.{quote(Case._meta.get_field(name).column)}"


# How a part of the week is read: in the order inside a bucket; call-backs by date and time
# first; or in the order of ``case_week_dates`` (both dates null, then the queue order).
IN_QUEUE_ORDER, BY_CALL_BACK, IN_DATE_ORDER = "queue", "call_back", "dates"


def _bucket_parts(
    today: dt.date, start: dt.date, connection: Any
) -> list[tuple[int, str, list[Any], str]]:
    """The rows of each bucket as plain conditions on the case table, the same rule as
    ``_bucket``: (bucket, SQL condition, its parameters, how the part is read). Each condition
    is an equality or a range on ``next_call_on``, or its absence and a range on
    ``assigned_on``: the leading columns of the index ``case_week_dates``; a carried-over case
    is split again by whether it was called since it was assigned. They are written as SQL,
    not compiled from ``Q`` objects: compiling the conditions on every page cost more than
    running them.

    Assigned cases without an assignment date (set by hand, or old data) are read in that
    index's own order, which inside the part is the queue order (both dates are null): the
    planner counts every pool case as having no assignment date, so it would expect many
    such rows and walk ``case_week_order`` through the whole week to find none.
    """
    call_back, assigned, called = (
        _case_column(name, connection) for name in ("next_call_on", "assigned_on", "last_call_at")
    )
    on_today, on_start = (connection.ops.adapt_datefield_value(day) for day in (today, start))
    no_call_back = f"{call_back} IS NULL"
    # A timestamp against a date: PostgreSQL reads the date as its midnight (the connection's
    # timezone, UTC), SQLite compares the stored UTC text, which orders the same way.
    not_called_since = f"({called} IS NULL OR {called} < {assigned})"
    called_since = f"{called} >= {assigned}"
    carried = f"{no_call_back} AND {assigned} < %s"
    return [
        (DUE_TODAY, f"{call_back} = %s", [on_today], BY_CALL_BACK),
        (OVERDUE, f"{call_back} < %s", [on_today], BY_CALL_BACK),
        (OVERDUE, f"{carried} AND {not_called_since}", [on_start], IN_QUEUE_ORDER),
        (THIS_WEEK, f"{carried} AND {called_since}", [on_start], IN_QUEUE_ORDER),
        (THIS_WEEK, f"{no_call_back} AND {assigned} >= %s", [on_start], IN_QUEUE_ORDER),
        (THIS_WEEK, f"{no_call_back} AND {assigned} IS NULL", [], IN_DATE_ORDER),
        (LATER, f"{call_back} > %s", [on_today], BY_CALL_BACK),
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


def _week_sql(
    queryset: QuerySet[Case],
    order: WeekOrder,
    *,
    offset: int,
    limit: int,
    buckets: tuple[int, ...] = (DUE_TODAY, OVERDUE, THIS_WEEK, LATER),
) -> tuple[str, list[Any]]:
    """SQL (and its parameters) of rows ``offset`` to ``offset + limit`` of ``queryset`` in
    queue order: (w_id, w_bucket, w_abc, w_priority, w_value, w_due, w_time), sorted by
    ``WEEK_SQL_ORDER``: call-backs by their date and time (a call-back with a time before one
    without on the same day), the other cases of a bucket after them.

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
            w_due=F("next_call_on"),
            w_time=call_back_time(),
        )
        .order_by("w_abc", "-w_priority", "-w_value", "w_id")
        .values_list("w_id", "w_abc", "w_priority", "w_value", "w_due", "w_time")[: offset + limit]
    )
    sql, template_params = template.query.sql_with_params()
    # Django escapes a literal % as %%, so every lone %s is a parameter, in order.
    pieces = sql.replace("%%", "\0").split("%s")
    slot = list(template_params).index(_PART_SLOT)
    before = "%s".join(pieces[: slot + 1]).replace("\0", "%%")
    after = "%s".join(pieces[slot + 1 :]).replace("\0", "%%")
    dates = ", ".join(
        f"{_case_column(name, connection)} ASC" for name in ("next_call_on", "assigned_on")
    )
    at = after.rindex(" ORDER BY ") + len(" ORDER BY ")
    # Call-backs by their date, then their time (5 and 6: w_due and w_time), then as the rest.
    tails = {
        IN_QUEUE_ORDER: after,
        IN_DATE_ORDER: f"{after[:at]}{dates}, {after[at:]}",
        BY_CALL_BACK: f"{after[:at]}5 ASC, 6 ASC NULLS LAST, {after[at:]}",
    }
    status_column = _case_column("status", connection)
    parts = _bucket_parts(order.today, order.start, connection)
    selects: list[str] = []
    params: list[Any] = []
    for status in order.statuses or (None,):
        for bucket, condition, where_params, read_as in parts:
            if bucket not in buckets:
                continue
            where = f"({condition})"
            if status is not None:
                where = f"({condition} AND {status_column} = %s)"
                where_params = [*where_params, status]
            tail = tails[read_as]
            # Only compiled SQL and an integer are spliced in; values are parameters.
            part = f"SELECT {int(bucket)} AS w_bucket, p.* FROM ({before}{where}{tail}) p"  # noqa: S608
            selects.append(part)
            params += [*template_params[:slot], *where_params, *template_params[slot + 1 :]]
    sql = (
        "SELECT u.w_id, u.w_bucket, u.w_abc, u.w_priority, u.w_value, u.w_due, u.w_time "  # noqa: S608
        f"FROM ({' UNION ALL '.join(selects)}) u "
        f"ORDER BY {WEEK_SQL_ORDER.format(alias='u')} LIMIT %s OFFSET %s"
    )
    return sql, [*params, limit, offset]


# The queue order of the rows ``_week_sql`` reads, for a query on them (``alias`` names them).
WEEK_SQL_ORDER = (
    "{alias}.w_bucket, {alias}.w_due ASC NULLS LAST, {alias}.w_time ASC NULLS LAST, "
    "{alias}.w_abc, {alias}.w_priority DESC, {alias}.w_value DESC, {alias}.w_id"
)


def _week_ids(queryset: QuerySet[Case], order: WeekOrder, **window: Any) -> list[tuple[int, int]]:
    """(id, bucket) of a window of ``queryset`` in queue order (``_week_sql``), in one query."""
    sql, params = _week_sql(queryset, order, **window)
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        return [(row[0], row[1]) for row in cursor.fetchall()]


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


PLAN_KEYS = ("calls", "reached", "offers", "wins")


def plan_counters(*, user: Any, today: dt.date, start: dt.date | None = None) -> PlanCounters:
    """This plan week's calls, reached, offers and wins against ``user``'s weekly plan, in one
    query: the calls counted in one pass of the (manager, called_at, outcome) index, the
    offers and wins on their own indexes, beside the plan row.

    Written as SQL: built with the ORM, its four subqueries cost more to compile than to run.
    """
    start = start or week_start(today)
    connection = connections[Case.objects.db]
    ops = connection.ops
    # A range on the timestamp (not its date) so the index is used.
    week_began = ops.adapt_datetimefield_value(
        timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    )
    since = ops.adapt_datefield_value(start)
    sql = """
        SELECT c.calls, c.reached,
               (SELECT COUNT(*) FROM reactivation_offer
                WHERE issued_by_id = %(user)s AND issued_on >= %(since)s),
               (SELECT COUNT(*) FROM reactivation_case
                WHERE credited_manager_id = %(user)s AND status = %(won)s AND closed_on >= %(since)s),
               p.id, p.calls, p.reached, p.offers, p.wins
        FROM (SELECT COUNT(*) AS calls, COUNT(*) FILTER (WHERE outcome = %(reached)s) AS reached
              FROM calls_call WHERE manager_id = %(user)s AND called_at >= %(began)s) c
        LEFT JOIN reactivation_weeklyplan p ON p.manager_id = %(user)s
    """
    params = {
        "user": user.pk,
        "since": since,
        "began": week_began,
        "won": Case.Status.WON_BACK,
        "reached": Call.Outcome.REACHED,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        calls, reached, offers, wins, plan_id, *targets = cursor.fetchone()
    has_plan = plan_id is not None
    if not has_plan:
        defaults = WeeklyPlan()
        targets = [getattr(defaults, key) for key in PLAN_KEYS]
    done = (calls, reached, offers, wins)
    return PlanCounters(
        week_start=start,
        has_plan=has_plan,
        counters=[
            PlanCounter(key, count, target)
            for key, count, target in zip(PLAN_KEYS, done, targets, strict=True)
        ],
    )


# My week counts its cases exactly up to this many (10 pages); beyond, the pager shows the
# planner's estimate, so that a page never counts every case of a very large week.
EXACT_TOTAL_UP_TO = 250


@dataclass(frozen=True, slots=True)
class WeekRow:
    """A row of my week, as the list shows it (the ``results`` partial of
    ``reactivation/queue.html``)."""

    pk: int
    bucket: int
    next_call_time: dt.time | None
    status: str
    closed_on: dt.date | None
    next_call_on: dt.date | None
    abc_class: str
    potential_value: Decimal
    attempts: int
    client_name: str
    external_id: str
    phone: str
    segment_name: str | None
    last_purchase_on: dt.date | None

    @property
    def is_open(self) -> bool:
        return self.status == Case.Status.OPEN

    def get_status_display(self) -> str:
        return case_status_label(self.status)


# The columns of a row after its id, bucket and call-back time: (model, field), in
# ``WeekRow``'s order.
_ROW_COLUMNS = (
    ("c", Case, "status"),
    ("c", Case, "closed_on"),
    ("c", Case, "next_call_on"),
    ("c", Case, "abc_class"),
    ("c", Case, "potential_value"),
    ("c", Case, "attempts"),
    ("cl", Client, "name"),
    ("cl", Client, "external_id"),
    ("cl", Client, "phone"),
    ("sg", Segment, "name"),
    ("st", ClientStats, "last_purchase_on"),
)


def page_of_week(listing: Listing, page_number: Any, page_size: int) -> Page:
    """One page of my week in queue order, in a fixed number of queries whatever the size of
    the week: one query reads the page's cases part by part (``_week_sql``) with their client,
    segment and last purchase, and the week's count up to ``EXACT_TOTAL_UP_TO``; a second asks
    the planner's estimate, the total shown beyond that count."""
    assert listing.week is not None and listing.own is not None
    number = requested_page(page_number, page_size)
    offset = (number - 1) * page_size
    own = listing.own
    connection = connections[own.db]
    week_sql, week_params = _week_sql(own, listing.week, offset=offset, limit=page_size + 1)
    ids = own.order_by().values("pk")
    count_sql, count_params = ids[: EXACT_TOTAL_UP_TO + 1].query.sql_with_params()
    quote = connection.ops.quote_name
    tables = {alias: quote(model._meta.db_table) for alias, model, _name in _ROW_COLUMNS}
    fields = [model._meta.get_field(name) for _alias, model, name in _ROW_COLUMNS]
    columns = ", ".join(
        f"{alias}.{quote(field.column)}"
        for (alias, _m, _n), field in zip(_ROW_COLUMNS, fields, strict=True)
    )
    # The count is the first table, so that a page past the end still reads one row (with no
    # case): the total. Only compiled SQL and quoted names are spliced in.
    sql = (
        f"SELECT n.total, w.w_id, w.w_bucket, w.w_time, {columns} "  # noqa: S608
        f"FROM (SELECT COUNT(*) AS total FROM ({count_sql}) capped) n "
        f"LEFT JOIN ({week_sql}) w ON 1 = 1 "
        f"LEFT JOIN {tables['c']} c ON c.id = w.w_id "
        f"LEFT JOIN {tables['cl']} cl ON cl.id = c.client_id "
        f"LEFT JOIN {tables['sg']} sg ON sg.id = cl.segment_id "
        f"LEFT JOIN {tables['st']} st ON st.client_id = cl.id "
        f"ORDER BY {WEEK_SQL_ORDER.format(alias='w')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*count_params, *week_params])
        found = cursor.fetchall()
    counted = found[0][0]
    # SQLite hands back dates and decimals as text and numbers: each field reads its own.
    time_field = Call._meta.get_field("next_call_time")
    rows = [
        WeekRow(
            row[1],
            row[2],
            time_field.to_python(row[3]),
            *(field.to_python(value) for field, value in zip(fields, row[4:], strict=True)),
        )
        for row in found
        if row[1] is not None
    ]
    has_next = len(rows) > page_size
    rows = rows[:page_size]
    # The estimate runs every time, so the page reads the same number of queries however
    # many cases it shows.
    planned = planner_estimate(ids)
    estimate = counted > EXACT_TOTAL_UP_TO
    total = max(planned, counted) if estimate else counted
    total = max(total, offset + len(rows) + (1 if has_next else 0))
    return Page(rows, number, page_size, has_next, total, estimate)
