"""Reads for the manager's lists: my week's filtered list and the pool.

Every read starts from ``Case.objects.visible_to(user)`` or the same rule. Each page runs a
fixed number of queries whatever the rows shown. My week's order and pages are read in
``week``; the case page in ``case_page``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.db.models import F, QuerySet

from clients.models import Client
from clients.paginator import Page, planner_estimate, requested_page
from reactivation.filters import WORKED_STATUSES, PoolFilter, QueueFilter
from reactivation.models import Case, abc_order_expression
from reactivation.selectors.week import WeekOrder, _ordered, week_start


def _rows(queryset: QuerySet[Case]) -> QuerySet[Case]:
    return queryset.select_related("client", "client__segment", "client__stats", "assigned_to")


@dataclass
class Listing:
    """A filtered list of cases and the filterset that drew it (for the form); ``queryset`` is
    the list in its order.

    For my week, ``week`` says how the order is read page by page, and ``own`` is the filtered
    list written without the scope's pool branch (``week.page_of_week``). Its ``queryset``
    (the filtered, scoped list in the order as one ORDER BY) is built only when asked for:
    the page does not use it."""

    filter: QueueFilter | PoolFilter
    ordered: QuerySet[Case] | None = None
    week: WeekOrder | None = None
    own: QuerySet[Case] | None = None

    @cached_property
    def queryset(self) -> QuerySet[Case]:
        if self.week is None:
            assert self.ordered is not None
            return self.ordered
        return _ordered(self.filter.qs, self.week.today, self.week.start)


def queue_list(*, user: Any, filters: Any, today: dt.date, start: dt.date | None = None) -> Listing:
    """My week: the cases assigned to ``user``, open ones unless the status filter says
    otherwise, in the order to call them."""
    start = start or week_start(today)
    data = filters.copy() if filters is not None else {}
    if "status" not in data:
        data["status"] = Case.Status.OPEN
    queryset = _rows(Case.objects.visible_to(user).filter(assigned_to=user, is_control=False))
    filterset = QueueFilter(data, queryset=queryset)
    # The cases assigned to the user are always inside their scope (it is "assigned to me, or
    # the pool"), so the page reads them without the scope's OR: it would be planned again in
    # every part of the week and spoil the row estimates. As with ``filterset.qs``, the form
    # is validated first and a filter with an invalid value filters nothing.
    filterset.is_valid()
    own = filterset.filter_queryset(Case.objects.filter(assigned_to=user, is_control=False))
    # Without a valid status filter the list mixes statuses (closed cases too).
    mixed = not filterset.form.cleaned_data.get("status")
    statuses = tuple(value for value, _label in WORKED_STATUSES) if mixed else ()
    return Listing(
        filterset,
        week=WeekOrder(today, start, statuses),
        own=own if getattr(user, "is_authenticated", False) else Case.objects.none(),
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
    return Listing(filterset, ordered=ordered)


# What a row of the pool shows (the ``pool_row`` partial of ``reactivation/queue_pool.html``).
POOL_ROW_FIELDS = (
    "status",
    "abc_class",
    "potential_value",
    "opened_on",
    "client__name",
    "client__external_id",
    "client__segment__name",
)


def page_of_pool(queryset: QuerySet[Case], page_number: Any, page_size: int) -> Page:
    """One page of the pool in its order, in two queries: the page's ids in order from the case
    table alone (and the planner's estimate of the total when there is more than one page),
    then those rows with their client and segment. The join then touches one page of rows.

    The total is the planner's estimate once there is more than one page: an exact count would
    check every pool case's client, and its cost would follow the size of the base.
    """
    ids = queryset.values_list("pk", flat=True)
    number = requested_page(page_number, page_size)
    offset = (number - 1) * page_size
    found = list(ids[offset : offset + page_size + 1])
    has_next = len(found) > page_size
    found = found[:page_size]
    if number == 1 and not has_next:
        total, estimate = len(found), False
    else:
        total, estimate = planner_estimate(ids), True
        total = max(total, offset + len(found) + (1 if has_next else 0))
    # The ids come from the scoped, filtered list, so the rows are read by id alone, with only
    # the fields a row shows.
    rows = Case.objects.select_related("client__segment").only(*POOL_ROW_FIELDS)
    by_id = {case.pk: case for case in rows.filter(pk__in=found).order_by()}
    return Page(
        [by_id[pk] for pk in found if pk in by_id], number, page_size, has_next, total, estimate
    )
