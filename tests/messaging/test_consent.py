"""Consent: an append-only record of grants and withdrawals, the state it derives, and the
suppression list that stops every record with the address."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from calls.models import Call
from reactivation.messaging.models import Channel, Consent, ConsentSource, Purpose, Suppression
from reactivation.messaging.selectors import consent_history, consent_state
from reactivation.messaging.services import (
    ConsentInput,
    consent_allows,
    consent_record,
    consent_withdraw_everywhere,
    consents_import,
    suppression_add,
)
from tests.factories import CaseFactory, ClientFactory
from tests.messaging.conftest import NOON, grant

pytestmark = pytest.mark.django_db


def test_a_grant_records_its_evidence(case, alice):
    call = Call.objects.create(
        case=case, client=case.client, manager=alice, called_at=NOON, outcome="reached"
    )
    record = consent_record(
        client=case.client,
        channel=Channel.SMS,
        purpose=Purpose.ADVERTISING,
        granted=True,
        source=ConsentSource.CALL,
        text_version="2026-09",
        recorded_by=alice,
        call=call,
        at=NOON,
    )
    record.refresh_from_db()
    assert (record.granted, record.source, record.text_version) == (True, "call", "2026-09")
    assert record.recorded_by == alice and record.call == call and record.recorded_at == NOON
    assert record.address == "+79161234567"


def test_the_latest_record_is_the_state(case):
    client = case.client
    assert consent_state(client=client, channel=Channel.SMS, purpose=Purpose.ADVERTISING) is None
    grant(client, at=NOON - dt.timedelta(days=3))
    grant(client, granted=False, source=ConsentSource.API, at=NOON - dt.timedelta(days=2))
    assert (
        consent_state(client=client, channel=Channel.SMS, purpose=Purpose.ADVERTISING).granted
        is False
    )
    grant(client, at=NOON - dt.timedelta(days=1))
    assert (
        consent_state(client=client, channel=Channel.SMS, purpose=Purpose.ADVERTISING).granted
        is True
    )
    assert Consent.objects.filter(client=client).count() == 3  # all three kept as proof


def test_consent_is_per_channel_and_purpose(case):
    grant(case.client, channel=Channel.EMAIL)
    assert consent_allows(client=case.client, channel=Channel.EMAIL, purpose=Purpose.ADVERTISING)
    assert not consent_allows(client=case.client, channel=Channel.SMS, purpose=Purpose.ADVERTISING)


def test_records_are_never_changed_or_deleted(case):
    record = grant(case.client)
    record.granted = False
    with pytest.raises(ValidationError):
        record.save()
    with pytest.raises(ValidationError):
        record.delete()
    assert Consent.objects.get(pk=record.pk).granted is True


def test_a_call_of_another_client_is_refused(case, alice):
    other = CaseFactory(client=ClientFactory(), assigned_to=alice)
    call = Call.objects.create(
        case=other, client=other.client, manager=alice, called_at=NOON, outcome="reached"
    )
    with pytest.raises(ValidationError):
        consent_record(
            client=case.client,
            channel="sms",
            purpose="advertising",
            granted=True,
            source="call",
            call=call,
        )
    with pytest.raises(ValidationError):
        consent_record(
            client=case.client, channel="fax", purpose="advertising", granted=True, source="call"
        )
    assert not Consent.objects.exists()


def test_a_service_message_needs_no_grant_but_stops_after_a_withdrawal(case):
    assert consent_allows(client=case.client, channel=Channel.SMS, purpose=Purpose.SERVICE)
    grant(case.client, purpose=Purpose.SERVICE, granted=False)
    assert not consent_allows(client=case.client, channel=Channel.SMS, purpose=Purpose.SERVICE)


def test_suppression_is_stored_normalised_and_once():
    first = suppression_add(value="8 (916) 123-45-67", source=ConsentSource.STOP_REPLY)
    again = suppression_add(value="+7 916 123 45 67", source=ConsentSource.API)
    assert first.pk == again.pk and first.value == "+79161234567" and first.kind == "phone"
    email = suppression_add(value=" Ivan@Example.COM ", source=ConsentSource.UNSUBSCRIBE)
    assert email.value == "ivan@example.com" and email.kind == "email"
    with pytest.raises(ValidationError):
        suppression_add(value="not a phone", source=ConsentSource.API)
    assert Suppression.objects.count() == 2


def test_a_suppressed_number_stops_every_duplicate_record(case):
    duplicate = ClientFactory(phone="8 916 123-45-67")  # the same person imported twice
    grant(case.client)
    grant(duplicate)
    suppression_add(value="+79161234567", source=ConsentSource.STOP_REPLY)
    assert not consent_allows(client=case.client, channel=Channel.SMS, purpose=Purpose.ADVERTISING)
    assert not consent_allows(client=duplicate, channel=Channel.SMS, purpose=Purpose.ADVERTISING)
    assert not consent_allows(client=duplicate, channel=Channel.SMS, purpose=Purpose.SERVICE)
    # E-mail is another address: not suppressed by the phone.
    grant(duplicate, channel=Channel.EMAIL)
    assert consent_allows(client=duplicate, channel=Channel.EMAIL, purpose=Purpose.ADVERTISING)


def test_a_grant_after_the_suppression_lifts_it_for_that_client_only(case):
    duplicate = ClientFactory(phone="+79161234567")
    grant(duplicate, at=NOON - dt.timedelta(days=30))
    suppression_add(value="+79161234567", source=ConsentSource.STOP_REPLY)
    grant(case.client, at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    assert consent_allows(client=case.client, channel=Channel.SMS, purpose=Purpose.ADVERTISING)
    assert not consent_allows(client=duplicate, channel=Channel.SMS, purpose=Purpose.ADVERTISING)


def test_withdrawing_everywhere_covers_duplicates_and_suppresses(case):
    duplicate = ClientFactory(phone="+79161234567")
    grant(case.client)
    grant(duplicate)
    consent_withdraw_everywhere(
        client=case.client, channel=Channel.SMS, source=ConsentSource.UNSUBSCRIBE
    )
    for client in (case.client, duplicate):
        state = consent_state(client=client, channel=Channel.SMS, purpose=Purpose.ADVERTISING)
        assert state.granted is False and state.source == "unsubscribe"
    assert Suppression.objects.filter(kind="phone", value="+79161234567").exists()


def test_an_import_records_consents_set_wise_and_a_reimport_adds_nothing(
    case, django_assert_max_num_queries
):
    others = [ClientFactory() for _ in range(20)]
    entries = [ConsentInput(c.pk, "sms", "advertising", True) for c in [case.client, *others]]
    entries.append(ConsentInput(case.client.pk, "email", "advertising", False))
    with django_assert_max_num_queries(4):
        assert consents_import(entries=entries, text_version="2026-09") == 22
    assert consents_import(entries=entries, text_version="2026-09") == 0
    assert consent_allows(client=others[0], channel="sms", purpose="advertising")
    record = consent_state(client=case.client, channel="sms", purpose="advertising")
    assert (record.source, record.text_version) == ("import", "2026-09")
    # A change in the next file is a new record; the first is kept as evidence.
    assert consents_import(entries=[ConsentInput(case.client.pk, "sms", "advertising", False)]) == 1
    assert [r.granted for r in consent_history(client=case.client) if r.channel == "sms"] == [
        False,
        True,
    ]
    with pytest.raises(ValidationError):
        consents_import(entries=[ConsentInput(case.client.pk, "fax", "advertising", True)])
