"""Recording a call and what its outcome does to the case and the client."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from calls.models import Call, Reason, ScriptVersion
from calls.scripts import clean_answers, reason_from_answers
from clients.models import Client
from reactivation.models import Case, Offer
from reactivation.policies import policy_for
from reactivation.roles import sees_everything
from reactivation.webhooks import outbox

ERR_CASE_CLOSED = _("This case is closed; calls can be recorded only on an open case.")
ERR_CONTROL_CASE = _("Control-group clients are not called.")
ERR_NOT_ASSIGNED = _("Take this case from the pool before calling.")
ERR_CALL_BACK_DATE = _("Choose the date to call back.")
ERR_NEXT_CALL_PAST = _("The next call date cannot be in the past.")
ERR_CLOSE_NEEDS_REACHED = _("A case can be closed from a call only when the client was reached.")
ERR_PROMISE_NEEDS_REACHED = _("A promise to buy can be recorded only when the client was reached.")
ERR_WIN_NEEDS_PURCHASE = _(
    "A case is won back only by a purchase: record a promise to buy, and the purchase closes the case."
)
ERR_TIME_NEEDS_DATE = _("Choose the date of the call-back first; the time is optional.")

# Outcomes that did not reach the client: each one is an attempt counted against the cap.
UNANSWERED = {Call.Outcome.NO_ANSWER, Call.Outcome.BUSY, Call.Outcome.WRONG_NUMBER}
# What a reached call may end with besides keeping the case open: closing it as declined, or a
# promise to buy (the case stays open until the purchase, or until its lifetime ends). Never a
# win: only a purchase wins a client back (``case_win_back_on_purchase``).
PROMISED = "promised"
CLOSE_CHOICES = {Case.Status.DECLINED}


class CallError(Exception):
    def __init__(self, message: Any, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field


@dataclass(frozen=True)
class CallInput:
    outcome: str
    reason: Reason | None = None
    notes: str = ""
    next_call_on: dt.date | None = None
    answers: dict[str, str] | None = None
    close_as: str = ""
    next_call_time: dt.time | None = None


@transaction.atomic
def call_record(
    *,
    case: Case,
    manager: Any,
    data: CallInput,
    script_version: ScriptVersion | None,
    now: dt.datetime | None = None,
) -> Call:
    """Record one call on an open case and move the case.

    1. Lock the case; refuse a closed or control case, or one the caller does not work
       (owners and admins may record on any assigned case).
    2. Write the call with the script version used and the answers that belong to it.
    3. A reason given becomes the case's latest reason (``Case.last_reason``, which the
       week's reason filter reads), unless a call recorded later says otherwise.
    4. The outcome moves the case:
       - call back: ``next_call_on`` is the date given;
       - do not call: the case closes as declined and the client is marked do-not-contact;
       - no answer, busy, wrong number: one more attempt; at the policy's attempt cap the case
         closes as unreachable, otherwise it comes back on the date given (default: tomorrow);
       - reached: the case stays open until the date given, or closes as declined when the
         manager says so; a promise to buy keeps it open (only a purchase wins it back).
    5. No reason given, but an answer of the script names one (a choice with a ``reason``):
       that reason is recorded, so the manager does not enter it twice.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    case = Case.objects.select_for_update().select_related("client").get(pk=case.pk)
    if not case.is_open:
        raise CallError(ERR_CASE_CLOSED)
    if case.is_control:
        raise CallError(ERR_CONTROL_CASE)
    if case.assigned_to_id != manager.pk and not (case.assigned_to_id and sees_everything(manager)):
        raise CallError(ERR_NOT_ASSIGNED)
    if data.outcome == Call.Outcome.CALL_BACK and data.next_call_on is None:
        raise CallError(ERR_CALL_BACK_DATE, field="next_call_on")
    if data.next_call_on is not None and data.next_call_on < today:
        raise CallError(ERR_NEXT_CALL_PAST, field="next_call_on")
    if data.next_call_time is not None and data.next_call_on is None:
        raise CallError(ERR_TIME_NEEDS_DATE, field="next_call_time")
    if data.close_as == Case.Status.WON_BACK:
        raise CallError(ERR_WIN_NEEDS_PURCHASE, field="close_as")
    if data.close_as == PROMISED and data.outcome != Call.Outcome.REACHED:
        raise CallError(ERR_PROMISE_NEEDS_REACHED, field="close_as")
    if (
        data.close_as
        and data.close_as != PROMISED
        and (data.close_as not in CLOSE_CHOICES or data.outcome != Call.Outcome.REACHED)
    ):
        raise CallError(ERR_CLOSE_NEEDS_REACHED, field="close_as")

    steps = script_version.steps if script_version else []
    answers = clean_answers(steps, data.answers or {})
    reason = data.reason
    if reason is None:
        code = reason_from_answers(steps, answers)
        reason = Reason.objects.filter(code=code, active=True).first() if code else None
    promised = data.close_as == PROMISED
    call = Call.objects.create(
        case=case,
        client=case.client,
        manager=manager,
        script_version=script_version,
        called_at=now,
        outcome=data.outcome,
        reason=reason,
        answers=answers,
        notes=data.notes,
        next_call_on=data.next_call_on,
        next_call_time=data.next_call_time if data.next_call_on else None,
        promised_to_buy=promised,
    )

    case.last_call_at = now
    fields = ["last_call_at", "next_call_on", "attempts", "status", "closed_on", "updated_at"]
    if reason is not None and _is_latest_reason(call):
        case.last_reason = reason
        fields.append("last_reason")
    close_on = max(today, case.opened_on)
    if data.outcome == Call.Outcome.DO_NOT_CALL:
        case.status, case.closed_on, case.next_call_on = Case.Status.DECLINED, close_on, None
        Client.objects.filter(pk=case.client_id).update(do_not_contact=True)
    elif data.outcome in UNANSWERED:
        case.attempts += 1
        if case.attempts >= policy_for(case.client.segment_id).attempt_cap:
            case.status, case.closed_on, case.next_call_on = Case.Status.UNREACHABLE, close_on, None
        else:
            case.next_call_on = data.next_call_on or today + dt.timedelta(days=1)
    elif data.close_as and not promised:
        case.status, case.closed_on, case.next_call_on = data.close_as, close_on, None
    else:
        case.next_call_on = data.next_call_on
    case.save(update_fields=fields)
    outbox.cases_closed(case_ids=[case.pk])
    # An offer issued during this call (before the outcome was saved) belongs to it.
    Offer.objects.filter(case=case, call__isnull=True, issued_by=manager, issued_on=today).update(
        call=call
    )
    return call


def _is_latest_reason(call: Call) -> bool:
    """Whether ``call`` is the latest of its case's calls that recorded a reason, in the order
    the case page and the win credit use (call time, then id): a call recorded with an earlier
    time (``now`` given) does not replace the reason of a later one."""
    later = Call.objects.filter(case_id=call.case_id, reason__isnull=False).filter(
        Q(called_at__gt=call.called_at) | Q(called_at=call.called_at, pk__gt=call.pk)
    )
    return not later.exists()
