"""ABC classes from each client's share of revenue (or margin) over a trailing window.

Clients are ranked by their revenue in the window (``BusinessSettings.abc_window_days``, default
365 days up to ``as_of``); class A holds the clients whose revenue makes the top ``abc_a_share``
(default 80%) of the total, B the next ``abc_b_share`` (15%), C the rest and everyone who bought
nothing in the window. A client enters the higher class when the revenue ranked above them is
still below the boundary, so the biggest client is always A. Clients whose class an admin
pinned keep it (their revenue still counts in the total). One statement, recomputed weekly and
by ``manage.py abc``.

By margin, a client's margin in the window is the gate's (``services.gate.margin_per_purchase``):
the imported margin where there is any, else their revenue x the business's margin rate, so a
class and the value that orders the queue rest on the same figure.
"""

# ruff: noqa: S608 - the SQL is assembled from constants in this module; values are parameters.
from __future__ import annotations

import datetime as dt

from django.db import connection, transaction

from reactivation.models import BusinessSettings

# The client's imported margin in the window, else revenue x the margin rate (as the gate does).
MARGIN_SQL = (
    "CASE WHEN SUM(COALESCE(t.margin, 0)) <> 0 THEN SUM(COALESCE(t.margin, 0)) "
    "ELSE SUM(t.amount) * %(margin_rate)s END"
)

ABC_SQL = """
WITH rev AS (
    SELECT c.id,
           COALESCE(w.value, 0) AS value
    FROM clients_client c
    LEFT JOIN (
        SELECT t.client_id, {value_expression} AS value
        FROM clients_transaction t
        WHERE t.date > %(start)s AND t.date <= %(as_of)s
        GROUP BY t.client_id
    ) w ON w.client_id = c.id
),
ranked AS (
    SELECT id, value,
           SUM(CASE WHEN value > 0 THEN value ELSE 0 END) OVER (
               ORDER BY value DESC, id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
           ) AS above,
           SUM(CASE WHEN value > 0 THEN value ELSE 0 END) OVER () AS total
    FROM rev
),
classes AS (
    SELECT id,
           CASE WHEN value <= 0 THEN 'C'
                WHEN COALESCE(above, 0) < %(a_share)s * total THEN 'A'
                WHEN COALESCE(above, 0) < %(ab_share)s * total THEN 'B'
                ELSE 'C' END AS abc
    FROM ranked
)
UPDATE clients_client SET abc_class = classes.abc
FROM classes
WHERE clients_client.id = classes.id AND NOT clients_client.abc_pinned
  AND clients_client.abc_class <> classes.abc
"""


@transaction.atomic
def abc_recompute(*, as_of: dt.date) -> dict[str, int]:
    """Recompute every unpinned client's class; returns the number of clients in each class."""
    from django.db.models import Count

    from clients.models import Client

    settings = BusinessSettings.load()
    value_expression = MARGIN_SQL if settings.abc_by_margin else "SUM(t.amount)"
    params = {
        "start": as_of - dt.timedelta(days=settings.abc_window_days),
        "as_of": as_of,
        "a_share": settings.abc_a_share,
        "ab_share": round(
            settings.abc_a_share + settings.abc_b_share, 9
        ),  # 0.8 + 0.15 is 0.9500000000000001
        "margin_rate": settings.margin_rate,
    }
    with connection.cursor() as cursor:
        cursor.execute(ABC_SQL.format(value_expression=value_expression), params)
    counts = {"A": 0, "B": 0, "C": 0}
    for row in Client.objects.values("abc_class").annotate(n=Count("pk")).order_by():
        counts[row["abc_class"] or "C"] = counts.get(row["abc_class"] or "C", 0) + row["n"]
    return counts
