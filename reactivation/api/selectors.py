"""The API's reads: clients and cases as JSON-ready rows, always through the product's scoping
(``Client.objects.visible_to``, ``Case.objects.visible_to`` and the case page's
``case_get``), so that a key sees exactly what its role and user see in the product."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from calls.models import Call
from clients import selectors as client_reads
from clients.models import Client, Segment
from reactivation.api.errors import ApiError, ItemError
from reactivation.models import Case, Offer
from reactivation.selectors.model import p_alive_for
from reactivation.selectors.week import week_start
from reactivation.telephony.selectors import phone_calls_for_case

User = get_user_model()

ERR_FILTER_SEGMENT = _("There is no segment with this code.")
ERR_FILTER_MANAGER = _("There is no manager with this login.")
ERR_FILTER_VALUE = _("Not one of the allowed values.")
ERR_FILTER_DATE = _("Give a date as YYYY-MM-DD.")


def _login(user: Any) -> str | None:
    return user.username if user is not None else None


# --- Clients ---------------------------------------------------------------------------------------


def clients_filtered(*, filters: dict[str, str], user: Any) -> QuerySet[Client]:
    """The clients list's own filters (``clients.filters.ClientFilter``) over what ``user``
    sees, with the API's spelling: a segment by its code and a manager by their login."""
    data: dict[str, str] = {}
    for name in ("q", "status", "abc_class"):
        if filters.get(name):
            data[name] = filters[name]
    if filters.get("segment"):
        segment = (
            Segment.objects.filter(code=filters["segment"]).values_list("pk", flat=True).first()
        )
        if segment is None:
            raise ApiError(
                400, "invalid", ERR_FILTER_SEGMENT, [ItemError(ERR_FILTER_SEGMENT, "segment")]
            )
        data["segment"] = str(segment)
    if filters.get("manager"):
        manager = (
            User.objects.filter(username=filters["manager"]).values_list("pk", flat=True).first()
        )
        if manager is None:
            raise ApiError(
                400, "invalid", ERR_FILTER_MANAGER, [ItemError(ERR_FILTER_MANAGER, "manager")]
            )
        data["manager"] = str(manager)
    filterset = client_reads.client_list(filters=data, user=user)
    if not filterset.is_valid():
        problems = [
            ItemError(str(messages[0]), name) for name, messages in filterset.form.errors.items()
        ]
        raise ApiError(400, "invalid", problems[0].message, problems)
    return filterset.qs


def client_rows(clients: Iterable[Client], *, user: Any, today: dt.date) -> list[dict[str, Any]]:
    """Clients (read with segment, manager and stats) as the API's rows, with P(alive) from the
    model (None where the segment has no fit) and the open case the key may see."""
    clients = list(clients)
    alive = p_alive_for(clients, today)
    open_cases = dict(
        Case.objects.visible_to(user)
        .filter(status=Case.Status.OPEN, client__in=[c.pk for c in clients])
        .values_list("client_id", "pk")
    )
    rows = []
    for client in clients:
        stats = client.statistics
        rows.append(
            {
                "external_id": client.external_id,
                "name": client.name,
                "phone": client.phone,
                "email": client.email,
                "segment": client.segment.code if client.segment_id else None,
                "abc_class": client.abc_class or None,
                "do_not_contact": client.do_not_contact,
                "status": stats.status,
                "cycle_days": stats.cycle_days,
                "first_purchase_on": stats.first_purchase_on,
                "last_purchase_on": stats.last_purchase_on,
                "due_on": stats.due_on,
                "purchase_days": stats.purchase_days,
                "revenue": stats.revenue,
                "p_alive": alive.get(client.pk),
                "manager": _login(client.manager) if client.manager_id else None,
                "open_case": open_cases.get(client.pk),
            }
        )
    return rows


def client_get(*, external_id: str, user: Any) -> Client:
    client = (
        Client.objects.visible_to(user)
        .select_related("segment", "manager", "stats")
        .filter(external_id=external_id)
        .first()
    )
    if client is None:
        raise ApiError(404, "not_found", _("There is no client with this external id."))
    return client


# --- Cases -----------------------------------------------------------------------------------------

CASE_RELATED = ("client", "assigned_to", "last_reason")


def cases_filtered(*, filters: dict[str, str], user: Any) -> QuerySet[Case]:
    """Cases ``user`` sees, by status, assigned manager (login) and plan week (any date in it:
    the cases assigned that week)."""
    queryset = Case.objects.visible_to(user).select_related(*CASE_RELATED)
    status = filters.get("status")
    if status:
        if status not in Case.Status.values:
            raise ApiError(
                400, "invalid", ERR_FILTER_VALUE, [ItemError(ERR_FILTER_VALUE, "status")]
            )
        queryset = queryset.filter(status=status)
    manager = filters.get("manager")
    if manager:
        queryset = queryset.filter(assigned_to__username=manager)
    week = filters.get("week")
    if week:
        try:
            day = dt.date.fromisoformat(week)
        except ValueError:
            raise ApiError(
                400, "invalid", ERR_FILTER_DATE, [ItemError(ERR_FILTER_DATE, "week")]
            ) from None
        start = week_start(day)
        queryset = queryset.filter(
            assigned_on__gte=start, assigned_on__lt=start + dt.timedelta(days=7)
        )
    return queryset


def case_row(case: Case) -> dict[str, Any]:
    return {
        "id": case.pk,
        "client": case.client.external_id,
        "client_name": case.client.name,
        "status": case.status,
        "is_control": case.is_control,
        "assigned_to": _login(case.assigned_to) if case.assigned_to_id else None,
        "assigned_on": case.assigned_on,
        "opened_on": case.opened_on,
        "closed_on": case.closed_on,
        "abc_class": case.abc_class or None,
        "potential_value": case.potential_value,
        "priority": case.priority,
        "attempts": case.attempts,
        "next_call_on": case.next_call_on,
        "last_call_at": case.last_call_at,
        "last_reason": case.last_reason.code if case.last_reason_id else None,
    }


def case_calls(case: Case) -> list[dict[str, Any]]:
    """The case's calls, newest first: each typed call with the phone system's fields of the
    call it records (null where none), and the calls the phone system logged that nobody has
    recorded on the form yet (``id`` and ``outcome`` null)."""
    calls = list(
        Call.objects.filter(case=case)
        .select_related("manager", "reason", "script_version")
        .order_by("-called_at", "-pk")
    )
    phone = phone_calls_for_case(case_id=case.pk)
    typed = {call.pk for call in calls}
    by_call = {row["call_id"]: row for row in phone if row["call_id"] in typed}
    rows = [call_row(call, by_call.get(call.pk)) for call in calls]
    rows += [_phone_only_row(case, row) for row in phone if row["call_id"] not in typed]
    return sorted(rows, key=lambda row: row["called_at"] or _EPOCH, reverse=True)


_EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)
PHONE_FIELDS = ("direction", "result", "duration", "started_at", "recording")


def _phone_fields(phone: dict[str, Any] | None) -> dict[str, Any]:
    return {name: (phone or {}).get(name) for name in PHONE_FIELDS}


def _phone_only_row(case: Case, phone: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": None,
        "case": case.pk,
        "called_at": phone["started_at"],
        "manager": phone["manager"],
        "outcome": None,
        "reason": None,
        "notes": "",
        "next_call_on": None,
        "script_version": None,
        "answers": {},
        **_phone_fields(phone),
    }


def call_row(call: Call, phone: dict[str, Any] | None = None) -> dict[str, Any]:
    """A typed call; ``phone``: the phone system's fields of the call it records."""
    return {
        "id": call.pk,
        "case": call.case_id,
        "called_at": call.called_at,
        "manager": _login(call.manager) if call.manager_id else None,
        "outcome": call.outcome,
        "reason": call.reason.code if call.reason_id else None,
        "notes": call.notes,
        "next_call_on": call.next_call_on,
        "script_version": call.script_version_id,
        "answers": call.answers or {},
        **_phone_fields(phone),
    }


def case_offers(case: Case) -> list[dict[str, Any]]:
    offers = Offer.objects.filter(case=case).select_related("client").order_by("-issued_on", "-pk")
    return [
        {
            "code": offer.code,
            "client": offer.client.external_id,
            "kind": offer.kind,
            "value": offer.value,
            "status": offer.status,
            "issued_on": offer.issued_on,
            "expires_on": offer.expires_on,
            "redeemed_on": offer.redeemed_on,
        }
        for offer in offers
    ]
