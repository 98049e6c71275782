"""``Authorization: Api-Key <key>``: the key, checked against its stored hash, and who it acts as.

A key names its role and, optionally, a user. The request's user is then that user with the
key's role in place of their own (``reactivation.roles`` reads roles from ``_roles_cache``):
a manager-scoped key sees what ``Client.objects.visible_to`` and ``Case.objects.visible_to``
give that manager, whatever else the person may do in the product. A key without a user (an
owner's or admin's key for another system) acts as a ``KeyPrincipal`` of its role.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework_api_key.permissions import KeyParser

from reactivation.api.models import ApiKey
from reactivation.roles import Role, roles_of

MSG_BAD_KEY = _("The API key is not valid, or it has been revoked.")
MSG_USER_INACTIVE = _("The user this API key acts as is no longer active.")
MSG_ROLE_GONE = _("The user this API key acts as no longer holds its role.")
# How often a key's "last used" time is written: once a minute is enough to read, and keeps a
# busy key from writing its row on every request.
LAST_USED_EVERY = dt.timedelta(minutes=1)


class KeyPrincipal:
    """Who a key without a user acts as: its role, nobody's own clients."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_superuser = False
    is_staff = False
    pk = None
    id = None

    def __init__(self, key: ApiKey) -> None:
        self.username = f"api:{key.name}"
        self._roles_cache = {key.role}

    def __str__(self) -> str:
        return self.username


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Api-Key"
    parser = KeyParser()

    def authenticate(self, request: Any) -> tuple[Any, ApiKey] | None:
        raw = self.parser.get_from_authorization(request)
        if raw is None:
            return None  # no key: the permission check answers 401
        try:
            key = ApiKey.objects.get_from_key(raw.strip())
        except ApiKey.DoesNotExist:
            raise exceptions.AuthenticationFailed(MSG_BAD_KEY) from None
        if key.has_expired:
            raise exceptions.AuthenticationFailed(MSG_BAD_KEY)
        if key.user is not None:
            if not key.user.is_active:
                raise exceptions.AuthenticationFailed(MSG_USER_INACTIVE)
            held = roles_of(key.user)
            if key.role not in held and Role.ADMIN not in held:
                # The user no longer holds the role the key was made for (as when it was made,
                # an admin's user may hold any).
                raise exceptions.AuthenticationFailed(MSG_ROLE_GONE)
            principal: Any = key.user
            principal._roles_cache = {key.role}  # acts as the key's role, not all of theirs
        else:
            principal = KeyPrincipal(key)
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_EVERY:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return principal, key

    def authenticate_header(self, request: Any) -> str:
        return self.keyword
