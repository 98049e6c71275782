"""Telling PostgreSQL's planner how to run one statement, where its estimate would not.

A few statements of the engine know better than the planner's statistics how their rows meet
(a million clients merged in key order; a few thousand open cases looked up by key rather than
a whole table hashed). ``planner_settings`` sets the given settings for the block, within the
current transaction, and puts back the values they had. Elsewhere (SQLite) it does nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

# A few thousand rows (a day's transactions, the cases of a few months) meeting the clients:
# looked up by key, not by hashing or sorting the whole client table the planner would rather
# read.
BY_KEY = {"enable_hashjoin": "off", "enable_mergejoin": "off"}


@contextmanager
def planner_settings(**settings: str) -> Iterator[None]:
    """Run the block with these settings (``set_config(..., is_local => true)``), then restore
    the earlier values. If the block fails, the rollback of its transaction or savepoint undoes
    the settings anyway (PostgreSQL rolls transaction-local settings back with it)."""
    if connection.vendor != "postgresql":
        yield
        return
    names = list(settings)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(["current_setting(%s)"] * len(names)), names)
        before = cursor.fetchone()
        for name, value in settings.items():
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
        yield
        for name, value in zip(names, before, strict=True):
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
