"""The latest reason of each case, as the migration that added it fills it from the calls
already recorded: the same reason the call service keeps."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps

from calls.models import Call, Reason
from calls.services import CallInput, call_record
from reactivation.models import Case
from tests.reactivation.queue_helpers import NOW, catalogue, open_case

pytestmark = pytest.mark.django_db

migration = importlib.import_module("reactivation.migrations.0007_case_last_reason")


def _call(case, *, at, reason=None, outcome="reached"):
    return Call.objects.create(
        case=case,
        client=case.client,
        manager=case.assigned_to,
        called_at=at,
        outcome=outcome,
        reason=reason,
    )


def _backfill():
    Case.objects.update(last_reason=None)
    migration.backfill_last_reason(apps, None)
    return dict(Case.objects.values_list("pk", "last_reason"))


def test_the_backfill_takes_the_reason_of_each_cases_latest_call_that_recorded_one(alice):
    catalogue()
    price, service, other = (
        Reason.objects.get(code=code) for code in ("price", "service", "other")
    )
    hour = dt.timedelta(hours=1)
    changed_mind = open_case(manager=alice)
    _call(changed_mind, at=NOW - 3 * hour, reason=price)
    _call(changed_mind, at=NOW - hour, reason=service)
    _call(changed_mind, at=NOW, outcome="no_answer")  # later, but no reason: not the latest
    recorded_late = open_case(manager=alice)
    _call(recorded_late, at=NOW, reason=price)
    _call(recorded_late, at=NOW - hour, reason=other)  # a higher id, an earlier call
    same_time = open_case(manager=alice)
    _call(same_time, at=NOW, reason=price)
    _call(same_time, at=NOW, reason=other)  # the same time: the later id wins
    no_reason = open_case(manager=alice)
    _call(no_reason, at=NOW, outcome="busy")
    never_called = open_case(manager=alice)

    assert _backfill() == {
        changed_mind.pk: service.pk,
        recorded_late.pk: price.pk,
        same_time.pk: other.pk,
        no_reason.pk: None,
        never_called.pk: None,
    }


def test_the_backfill_gives_what_the_call_service_kept(alice):
    catalogue()
    reasons = list(Reason.objects.order_by("pk"))
    cases = [open_case(manager=alice) for _ in range(4)]
    for n, case in enumerate(cases):
        for k in range(n):
            call_record(
                case=case,
                manager=alice,
                data=CallInput(outcome="reached", reason=reasons[(n + k) % len(reasons)]),
                script_version=None,
                now=NOW - dt.timedelta(hours=(n * k) % 3),
            )
    kept = dict(Case.objects.values_list("pk", "last_reason"))
    assert any(kept.values())
    assert _backfill() == kept
