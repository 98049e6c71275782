"""The phone-system fields of a case's calls, as the API lists them."""

from __future__ import annotations

import datetime as dt

import pytest

from reactivation.telephony.models import PhoneCall
from reactivation.telephony.selectors import phone_calls_for_case
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def test_a_cases_calls_with_their_phone_fields(zadarma, alice):
    case = CaseFactory(assigned_to=alice)
    start = dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC)
    older = PhoneCall.objects.create(
        account=zadarma,
        provider_call_id="a",
        direction="inbound",
        case=case,
        result="no_answer",
        duration=0,
        started_at=start,
    )
    newer = PhoneCall.objects.create(
        account=zadarma,
        provider_call_id="b",
        direction="outbound",
        case=case,
        result="answered",
        duration=61,
        manager=alice,
        started_at=start + dt.timedelta(hours=1),
        recording_ref="r",
    )
    PhoneCall.objects.create(account=zadarma, provider_call_id="c", direction="inbound")
    rows = phone_calls_for_case(case_id=case.pk)
    assert [r["id"] for r in rows] == [newer.pk, older.pk]
    expected = {
        "direction": "outbound",
        "result": "answered",
        "duration": 61,
        "manager": "alice",
        "started_at": start + dt.timedelta(hours=1),
        "recording": f"/phone/calls/{newer.pk}/recording/",
    }
    assert {key: rows[0][key] for key in expected} == expected
    assert rows[1]["recording"] is None
