from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "reactivation.messaging"
    label = "messaging"
    verbose_name = _("Messages and consent")

    def ready(self) -> None:
        # E-mail delivery and bounce events arrive through anymail's tracking webhooks.
        from reactivation.messaging import receivers  # noqa: F401
