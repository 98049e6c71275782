"""The call form filled from the phone system, and a typed outcome that contradicts it."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from calls.services import CallInput, call_record
from reactivation.telephony.models import PhoneCall
from tests.factories import CaseFactory, ClientFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def missed(zadarma, alice):
    case = CaseFactory(client=ClientFactory(manager=alice), assigned_to=alice)
    return PhoneCall.objects.create(
        account=zadarma,
        provider_call_id="p-1",
        direction="outbound",
        case=case,
        client=case.client,
        manager=alice,
        result="no_answer",
        duration=0,
        started_at=NOW - dt.timedelta(minutes=5),
        ended_at=NOW - dt.timedelta(minutes=4),
    )


def test_the_case_page_offers_to_fill_the_form_from_the_phone_system(missed, login, alice):
    page = login(alice).get(f"/cases/{missed.case_id}/").content.decode()
    assert 'data-phone-fill data-outcome="no_answer"' in page
    assert 'data-note="Phone system: No answer, 0 s"' in page
    assert "js/telephony.js" in page


def test_a_recorded_call_is_linked_and_a_contradiction_shown(
    missed, login, alice, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        call = call_record(
            case=missed.case, manager=alice, data=CallInput(outcome="reached"), script_version=None
        )
    missed.refresh_from_db()
    assert missed.call == call
    assert missed.contradicts_typed
    page = login(alice).get(f"/cases/{missed.case_id}/").content.decode()
    assert "data-contradicts" in page
    assert "data-phone-fill" not in page


def test_an_agreeing_outcome_is_not_flagged(missed, alice, django_capture_on_commit_callbacks):
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        call_record(
            case=missed.case,
            manager=alice,
            data=CallInput(outcome="no_answer"),
            script_version=None,
        )
    missed.refresh_from_db()
    assert missed.call is not None and not missed.contradicts_typed


def test_a_call_typed_long_after_is_not_linked(missed, alice, django_capture_on_commit_callbacks):
    later = NOW + dt.timedelta(hours=5)
    with time_machine.travel(later, tick=False), django_capture_on_commit_callbacks(execute=True):
        call_record(
            case=missed.case, manager=alice, data=CallInput(outcome="reached"), script_version=None
        )
    missed.refresh_from_db()
    assert missed.call is None


def test_the_phone_panel_is_read_once_per_page(missed, login, alice):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(alice)
    client.get(f"/cases/{missed.case_id}/")
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/cases/{missed.case_id}/")
    phone_reads = [q["sql"] for q in queries.captured_queries if "telephony_phonecall" in q["sql"]]
    assert len(phone_reads) == 1
