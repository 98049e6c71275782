"""Pagination that stays fast on a base of millions: no exact COUNT(*) over a large result.

A page is fetched with one extra row to know whether a next page exists. The total shown is
exact when the planner expects a small result and the planner's estimate otherwise (marked
"about" on the page); on SQLite, the embedded database of small installs, it is always exact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

EXACT_COUNT_BELOW = 20_000
# The databases' OFFSET and LIMIT are 64-bit integers: a page whose rows would start past the
# largest one cannot exist, and asking the database for it is an error, not an empty page.
LARGEST_OFFSET = 2**63 - 1


@dataclass
class Page:
    object_list: list[Any]
    number: int
    page_size: int
    has_next: bool
    total: int
    total_is_estimate: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.page_size + 1 if self.object_list else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.page_size + len(self.object_list)

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def planner_estimate(queryset: QuerySet) -> int:
    """The planner's row estimate for ``queryset`` (PostgreSQL), or an exact count elsewhere
    (SQLite, the embedded database of small installs)."""
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


def estimated_count(queryset: QuerySet) -> tuple[int, bool]:
    """(count, is_estimate) for a queryset: the planner's row estimate when it is large."""
    if connections[queryset.db].vendor != "postgresql":
        return queryset.count(), False
    estimate = planner_estimate(queryset.order_by().values("pk"))
    if estimate < EXACT_COUNT_BELOW:
        return queryset.count(), False
    return estimate, True


def requested_page(value: Any, page_size: int) -> int:
    """The page asked for in ``?page=``: 1 when it is missing or not a number (a hand-edited
    link), and ``Http404`` when its rows would start past the largest offset the database can
    take, so that a huge number is "page not found" instead of a database error."""
    try:
        number = max(1, int(value))
    except (TypeError, ValueError):
        return 1
    if number * page_size >= LARGEST_OFFSET:  # the page reads up to number x size + 1 rows
        raise Http404(_("There is no such page."))
    return number


def paginate(queryset: QuerySet, requested: Any, page_size: int) -> Page:
    number = requested_page(requested, page_size)
    offset = (number - 1) * page_size
    rows = list(queryset[offset : offset + page_size + 1])
    has_next = len(rows) > page_size
    rows = rows[:page_size]
    if number == 1 and not has_next:
        total, is_estimate = len(rows), False
    else:
        total, is_estimate = estimated_count(queryset)
        total = max(total, offset + len(rows))
    return Page(rows, number, page_size, has_next, total, is_estimate)
