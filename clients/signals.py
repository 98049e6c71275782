"""Every client has a statistics row: the ORM's way of creating a client makes it here.

Set-wise inserts of clients (imports, the demo's bulk creation) get theirs from the refresh or
rebuild that follows them: ``clients.stats`` writes the row of any client that has none.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from clients.models import Client, ClientStats


@receiver(post_save, sender=Client, dispatch_uid="clients.client_stats_row")
def client_stats_row(
    sender: type[Client], instance: Client, created: bool, raw: bool, **kwargs: Any
) -> None:
    if created and not raw:
        # A new client has no row yet.
        ClientStats.objects.create(client=instance, segment_id=instance.segment_id)
