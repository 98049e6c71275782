"""API keys: hashed (only the hash is stored, by djangorestframework-api-key), named, scoped.

A key acts as its role (admin, owner or manager) and, where it names one, as its user: a
manager-scoped key sees what that manager sees and nothing else. A revoked key stays on file
(the list shows who made it and when it was last used) and never works again.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager

from reactivation.roles import Role


class ApiKeyManager(BaseAPIKeyManager):
    def get_usable_keys(self) -> models.QuerySet:
        # The key's user comes with it: every request reads both.
        return super().get_usable_keys().select_related("user")


class ApiKey(AbstractAPIKey):
    objects = ApiKeyManager()

    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acts as user"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_keys",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        constraints = [
            # ``api_key revoke NAME`` names one key: names are unique among the keys in use.
            models.UniqueConstraint(
                fields=["name"], condition=Q(revoked=False), name="apikey_active_name_unique"
            ),
            # A manager's key is that manager's: without a user it would see nobody's clients.
            models.CheckConstraint(
                condition=~Q(role=Role.MANAGER) | Q(user__isnull=False),
                name="apikey_manager_has_user",
            ),
        ]
