"""Delivery: a thin Celery wrapper over ``services.message_deliver``.

Enqueued after the commit that wrote the message. Transient errors (the network, a 5xx, a rate
limit) are retried with backoff; a 4xx or a provider's refusal fails the message at once. The
claim in the service makes a second delivery of the same task a no-op.
"""

from __future__ import annotations

from celery import shared_task

from reactivation.messaging import services
from reactivation.messaging.providers.base import TransientProviderError

MAX_RETRIES = services.DELIVERY_RETRIES


@shared_task(
    bind=True,
    name="messaging.deliver",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(TransientProviderError,),
    retry_backoff=30,
    retry_backoff_max=1800,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
    time_limit=120,
    soft_time_limit=100,
)
def message_deliver_task(self, message_id: int) -> str:
    return services.message_deliver(
        message_id=message_id, last_attempt=self.request.retries >= MAX_RETRIES
    )
