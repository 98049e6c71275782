from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReactivationConfig(AppConfig):
    name = "reactivation"
    verbose_name = _("Reactivation")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from reactivation.bootstrap import ensure_roles_and_defaults

        # After the permissions exist (auth's handler runs for every app before ours is
        # called with sender=self), keep the roles and defaults that every page needs.
        post_migrate.connect(ensure_roles_and_defaults, sender=self)
