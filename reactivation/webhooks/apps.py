from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    """Webhooks out: events written to an outbox with the change, sent signed by the worker."""

    name = "reactivation.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from reactivation.webhooks import outbox
        from reactivation.webhooks.models import Endpoint

        def forget(**_kwargs) -> None:
            outbox.subscribers_changed()

        post_save.connect(forget, sender=Endpoint, dispatch_uid="webhooks_endpoint_saved")
        post_delete.connect(forget, sender=Endpoint, dispatch_uid="webhooks_endpoint_deleted")
