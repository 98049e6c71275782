"""The API over the phone and messaging rooms: unmatched calls, consents, a case's messages,
an offer issued (and sent) on a case; with each key's scope."""

from __future__ import annotations

import pytest

from reactivation.messaging.models import Consent, Message
from reactivation.models import Offer
from reactivation.telephony.models import PhoneCall
from tests.factories import OfferTemplateFactory
from tests.telephony.conftest import make_account

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MESSAGES_QUIET_HOURS = ""
    settings.MESSAGES_PUBLIC_URL = "https://crm.example.com"


def _phone_call(**fields):
    account = make_account("generic", key="k", secret="s")
    return PhoneCall.objects.create(account=account, direction="in", **fields)


def test_unmatched_calls_list_the_numbers_no_client_has(api, keys, world):
    unknown = _phone_call(number="+79035550000")
    _phone_call(number="+79035550001", client=world["mine"])
    response = api.get("/api/v1/calls", key=keys["admin"], unmatched="1")
    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body["results"]] == [unknown.pk]
    assert body["results"][0]["number"] == "+79035550000"


def test_calls_without_unmatched_is_a_400_in_the_error_shape(api, keys, world):
    response = api.get("/api/v1/calls", key=keys["admin"])
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["errors"][0]["field"] == "unmatched"


def test_consents_are_recorded_and_read_back(api, keys, world):
    path = "/api/v1/clients/ALICE-1/consents"
    response = api.post(
        path, {"channel": "email", "granted": True, "text_version": "v2"}, key=keys["admin"]
    )
    assert response.status_code == 201
    consent = Consent.objects.get()
    assert (consent.channel, consent.purpose, consent.granted, consent.source) == (
        "email",
        "advertising",
        True,
        "api",
    )
    body = api.get(path, key=keys["alice"]).json()
    state = {(row["channel"], row["purpose"]): row["granted"] for row in body["current"]}
    assert state[("email", "advertising")] is True
    assert state[("sms", "advertising")] is None
    assert body["history"][0]["text_version"] == "v2"


def test_a_bad_channel_is_a_400_naming_the_field(api, keys, world):
    response = api.post(
        "/api/v1/clients/ALICE-1/consents",
        {"channel": "pigeon", "granted": True},
        key=keys["admin"],
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "channel"
    assert not Consent.objects.exists()


def test_a_manager_never_reaches_a_colleagues_client_consents(api, keys, world):
    assert api.get("/api/v1/clients/BOB-1/consents", key=keys["alice"]).status_code == 404
    response = api.post(
        "/api/v1/clients/BOB-1/consents", {"channel": "sms", "granted": True}, key=keys["alice"]
    )
    assert response.status_code == 404
    owner = api.post(
        "/api/v1/clients/BOB-1/consents", {"channel": "sms", "granted": True}, key=keys["owner"]
    )
    assert owner.status_code == 403
    assert not Consent.objects.exists()


def test_an_offer_issued_on_a_case_for_the_call(api, keys, world):
    template = OfferTemplateFactory()
    case = world["my_case"]
    response = api.post(
        f"/api/v1/cases/{case.pk}/offers", {"template": template.pk}, key=keys["alice"]
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    offer = Offer.objects.get(case=case)
    assert body["offer"]["code"] == offer.code
    assert body["message"] is None
    again = api.post(
        f"/api/v1/cases/{case.pk}/offers", {"template": template.pk}, key=keys["alice"]
    )
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"


def test_an_offer_sent_by_email_with_consent_and_refused_without(api, keys, world):
    template = OfferTemplateFactory()
    case = world["my_case"]
    path = f"/api/v1/cases/{case.pk}/offers"
    refused = api.post(path, {"template": template.pk, "channel": "email"}, key=keys["alice"])
    assert refused.status_code == 409
    assert refused.json()["code"] == "message_refused"
    assert not Offer.objects.exists()  # a refused send issues nothing

    api.post(
        "/api/v1/clients/ALICE-1/consents", {"channel": "email", "granted": True}, key=keys["admin"]
    )
    sent = api.post(path, {"template": template.pk, "channel": "email"}, key=keys["alice"])
    assert sent.status_code == 201, sent.json()
    message = Message.objects.get()
    assert sent.json()["message"]["id"] == message.pk
    assert sent.json()["message"]["offer"] == Offer.objects.get().code

    listed = api.get(f"/api/v1/cases/{case.pk}/messages", key=keys["alice"]).json()
    assert [row["id"] for row in listed] == [message.pk]
    assert listed[0]["channel"] == "email"


def test_a_colleagues_case_is_404_and_a_key_without_user_is_403(api, keys, world):
    template = OfferTemplateFactory()
    theirs = world["their_case"]
    assert api.get(f"/api/v1/cases/{theirs.pk}/messages", key=keys["alice"]).status_code == 404
    response = api.post(
        f"/api/v1/cases/{theirs.pk}/offers", {"template": template.pk}, key=keys["alice"]
    )
    assert response.status_code == 404
    no_user = api.post(
        f"/api/v1/cases/{world['my_case'].pk}/offers", {"template": template.pk}, key=keys["admin"]
    )
    assert no_user.status_code == 403
    assert not Offer.objects.exists()


def test_an_unknown_template_is_a_400(api, keys, world):
    response = api.post(
        f"/api/v1/cases/{world['my_case'].pk}/offers", {"template": 999999}, key=keys["alice"]
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "template"
