from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """The API for the shop and the accounting system: keys, the endpoints, their schema."""

    name = "reactivation.api"
    label = "api"
    verbose_name = _("API")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The schema generator learns how a key is sent (Authorization: Api-Key <key>).
        from reactivation.api import schema  # noqa: F401
