"""Reads of phone calls: a case's calls (the case page and the API), the unmatched inbox."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from reactivation.roles import sees_everything
from reactivation.telephony.models import PhoneCall, PhoneExtension
from reactivation.telephony.services import account_default

UNMATCHED_PAGE_SIZE = 50
CASE_CALL_ROWS = 20


def may_play_recording(*, case: Any, user: Any) -> bool:
    """Recordings of a case's calls: its manager, owners and admins (not a colleague who merely
    sees the case in the pool)."""
    return sees_everything(user) or (
        case is not None and case.assigned_to_id is not None and case.assigned_to_id == user.pk
    )


def case_phone_calls(*, case_id: int) -> list[PhoneCall]:
    return list(
        PhoneCall.objects.filter(case_id=case_id)
        .select_related("manager", "call")
        .order_by("-started_at", "-id")[:CASE_CALL_ROWS]
    )


def phone_calls_for_case(*, case_id: int) -> list[dict[str, Any]]:
    """The phone-system fields of a case's calls, newest first, for ``GET
    /api/v1/cases/{id}/calls``: direction, result, duration (seconds), started_at, answered_at,
    ended_at, number, manager (login), the call form's call id, and ``recording``: the path
    that plays it (the case page's access rule applies there) or None. The caller checks that
    the case is visible to whoever asks."""
    return [
        {
            "id": call.pk,
            "direction": call.direction,
            "result": call.result,
            "duration": call.duration,
            "started_at": call.started_at,
            "answered_at": call.answered_at,
            "ended_at": call.ended_at,
            "number": call.number,
            "manager": call.manager.get_username() if call.manager else None,
            "call_id": call.call_id,
            "recording": reverse("phone_recording", args=[call.pk]) if call.has_recording else None,
        }
        for call in case_phone_calls(case_id=case_id)
    ]


def case_phone_panel(*, case: Any, user: Any) -> dict[str, Any]:
    """What the case page's phone panel shows: whether the call button works for this user,
    and the case's calls through the phone system."""
    extension = (
        PhoneExtension.objects.filter(user_id=user.pk).values_list("extension", flat=True).first()
    )
    can_dial = bool(
        case.is_open
        and not case.is_control
        and case.client.phone
        and extension
        and (case.assigned_to_id == user.pk or (case.assigned_to_id and sees_everything(user)))
    )
    if can_dial:
        account = account_default()
        can_dial = account is not None and account.has_credentials
    return {
        "can_dial": can_dial,
        "extension": extension or "",
        "calls": case_phone_calls(case_id=case.pk),
        "may_play": may_play_recording(case=case, user=user),
    }


def calls_unmatched(*, user: Any) -> Any:
    """Calls from or to numbers no client has, newest first, as the user may see them."""
    return (
        PhoneCall.objects.visible_to(user)
        .unmatched()
        .select_related("manager")
        .order_by("-started_at", "-id")
    )
