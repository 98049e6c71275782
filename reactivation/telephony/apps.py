from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelephonyConfig(AppConfig):
    name = "reactivation.telephony"
    label = "telephony"
    verbose_name = _("Telephony")

    def ready(self) -> None:
        from reactivation.telephony import checks, receivers  # noqa: F401  (registers them)
