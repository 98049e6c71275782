"""What the reactivation side keeps in step with the clients' side."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from clients.models import Client
from reactivation.services.case_segments import copy_client_segments


@receiver(post_save, sender=Client, dispatch_uid="reactivation.case_segments")
def case_segments(
    sender: type[Client],
    instance: Client,
    created: bool,
    raw: bool,
    update_fields: Any = None,
    **kwargs: Any,
) -> None:
    """A saved client's cases take its segment (a new client has no case yet; a save of other
    fields leaves the segment as it was)."""
    if created or raw or (update_fields is not None and "segment" not in update_fields):
        return
    copy_client_segments(client_ids=[instance.pk])
