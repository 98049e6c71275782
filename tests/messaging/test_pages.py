"""The send panel on the case page, the client card's consents, and the admin's message
templates page."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from reactivation.messaging.models import Channel, Message, MessageTemplate, Purpose
from reactivation.messaging.selectors import message_template
from tests.factories import CaseFactory, ClientFactory, OfferTemplateFactory
from tests.messaging.conftest import NOON, grant, reached_call

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _noon():
    with time_machine.travel(NOON, tick=False):
        yield


def test_the_case_page_shows_the_send_panel_with_preview_and_sms_parts(login, alice, case, offer):
    grant(case.client)
    page = login(alice).get(reverse("case_detail", args=[case.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="offer-send"' in html and offer.code in html
    assert 'data-sms-parts="' in html


def test_the_panel_without_an_offer_says_to_issue_one(login, alice, case):
    html = (
        login(alice)
        .get(reverse("messaging_panel", args=[case.pk]), HTTP_HX_REQUEST="true")
        .content.decode()
    )
    assert "Issue an offer first" in html and "send-offer" not in html


def test_the_panel_previews_a_chosen_channel_and_language(login, alice, case, offer):
    grant(case.client, channel=Channel.EMAIL)
    response = login(alice).get(
        reverse("messaging_panel", args=[case.pk]),
        {"channel": "email", "language": "en"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response["Vary"].find("HX-Request") >= 0
    assert "a personal offer for you" in html and offer.code in html
    assert "<html" not in html  # the partial alone


def test_sending_from_the_panel_writes_a_message(
    login, alice, case, offer, django_capture_on_commit_callbacks
):
    grant(case.client)
    with django_capture_on_commit_callbacks(execute=True):
        response = login(alice).post(
            reverse("messaging_send", args=[case.pk]),
            {"channel": "sms", "language": "ru", "purpose": "advertising"},
        )
    assert response.status_code == 302 and response["Location"].endswith("#offer-send")
    message = Message.objects.get()
    assert (message.channel, message.created_by, message.status) == (
        "sms",
        alice,
        "delivered",
    )  # console


def test_a_refused_send_from_the_panel_says_why_and_writes_nothing(login, alice, case, offer):
    response = login(alice).post(
        reverse("messaging_send", args=[case.pk]),
        {"channel": "sms", "language": "ru"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 409
    assert "not consented" in response.content.decode()
    assert not Message.objects.exists()


def test_a_colleague_cannot_send_on_anothers_case(login, alice, bob, case, offer):
    grant(case.client)
    response = login(bob).post(
        reverse("messaging_send", args=[case.pk]), {"channel": "sms", "language": "ru"}
    )
    assert response.status_code == 404
    assert not Message.objects.exists()


def test_an_outsider_gets_no_panel(login, charlie, case):
    assert login(charlie).get(reverse("messaging_panel", args=[case.pk])).status_code == 403


def test_a_service_message_is_marked_as_such(login, alice, case, offer):
    reached_call(case)
    login(alice).post(
        reverse("messaging_send", args=[case.pk]),
        {"channel": "sms", "language": "ru", "purpose": "service"},
    )
    assert Message.objects.get().purpose == Purpose.SERVICE


def test_the_client_card_shows_consents(login, owner, case):
    grant(case.client, text_version="2026-09")
    html = login(owner).get(reverse("client_detail", args=[case.client.pk])).content.decode()
    assert (
        'id="client-consents"' in html
        and 'data-consent="sms-advertising"' in html
        and "2026-09" in html
    )


def test_every_channel_has_default_russian_and_english_templates():
    for channel in ("sms", "email", "telegram"):
        for language in ("ru", "en"):
            assert MessageTemplate.objects.filter(
                offer_template=None, channel=channel, language=language
            ).exists()


def test_an_offers_own_template_comes_before_the_default():
    template = OfferTemplateFactory()
    own = MessageTemplate.objects.create(
        offer_template=template, channel="sms", language="ru", body="Свой {offer_code}"
    )
    assert message_template(offer_template_id=template.pk, channel="sms", language="ru") == own
    default_en = MessageTemplate.objects.get(offer_template=None, channel="sms", language="en")
    assert (
        message_template(offer_template_id=template.pk, channel="sms", language="en") == default_en
    )


def test_admin_lists_and_edits_message_templates(login, admin_user):
    web = login(admin_user)
    listing = web.get(reverse("settings_message_templates"))
    assert listing.status_code == 200 and "Message templates" in listing.content.decode()
    row = MessageTemplate.objects.get(offer_template=None, channel="sms", language="ru")
    url = reverse("settings_message_template_edit", args=[row.pk])
    bad = web.post(
        url, {"channel": "sms", "language": "ru", "body": "{offer_code} {secret}", "active": "on"}
    )
    assert bad.status_code == 200 and "Unknown placeholder" in bad.content.decode()
    good = web.post(
        url, {"channel": "sms", "language": "ru", "body": "Код {offer_code}", "active": "on"}
    )
    assert good.status_code == 302
    row.refresh_from_db()
    assert row.body == "Код {offer_code}"


def test_managers_cannot_edit_message_templates(login, alice):
    assert login(alice).get(reverse("settings_message_templates")).status_code == 403


def test_the_panel_reads_few_queries(login, alice, django_assert_max_num_queries):
    client = ClientFactory(phone="+79161239999", manager=alice)
    case = CaseFactory(client=client, assigned_to=alice)
    web = login(alice)
    with django_assert_max_num_queries(25):
        web.get(reverse("messaging_panel", args=[case.pk]), HTTP_HX_REQUEST="true")


def test_the_case_workspace_partial_carries_the_panel(login, alice, case, offer):
    html = (
        login(alice)
        .get(reverse("case_detail", args=[case.pk]), HTTP_HX_REQUEST="true")
        .content.decode()
    )
    assert 'id="offer-send"' in html and "<html" not in html


def test_the_templates_page_shows_the_providers_and_their_callback_addresses(
    login, admin_user, settings
):
    settings.SMS_PROVIDER = "smsc"
    html = login(admin_user).get(reverse("settings_message_templates")).content.decode()
    assert 'data-provider="smsc"' in html
    assert "https://crm.example.com/messaging/callbacks/smsc/" in html
