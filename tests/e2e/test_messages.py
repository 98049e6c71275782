"""Sending an offer from the case page in the browser: the channel's preview, the send, the
message's status, all under the strict CSP."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from reactivation.messaging.models import Message, MessageTemplate
from reactivation.messaging.services import consent_record
from reactivation.roles import Role
from reactivation.services.offers import offer_issue
from tests.factories import CaseFactory, ClientFactory, OfferTemplateFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _rows(transactional_db, settings):
    """A transactional test empties the tables the migrations filled: put back the roles and
    the default templates this test uses."""
    for role in Role.values:
        Group.objects.get_or_create(name=role)
    MessageTemplate.objects.update_or_create(
        offer_template=None,
        channel="sms",
        language="en",
        defaults={"body": "{greeting} Code {offer_code} until {offer_expires_on}."},
    )
    MessageTemplate.objects.update_or_create(
        offer_template=None,
        channel="email",
        language="en",
        defaults={"subject": "{company}: for you", "body": "Your code {offer_code}."},
    )
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MESSAGES_QUIET_HOURS = ""


def test_a_manager_sends_the_offer_by_email_from_the_case_page(
    page, log_in, live_server, console_errors
):
    alice = UserFactory(username="alice", role="manager")
    client = ClientFactory(
        name="Ivan Petrov", phone="+79161234567", email="ivan@example.com", manager=alice
    )
    case = CaseFactory(client=client, assigned_to=alice, opened_on=timezone.localdate())
    offer = offer_issue(case=case, template=OfferTemplateFactory(name="Ten off"), by=alice)
    consent_record(
        client=client,
        channel="email",
        purpose="advertising",
        granted=True,
        source="call",
        at=timezone.now() - dt.timedelta(days=1),
    )

    log_in(alice)
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    panel = page.locator("#offer-send")
    expect(panel).to_be_visible()
    # SMS has no consent: the panel says so and shows its part count.
    expect(panel.locator("[data-refusal=sms]")).to_contain_text("not consented")
    page.check("#send-channel-sms")
    expect(panel.locator("[data-sms-parts]")).to_contain_text("1 SMS part")
    expect(page.locator("#send-offer")).to_be_disabled()
    # E-mail is consented: its preview, then the send.
    page.check("#send-channel-email")
    expect(panel.locator("[data-preview]")).to_contain_text(offer.code)
    page.click("#send-offer")
    expect(page.locator("#offer-send .alert-success")).to_contain_text("ivan@example.com")
    expect(page.locator("#offer-send [data-messages] [data-status]")).to_have_attribute(
        "data-status", "sent"
    )
    message = Message.objects.get()
    assert (message.channel, message.to, message.status) == ("email", "ivan@example.com", "sent")
    assert console_errors == []
