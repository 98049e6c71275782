"""A call recorded on the call form is linked to the phone call it records."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from calls.models import Call
from reactivation.telephony.services import phone_call_link


@receiver(post_save, sender=Call, dispatch_uid="telephony_link_call")
def link_recorded_call(sender: Any, instance: Call, created: bool, **kwargs: Any) -> None:
    if created and not kwargs.get("raw"):
        transaction.on_commit(lambda: phone_call_link(call=instance))
