"""Admin writes: policies, business settings, users and roles, weekly plans, and the deletion of
clients and transactions (the only deletions in the product, each recorded in the audit history).

Every row these functions change carries ``history = HistoricalRecords()``, so the audit page
shows who changed what, when, before and after. Outside a request (a command, a test) the
acting user is passed in and set on the row, because the history middleware is not there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clients import stats
from clients.models import Client, Transaction
from reactivation.models import BusinessSettings, Case, Policy, WeeklyPlan
from reactivation.roles import Role

User = get_user_model()

ERR_CONFIRM_MISMATCH = _("Type the client’s external id exactly to confirm the deletion.")
ERR_LAST_ADMIN = _("This is the last active administrator: give the role to someone else first.")
ERR_NOT_MANAGER = _("Weekly plans are set for managers only.")
ERR_USERNAME_TAKEN = _("A user with this name already exists.")
REASON_TRANSACTION_DELETED = _(
    "Transaction deleted: %(date)s, %(amount)s (id %(id)s, %(identity)s)"
)
REASON_BASELINE = _("State before the first recorded change")
REASON_HANDED_OVER = _("Handed over: the manager left")
REASON_CLIENT_DELETED = _("Client deleted with %(transactions)s transactions and %(cases)s cases")


def _as(row: Any, user: Any) -> Any:
    if user is not None and getattr(user, "is_authenticated", False):
        row._history_user = user
    return row


def _baseline(row: Any) -> None:
    """Rows made outside the ORM's save (the default policy and the business settings come from
    a migration; imports insert in bulk) have no history yet. Record their stored state once
    before the first change, so the audit can show that change's "before"."""
    model = type(row)
    if row.pk is None or model.history.filter(id=row.pk).exists():
        return
    stored = model.objects.filter(pk=row.pk).first()
    if stored is not None:
        model.history.bulk_history_create(
            [stored], default_change_reason=str(REASON_BASELINE)[:100]
        )


def _today() -> dt.date:
    return timezone.localdate()


def _policy_client_ids(policy: Policy) -> list[int] | None:
    """The clients a policy judges: its segment's; for the default policy None (every client:
    re-judging a client whose segment has its own policy changes nothing)."""
    if policy.segment_id:
        return list(
            Client.objects.filter(segment_id=policy.segment_id).values_list("pk", flat=True)
        )
    return None


@transaction.atomic
def policy_save(*, policy: Policy, user: Any, as_of: dt.date | None = None) -> Policy:
    """Validate and save a policy, then re-judge its clients (cycle, status, ``due_on``) so the
    statuses on every page follow the new thresholds at once. Opens no cases: the nightly run
    does that."""
    policy.full_clean()
    _baseline(policy)
    _as(policy, user).save()
    stats.restatus_sql(client_ids=_policy_client_ids(policy), as_of=as_of or _today())
    return policy


@transaction.atomic
def business_settings_save(*, settings_row: BusinessSettings, user: Any) -> BusinessSettings:
    settings_row.full_clean()
    _baseline(settings_row)
    _as(settings_row, user).save()
    return settings_row


@dataclass(frozen=True)
class UserInput:
    username: str
    first_name: str
    last_name: str
    email: str
    roles: list[str]
    is_active: bool = True


def _set_roles(user: Any, roles: Iterable[str]) -> None:
    """Give exactly these roles. Admins also get into the data administration (Django admin),
    where the admin group's permissions decide what they may touch."""
    wanted = set(roles) & set(Role.values)
    staff = Role.ADMIN in wanted or user.is_superuser
    if user.is_staff != staff:
        user.is_staff = staff
        user.save(update_fields=["is_staff"])
    groups = {group.name: group for group in Group.objects.filter(name__in=Role.values)}
    user.groups.remove(*[groups[name] for name in set(Role.values) - wanted if name in groups])
    user.groups.add(*[groups[name] for name in wanted if name in groups])
    user._roles_cache = None


def _active_admins_except(user: Any) -> int:
    return (
        User.objects.filter(is_active=True)
        .filter(groups__name=Role.ADMIN)
        .exclude(pk=user.pk)
        .distinct()
        .count()
        + User.objects.filter(is_active=True, is_superuser=True).exclude(pk=user.pk).count()
    )


@transaction.atomic
def user_create(*, data: UserInput, password: str) -> Any:
    if User.objects.filter(username__iexact=data.username).exists():
        raise ValidationError({"username": ERR_USERNAME_TAKEN})
    user = User(
        username=data.username,
        first_name=data.first_name,
        last_name=data.last_name,
        email=data.email,
        is_active=data.is_active,
    )
    validate_password(password, user)
    user.set_password(password)
    user.save()
    _set_roles(user, data.roles)
    return user


@transaction.atomic
def user_update(*, user: Any, data: UserInput, acting_user: Any, hand_over_to: Any = None) -> Any:
    """Change a user's details, roles and whether they may log in.

    A manager who is deactivated or loses the manager role hands their open cases to
    ``hand_over_to`` or, without one, back to the pool, so no client waits on someone who no
    longer calls. The last active administrator cannot remove their own access.
    """
    was_admin = user.is_active and (
        user.is_superuser or user.groups.filter(name=Role.ADMIN).exists()
    )
    stays_admin = data.is_active and (user.is_superuser or Role.ADMIN in data.roles)
    if was_admin and not stays_admin and _active_admins_except(user) == 0:
        raise ValidationError(ERR_LAST_ADMIN)
    was_manager = user.is_active and user.groups.filter(name=Role.MANAGER).exists()
    user.first_name, user.last_name, user.email = data.first_name, data.last_name, data.email
    user.is_active = data.is_active
    user.save(update_fields=["first_name", "last_name", "email", "is_active"])
    _set_roles(user, data.roles)
    if was_manager and not (data.is_active and Role.MANAGER in data.roles):
        manager_hand_over(manager=user, to=hand_over_to, acting_user=acting_user)
    return user


@transaction.atomic
def manager_hand_over(*, manager: Any, to: Any | None, acting_user: Any) -> int:
    """Hand a leaving manager's open cases to ``to`` (None: the unassigned pool); the clients
    of those cases go with them (to ``to``, or to no manager, so that a colleague can claim
    them from the pool).

    The case services move the cases with one UPDATE and write their history rows, so the
    audit shows each case's assignment before and after, and who did it. Returns how many
    cases moved.
    """
    from reactivation.services.cases import (
        CaseError,
        cases_reassign,
        manager_hand_over_clients,
        manager_release_cases,
    )

    ids = list(
        Case.objects.filter(assigned_to=manager, status=Case.Status.OPEN).values_list(
            "pk", flat=True
        )
    )
    if not ids:
        return 0
    if to is not None:
        try:
            moved = cases_reassign(
                case_ids=ids, manager=to, actor=acting_user, reason=str(REASON_HANDED_OVER)
            )
        except CaseError as error:
            raise ValidationError(error.message) from error
        manager_hand_over_clients(
            case_ids=ids, manager=manager, to=to, actor=acting_user, reason=str(REASON_HANDED_OVER)
        )
    else:
        moved = manager_release_cases(
            manager=manager, actor=acting_user, reason=str(REASON_HANDED_OVER)
        )
    return moved


@transaction.atomic
def user_set_password(*, user: Any, password: str) -> Any:
    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


@transaction.atomic
def weekly_plan_set(
    *, manager: Any, calls: int, reached: int, offers: int, wins: int, user: Any
) -> WeeklyPlan:
    if not manager.groups.filter(name=Role.MANAGER).exists():
        raise ValidationError(ERR_NOT_MANAGER)
    plan = WeeklyPlan.objects.select_for_update().filter(manager=manager).first() or WeeklyPlan(
        manager=manager
    )
    plan.calls, plan.reached, plan.offers, plan.wins = calls, reached, offers, wins
    plan.full_clean()
    _baseline(plan)
    _as(plan, user).save()
    return plan


@transaction.atomic
def transaction_delete(
    *, transaction_row: Transaction, user: Any, as_of: dt.date | None = None
) -> Client:
    """Delete one transaction and bring its client's statistics up to date.

    1. lock the client row, so a concurrent import cannot recompute it half-way;
    2. delete the transaction;
    3. recompute the client's aggregates, cycle, status and ``due_on``;
    4. write a history row on the client saying which transaction went, and by whom.
    """
    client = Client.objects.select_for_update().get(pk=transaction_row.client_id)
    _baseline(client)
    description = REASON_TRANSACTION_DELETED % {
        "date": transaction_row.date.isoformat(),
        "amount": transaction_row.amount,
        "id": transaction_row.external_id or "—",
        "identity": transaction_row.identity,
    }
    transaction_row.delete()
    stats.refresh_clients(client_ids=[client.pk], as_of=as_of or _today())
    client.refresh_from_db()
    client._change_reason = str(description)[:100]
    _as(client, user).save(update_fields=["updated_at"])
    return client


@transaction.atomic
def client_delete(*, client: Client, user: Any, confirm: str) -> None:
    """Delete a client with their transactions, cases, offers and calls.

    ``confirm`` must repeat the client's external id: a deletion is never one stray click. The
    deletion of the client and of each case lands in the audit history with the acting user.
    """
    if (confirm or "").strip() != client.external_id:
        raise ValidationError({"confirm": ERR_CONFIRM_MISMATCH})
    reason = str(
        REASON_CLIENT_DELETED
        % {"transactions": client.transactions.count(), "cases": client.cases.count()}
    )[:100]
    for case in client.cases.all():
        _as(case, user)._change_reason = reason
        case.delete()
    for offer in client.offers.all():
        _as(offer, user).delete()
    client._change_reason = reason
    _as(client, user).delete()
