"""A manager logs in, narrows the client list and opens a client card, in a real browser."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from clients.models import Status
from tests.factories import ClientFactory, SegmentFactory, TransactionFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_filters_the_client_list_and_opens_a_card(
    live_server, page, log_in, alice, bob, console_errors
):
    coffee = SegmentFactory(code="coffee", name="Coffee beans")
    office = SegmentFactory(code="office", name="Office supplies")
    mine = ClientFactory(
        name="Roastery Nord",
        segment=coffee,
        manager=alice,
        status=Status.LOST,
        phone="+79161230000",
        purchase_days=5,
        cycle_days=21.0,
        first_purchase_on=dt.date(2026, 1, 10),
        last_purchase_on=dt.date(2026, 6, 1),
    )
    TransactionFactory(client=mine, date=dt.date(2026, 6, 1), amount=Decimal("3150.00"))
    ClientFactory(name="Paper House", segment=office, manager=alice, status=Status.ACTIVE)
    ClientFactory(name="Someone Else's", segment=coffee, manager=bob, status=Status.LOST)

    log_in(alice)
    page.goto(f"{live_server.url}/clients/")
    expect(page.locator("#client-results tbody tr")).to_have_count(2)

    page.select_option("#id_status", "lost")
    expect(page.locator("#client-results tbody tr")).to_have_count(1)
    expect(page).to_have_url(
        f"{live_server.url}/clients/?q=&segment=&status=lost&manager=&abc_class=&sort="
    )

    page.fill("#id_q", "nord")
    expect(page.locator("#client-results tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Roastery Nord").click()

    expect(page.get_by_role("heading", name="Roastery Nord")).to_be_visible()
    expect(page.locator('a[href="tel:+79161230000"]')).to_be_visible()
    expect(page.get_by_text("3,150.00")).to_be_visible()
    assert console_errors == []
