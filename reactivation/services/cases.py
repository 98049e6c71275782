"""Who works which case: claiming from the pool, the weekly assignment, reassigning, handing
cases back when a manager leaves, and closing a case by hand or on a purchase.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from reactivation.models import BusinessSettings, Case
from reactivation.roles import Role
from reactivation.webhooks import outbox

ERR_ALREADY_CLAIMED = _("Another manager has just taken this case.")
ERR_CASE_CLOSED = _("This case is already closed.")
ERR_CONTROL_CASE = _("Control-group cases are not called.")
ERR_NOT_A_MANAGER = _("Cases can only be given to an active manager.")
ERR_CLOSE_STATUS = _("A case can be closed by hand only as declined.")
ERR_WIN_NEEDS_PURCHASE = _(
    "A case is won back only by a purchase: the client's next purchase closes it as won back."
)
ERR_NOTHING_SELECTED = _("Select at least one case.")


class CaseError(Exception):
    """A case action that cannot be done; ``message`` is shown to the user."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


def active_managers() -> list[Any]:
    """Active users with the manager role, in a stable order."""
    User = get_user_model()
    return list(
        User.objects.filter(groups__name=Role.MANAGER, is_active=True).order_by("id").distinct()
    )


def is_assignment_day(as_of: dt.date) -> bool:
    """Whether ``as_of`` (a business-timezone date) is the configured weekly assignment day."""
    return as_of.weekday() == BusinessSettings.load().assignment_weekday


def _check_manager(manager: Any) -> None:
    if (
        manager is None
        or not manager.is_active
        or not manager.groups.filter(name=Role.MANAGER).exists()
    ):
        raise CaseError(ERR_NOT_A_MANAGER)


def _record_assignment(case_ids: list[int], *, user: Any = None, reason: str = "") -> None:
    """Write audit-history rows for cases whose assignment changed by a set-wise UPDATE
    (which the history's save signal does not see). The user is the one given, else the
    request's user (recorded by the history middleware), else none (a scheduled task)."""
    if not case_ids:
        return
    if user is None:
        request = getattr(HistoricalRecords.context, "request", None)
        request_user = getattr(request, "user", None)
        user = request_user if getattr(request_user, "is_authenticated", False) else None
    Case.history.bulk_history_create(
        list(Case.objects.filter(pk__in=case_ids)),
        update=True,
        default_user=user,
        default_change_reason=reason[:100] or None,
    )


@transaction.atomic
def case_claim(*, case_id: int, user: Any, today: dt.date | None = None) -> Case:
    """Take an unassigned case from the pool.

    A compare-and-set: the UPDATE only matches while the case is still open and unassigned, so
    of two managers claiming at the same moment exactly one changes the row; the other gets
    ``ERR_ALREADY_CLAIMED``.
    """
    today = today or timezone.localdate()
    changed = Case.objects.filter(
        pk=case_id, assigned_to__isnull=True, status=Case.Status.OPEN, is_control=False
    ).update(assigned_to=user, assigned_on=today)
    case = Case.objects.get(pk=case_id)
    if changed == 1:
        _record_assignment([case_id], user=user)
        return case
    if not case.is_open:
        raise CaseError(ERR_CASE_CLOSED)
    if case.is_control:
        raise CaseError(ERR_CONTROL_CASE)
    if case.assigned_to_id == getattr(user, "pk", None):
        return case
    raise CaseError(ERR_ALREADY_CLAIMED)


@transaction.atomic
def case_assign(*, case: Case, manager: Any, today: dt.date | None = None) -> Case:
    """Give one open case to ``manager`` (an admin's decision)."""
    _check_manager(manager)
    if not case.is_open:
        raise CaseError(ERR_CASE_CLOSED)
    if case.is_control:
        raise CaseError(ERR_CONTROL_CASE)
    case.assigned_to = manager
    case.assigned_on = today or timezone.localdate()
    case.save(update_fields=["assigned_to", "assigned_on", "updated_at"])
    return case


@transaction.atomic
def cases_reassign(
    *,
    case_ids: Iterable[int],
    manager: Any | None,
    today: dt.date | None = None,
    actor: Any = None,
    reason: str = "",
) -> int:
    """Give many open cases to ``manager`` (None: back to the pool). Returns the cases moved."""
    ids = list(case_ids)
    if not ids:
        raise CaseError(ERR_NOTHING_SELECTED)
    if manager is not None:
        _check_manager(manager)
    movable = Case.objects.filter(pk__in=ids, status=Case.Status.OPEN, is_control=False)
    moved_ids = list(movable.values_list("pk", flat=True))
    moved = movable.update(
        assigned_to=manager, assigned_on=(today or timezone.localdate()) if manager else None
    )
    _record_assignment(moved_ids, user=actor, reason=reason)
    if manager is None:
        # Back to the pool: claimable by any manager, so the clients lose their manager.
        _clients_follow(moved_ids, manager=None, user=actor, reason=reason)
    return moved


@transaction.atomic
def manager_release_cases(*, manager: Any, actor: Any = None, reason: str = "") -> int:
    """A manager who leaves hands their open cases back to the pool. Returns how many.

    Their clients of those cases go too (``_clients_follow``): a pool case of a client who
    still has a manager is that manager's alone, so without this no colleague could claim it.
    """
    held = Case.objects.filter(assigned_to=manager, status=Case.Status.OPEN)
    held_ids = list(held.values_list("pk", flat=True))
    released = held.update(assigned_to=None, assigned_on=None)
    _record_assignment(held_ids, user=actor, reason=reason)
    _clients_follow(held_ids, manager=None, user=actor, reason=reason)
    return released


def manager_hand_over_clients(
    *, case_ids: list[int], manager: Any, to: Any, actor: Any = None, reason: str = ""
) -> None:
    """After a leaving manager's cases went to ``to``: the clients of those cases that were
    theirs become ``to``'s, so the new manager sees the client card and gets the client's
    next case at the weekly assignment."""
    _clients_follow(case_ids, manager=to, previous=manager, user=actor, reason=reason)


def _clients_follow(
    case_ids: list[int],
    *,
    manager: Any,
    previous: Any = None,
    user: Any = None,
    reason: str = "",
) -> None:
    """The clients of cases given back to the pool (``manager`` None) lose their manager; the
    clients of cases handed to another manager whose manager was ``previous`` get the new one.
    The pool rule lets a manager claim only cases of clients without a manager or of their
    own, and the client card follows the same rule. One UPDATE, with the clients' history rows
    written as for the cases."""
    if not case_ids:
        return
    from clients.models import Client

    clients = Client.objects.filter(cases__pk__in=case_ids, manager__isnull=False)
    if previous is not None:
        clients = clients.filter(manager=previous)
    client_ids = list(clients.values_list("pk", flat=True).distinct())
    if not client_ids:
        return
    Client.objects.filter(pk__in=client_ids).update(manager=manager)
    if user is None:
        request = getattr(HistoricalRecords.context, "request", None)
        request_user = getattr(request, "user", None)
        user = request_user if getattr(request_user, "is_authenticated", False) else None
    Client.history.bulk_history_create(
        list(Client.objects.filter(pk__in=client_ids)),
        update=True,
        default_user=user,
        default_change_reason=reason[:100] or None,
    )


@dataclass
class AssignmentResult:
    as_of: dt.date
    to_own_manager: int = 0
    balanced: int = 0
    per_manager: dict[int, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.to_own_manager + self.balanced


@transaction.atomic
def cases_assign_week(*, as_of: dt.date) -> AssignmentResult:
    """Assign the week's new cases (unassigned, open, not control, opened by ``as_of``).

    1. A case whose client has their own active manager goes to that manager.
    2. The rest go, best potential first, each to the manager with the fewest open cases at
       that moment (ties: the lower user id), so the load evens out.
    3. One UPDATE per manager writes the result; the candidate rows are locked first
       (skipping rows a claim is changing) so a pool claim during the run is never overwritten.
    """
    result = AssignmentResult(as_of=as_of)
    managers = active_managers()
    if not managers:
        return result
    manager_ids = {m.pk for m in managers}
    candidates = list(
        Case.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(
            status=Case.Status.OPEN,
            is_control=False,
            assigned_to__isnull=True,
            opened_on__lte=as_of,
        )
        .order_by("abc_class", "-priority", "-potential_value", "id")
        .values_list("id", "client__manager_id")
    )
    if not candidates:
        return result
    load = dict.fromkeys(manager_ids, 0)
    for row in (
        Case.objects.filter(status=Case.Status.OPEN, assigned_to__in=manager_ids)
        .values("assigned_to")
        .annotate(n=Count("id"))
    ):
        load[row["assigned_to"]] = row["n"]

    chosen: dict[int, list[int]] = defaultdict(list)
    rest = []
    for case_id, own_manager in candidates:
        if own_manager in manager_ids:
            chosen[own_manager].append(case_id)
            load[own_manager] += 1
            result.to_own_manager += 1
        else:
            rest.append(case_id)
    heap = [(n, manager_id) for manager_id, n in load.items()]
    heapq.heapify(heap)
    for case_id in rest:
        n, manager_id = heapq.heappop(heap)
        chosen[manager_id].append(case_id)
        heapq.heappush(heap, (n + 1, manager_id))
        result.balanced += 1
    for manager_id, ids in chosen.items():
        Case.objects.filter(pk__in=ids).update(assigned_to_id=manager_id, assigned_on=as_of)
        result.per_manager[manager_id] = len(ids)
        _record_assignment(ids)
    return result


def _last_call_credit(case: Case) -> tuple[int | None, int | None, int | None]:
    """(manager id, script version id, reason id) to credit a win to, from the case's calls."""
    from calls.models import Call

    calls = Call.objects.filter(case=case).order_by("-called_at", "-id")
    last = calls.values_list("manager_id", "script_version_id").first()
    reason = calls.filter(reason__isnull=False).values_list("reason_id", flat=True).first()
    manager_id, version_id = last if last else (None, None)
    return manager_id or case.assigned_to_id, version_id, reason


@transaction.atomic
def case_close(
    *, case: Case, status: str, by: Any, note: str = "", today: dt.date | None = None
) -> Case:
    """Close an open case by hand, as declined.

    Never as won back: a client is won back when they buy, and their purchase closes the case
    (``case_win_back_on_purchase``, and the nightly run for imported purchases).
    """
    if status == Case.Status.WON_BACK:
        raise CaseError(ERR_WIN_NEEDS_PURCHASE)
    if status != Case.Status.DECLINED:
        raise CaseError(ERR_CLOSE_STATUS)
    today = today or timezone.localdate()
    changed = Case.objects.filter(pk=case.pk, status=Case.Status.OPEN).update(
        status=status, closed_on=max(today, case.opened_on), close_note=note, next_call_on=None
    )
    if changed != 1:
        raise CaseError(ERR_CASE_CLOSED)
    case.refresh_from_db()
    return outbox.case_closed(case)


@transaction.atomic
def case_win_back_on_purchase(*, transaction_row: Any) -> Case | None:
    """A purchase while a case is open closes it as won back and credits the manager who
    worked it, the script version of the last call and the reason the client gave.

    The nightly pipeline does the same set-wise; this is the single-purchase path (a redeemed
    code, a purchase recorded by hand). Returns the case closed, or None.
    """
    if transaction_row.amount <= 0:
        return None
    case = (
        Case.objects.select_for_update()
        .filter(
            client_id=transaction_row.client_id,
            status=Case.Status.OPEN,
            opened_on__lte=transaction_row.date,
        )
        .filter(Q(is_control=False))
        .first()
    )
    if case is None:
        return None
    manager_id, version_id, reason_id = _last_call_credit(case)
    Case.objects.filter(pk=case.pk, status=Case.Status.OPEN).update(
        status=Case.Status.WON_BACK,
        closed_on=transaction_row.date,
        next_call_on=None,
        won_transaction=transaction_row,
        credited_manager_id=manager_id,
        credited_script_version_id=version_id,
        credited_reason_id=reason_id,
    )
    case.refresh_from_db()
    return outbox.case_closed(case)
