"""Helpers shared by the queue, case and offer tests."""

from __future__ import annotations

import datetime as dt

from calls.seed import seed_catalogue
from tests.factories import CaseFactory, ClientFactory

TODAY = dt.date(2026, 11, 18)  # a Wednesday; the plan week starts on Monday 16 November
NOW = dt.datetime(2026, 11, 18, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=3)))


def open_case(*, manager=None, client_manager=None, **kwargs):
    """An open case of a lost client, assigned to ``manager`` (None: the pool)."""
    client = ClientFactory(
        manager=client_manager,
        last_purchase_on=dt.date(2026, 6, 1),
        first_purchase_on=dt.date(2025, 6, 1),
        purchase_days=8,
        cycle_days=30.0,
        status="lost",
    )
    defaults = {
        "assigned_on": dt.date(2026, 11, 16) if manager else None,
        "opened_on": dt.date(2026, 11, 10),
    }
    defaults.update(kwargs)
    return CaseFactory(client=client, assigned_to=manager, **defaults)


def catalogue():
    seed_catalogue()


def page_ids(response) -> list[int]:
    """The ids of the cases a queue page shows, in its order."""
    return [case.pk for case in response.context["page"].object_list]
