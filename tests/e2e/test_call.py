"""A whole call in the browser: from the queue to a case, along the script, reason, offer,
outcome, and the case moving; once with the mouse and once with the keyboard only."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from calls.models import Call, Reason
from calls.seed import seed_catalogue
from reactivation.models import Case, Offer
from reactivation.roles import Role
from tests.factories import CaseFactory, ClientFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _roles(transactional_db):
    """A transactional test empties the tables afterwards, the role groups made by a
    migration included; put them back for each test."""
    for role in Role.values:
        Group.objects.get_or_create(name=role)


def _case(manager, name: str, abc: str) -> Case:
    today = timezone.localdate()
    client = ClientFactory(
        name=name,
        phone="+79161234567",
        last_purchase_on=today - dt.timedelta(days=120),
        first_purchase_on=today - dt.timedelta(days=700),
        purchase_days=12,
        cycle_days=30.0,
        status="lost",
    )
    return CaseFactory(
        client=client,
        assigned_to=manager,
        assigned_on=today,
        opened_on=today - dt.timedelta(days=3),
        abc_class=abc,
    )


def test_a_whole_call_with_the_mouse(alice, live_server, log_in, page, console_errors):
    seed_catalogue()
    case = _case(alice, "Ivan Petrov", "A")
    log_in(alice)
    page.goto(f"{live_server.url}/queue/")
    expect(page.get_by_role("heading", name="My week")).to_be_visible()
    page.get_by_role("link", name="Ivan Petrov").click()
    expect(page.locator("#case-title")).to_have_text("Ivan Petrov")
    expect(page.locator('a[href="tel:+79161234567"]')).to_be_visible()

    # The English page gets the English script; only the first step shows until answered.
    expect(page.locator("#step-greet")).to_contain_text("Hello, Ivan Petrov! This is Alice Manager")
    expect(page.locator("#step-noticed")).to_be_hidden()
    page.get_by_text("Yes", exact=True).click()
    expect(page.locator("#step-noticed")).to_contain_text("120 days")
    page.get_by_text("Continue", exact=True).click()
    page.get_by_text("Too expensive", exact=True).click()
    # The answer names a reason: the reason field says so, the manager need not enter it.
    price = Reason.objects.get(code="price")
    expect(page.locator("#id_reason")).to_have_value(str(price.pk))
    page.get_by_text("Open to an offer", exact=True).click()
    expect(page.locator("#step-offer")).to_be_visible()

    # The offer is part of the call: its panel sits inside the call form, above Save.
    offers = page.locator("#call-form #offers")
    expect(offers).to_be_visible()
    save = page.get_by_role("button", name="Save call")
    assert offers.bounding_box()["y"] < save.bounding_box()["y"]

    # Issue an offer: only the offer panel changes, the call form keeps its answers.
    page.locator("#id_template").select_option(label="Скидка 10% на 14 дней")
    page.locator("#issue-offer").click()
    code = page.locator(".offer-code")
    expect(code).to_have_text(re.compile(r"^WB-[A-Z2-9]{4}-[A-Z2-9]{4}$"))
    expect(page.locator("#answer-why-4")).to_be_checked()

    page.get_by_text("Yes, will order", exact=True).click()
    expect(page.locator("#id_reason")).to_have_value(str(price.pk))
    page.locator("label[for=outcome-call_back]").click()
    callback_on = timezone.localdate() + dt.timedelta(days=2)
    page.locator("#id_next_call_on").fill(callback_on.isoformat())
    page.locator("#id_next_call_time").fill("14:30")
    page.locator("#id_notes").fill("Wants the new catalogue")
    page.get_by_role("button", name="Save call").click()
    expect(page.locator(".case-notice")).to_contain_text("Call saved.")
    expect(page.locator(".call-history")).to_contain_text("Call back")

    call = Call.objects.get(case=case)
    assert call.reason == Reason.objects.get(code="price")
    assert call.answers == {
        "greet": "Yes",
        "noticed": "Continue",
        "why": "Too expensive",
        "listen": "Open to an offer",
        "offer": "Yes, will order",
    }
    offer = Offer.objects.get(case=case)
    assert offer.call == call and code.inner_text() == offer.code
    case.refresh_from_db()
    assert case.next_call_on == callback_on
    assert call.next_call_time == dt.time(14, 30)

    # The case moved: in the week it now waits for its call-back day and time, not overdue.
    page.goto(f"{live_server.url}/queue/")
    row = page.locator(f'tr[data-case="{case.pk}"]')
    expect(row).to_contain_text(f"Call back on {callback_on:%m/%d/%Y} at 14:30")
    expect(row).not_to_contain_text("Overdue")
    assert console_errors == []


def test_a_whole_call_with_the_keyboard_only(alice, live_server, log_in, page, console_errors):
    seed_catalogue()
    first = _case(alice, "Anna Keys", "A")
    second = _case(alice, "Boris Next", "B")
    log_in(alice)
    page.goto(f"{live_server.url}/queue/")
    page.keyboard.press("n")  # start calling: the first case of the week
    expect(page.locator("#case-title")).to_have_text("Anna Keys")

    page.keyboard.press("a")  # to the script
    page.keyboard.press("Space")  # "Yes"
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # "Continue"
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # first answer: "No need at the moment"
    for _ in range(3):
        page.keyboard.press("ArrowRight")  # ... to "Too expensive"
    expect(page.locator("#answer-why-4")).to_be_checked()
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # "Open to an offer"
    expect(page.locator("#step-offer")).to_be_visible()

    page.keyboard.press("o")  # the offer template
    expect(page.locator("#id_template")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # issue it
    expect(page.locator(".offer-code")).to_have_text(re.compile(r"^WB-"))

    page.keyboard.press("1")  # outcome: reached
    expect(page.locator("#outcome-reached")).to_be_checked()
    page.keyboard.press("r")  # reason: "Too expensive" has filled it already
    expect(page.locator("#id_reason")).to_be_focused()
    expect(page.locator("#id_reason")).to_have_value(str(Reason.objects.get(code="price").pk))
    page.keyboard.press("Escape")
    page.keyboard.press("w")  # the call's result ...
    page.keyboard.press("ArrowDown")  # ... a promise to buy
    expect(page.locator("#id_close_as")).to_have_value("promised")
    page.keyboard.press("Escape")
    page.keyboard.press("m")
    page.keyboard.type("Back with 10% off")
    page.keyboard.press("Control+Enter")  # save and next case

    expect(page.locator("#case-title")).to_have_text("Boris Next")
    expect(page).to_have_url(f"{live_server.url}/cases/{second.pk}/")
    first.refresh_from_db()
    # A promise is not a win: the case stays open until the client buys.
    assert first.status == Case.Status.OPEN and first.credited_manager is None
    call = Call.objects.get(case=first)
    assert (call.outcome, call.reason.code, call.notes, call.promised_to_buy) == (
        "reached",
        "price",
        "Back with 10% off",
        True,
    )
    assert Offer.objects.get(case=first).call == call
    assert console_errors == []


def test_a_call_in_russian_with_a_promise_to_buy(alice, live_server, log_in, page, console_errors):
    """The Russian page: only the Russian script is offered, the company is greeted
    neutrally, «Дорого» fills the reason, the call ends with a promise to buy and the case
    stays open; saving with htmx logs nothing (no inline style for the CSP to refuse)."""
    seed_catalogue()
    case = _case(alice, "ООО «Северстрой-176»", "A")
    second = _case(alice, "Пётр Второй", "B")
    log_in(alice, language="ru")
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    expect(page.locator("#step-greet")).to_contain_text("Здравствуйте! Меня зовут Alice Manager")
    expect(page.locator("#step-greet")).not_to_contain_text("Северстрой")
    expect(page.locator("#script-switch")).to_have_count(0)  # one script in Russian: no picker
    page.get_by_text("Да, удобно", exact=True).click()
    page.get_by_text("Дальше", exact=True).click()
    page.get_by_text("Дорого", exact=True).click()
    expect(page.locator("#id_reason")).to_have_value(str(Reason.objects.get(code="price").pk))
    page.locator("#issue-offer").click()
    expect(page.locator(".offer-code")).to_be_visible()
    expect(page.locator("label[for=outcome-reached]")).to_contain_text("Дозвон")
    page.locator("label[for=outcome-reached]").click()
    page.locator("#id_close_as").select_option("promised")
    page.get_by_role("button", name="Сохранить и к следующему").click()
    expect(page.locator("#case-title")).to_have_text("Пётр Второй")
    call = Call.objects.get(case=case)
    assert call.promised_to_buy and call.reason.code == "price"
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN
    # Back to the previous case: the restored page works (no script error).
    page.go_back()
    expect(page.locator("#case-title")).to_have_text("ООО «Северстрой-176»")
    assert second.pk and console_errors == []
