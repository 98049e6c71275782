"""Roles: manager, owner and admin, kept as auth groups (created by a migration).

Every view asks this module, never the groups directly, what a user may do. A superuser counts
as an admin. Scoping rows by role is the job of each model's ``visible_to`` queryset method.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _


class Role(TextChoices):
    MANAGER = "manager", _("Manager")
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Administrator")


def roles_of(user: Any) -> set[str]:
    """The roles a user holds (cached on the user object for the request)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_roles_cache", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True)) & set(Role.values)
        if user.is_superuser:
            cached.add(Role.ADMIN)
        user._roles_cache = cached
    return cached


def is_admin(user: Any) -> bool:
    return Role.ADMIN in roles_of(user)


def is_owner(user: Any) -> bool:
    """Owners and admins see the whole base and the dashboards."""
    return bool(roles_of(user) & {Role.OWNER, Role.ADMIN})


def is_manager(user: Any) -> bool:
    return Role.MANAGER in roles_of(user)


def sees_everything(user: Any) -> bool:
    return is_owner(user)


def primary_role(user: Any) -> str | None:
    """The role whose home page the user lands on: admin, then owner, then manager."""
    roles = roles_of(user)
    for role in (Role.ADMIN, Role.OWNER, Role.MANAGER):
        if role in roles:
            return role
    return None


def role_required(*allowed: str) -> Callable:
    """Log-in required, then one of ``allowed`` roles, else 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not roles_of(request.user) & set(allowed):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


admin_required = role_required(Role.ADMIN)
owner_required = role_required(Role.OWNER, Role.ADMIN)
member_required = role_required(Role.MANAGER, Role.OWNER, Role.ADMIN)
