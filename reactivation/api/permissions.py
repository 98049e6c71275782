"""What each role's key may do. Reading is for every role (scoped by what the role sees);
writing data that other systems own (clients, transactions, redeeming codes) is for admin keys;
recording a call follows the call form's rules (its service decides who may call which case)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import permissions

from reactivation.api.models import ApiKey
from reactivation.roles import Role

MSG_ROLE = _("This API key's role may not do this.")


class _Roles(permissions.BasePermission):
    roles: frozenset[str] = frozenset()
    message = MSG_ROLE

    def has_permission(self, request: Any, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return False  # unauthenticated: DRF answers 401 (the authenticator's header)
        return key.role in self.roles


class AnyRole(_Roles):
    roles = frozenset(Role.values)


class AdminRole(_Roles):
    roles = frozenset({Role.ADMIN})
