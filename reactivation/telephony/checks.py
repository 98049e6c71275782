"""Start-up checks of the environment's phone system (``PHONE_*``)."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register

from reactivation.telephony.adapters import ADAPTERS


@register()
def phone_settings(app_configs: Any = None, **kwargs: Any) -> list:
    problems: list = []
    provider = settings.PHONE_PROVIDER
    if provider and provider not in ADAPTERS:
        problems.append(
            Error(
                f"PHONE_PROVIDER={provider!r} is not one of {', '.join(sorted(ADAPTERS))}",
                hint="Leave it empty for no phone system.",
                id="telephony.E001",
            )
        )
    try:
        zoneinfo.ZoneInfo(settings.PHONE_TIMEZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        problems.append(
            Error(f"PHONE_TIMEZONE={settings.PHONE_TIMEZONE!r} is no timezone", id="telephony.E002")
        )
    if provider in ADAPTERS:
        if not settings.PHONE_API_SECRET:
            problems.append(
                Warning(
                    "PHONE_PROVIDER is set without PHONE_API_SECRET: no event can be verified",
                    id="telephony.W001",
                )
            )
        if len(settings.PHONE_WEBHOOK_TOKEN) < 16:
            problems.append(
                Warning(
                    "PHONE_WEBHOOK_TOKEN is missing or shorter than 16 characters: "
                    "the webhook refuses every request until an unguessable token is set",
                    id="telephony.W002",
                )
            )
    return problems
