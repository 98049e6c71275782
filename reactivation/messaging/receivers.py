"""E-mail events from an ESP (delivered, bounced, rejected...) through anymail's tracking
webhooks, applied to the message row the ESP's message id names."""

from __future__ import annotations

from typing import Any

from anymail.signals import tracking
from django.dispatch import receiver

from reactivation.messaging import services
from reactivation.messaging.models import Channel, Message
from reactivation.messaging.providers.base import StatusReport

DELIVERED = {"delivered", "opened", "clicked"}
FAILED = {"bounced", "rejected", "failed", "complained"}


@receiver(tracking)
def email_tracking(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    if not event.message_id:
        return
    if event.event_type == "unsubscribed":
        message = Message.objects.filter(provider="email", provider_id=event.message_id).first()
        if message is not None:
            services.unsubscribe(client_id=message.client_id, channel=Channel.EMAIL)
        return
    if event.event_type in DELIVERED:
        status, reason = "delivered", ""
    elif event.event_type in FAILED:
        status = "failed"
        reason = f"{esp_name} {event.event_type}: {event.description or event.reject_reason or ''}".strip()
    else:
        return
    services.message_status_apply(
        provider="email", reports=[StatusReport(str(event.message_id), status, reason)]
    )
