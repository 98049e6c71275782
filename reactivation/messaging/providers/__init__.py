"""Message providers, one module each, behind ``base.Provider``.

Which provider a channel uses comes from the environment: ``SMS_PROVIDER`` (console, smsru,
smsc, smsaero) for SMS; Django's ``EMAIL_BACKEND`` for e-mail; Telegram when
``TELEGRAM_BOT_TOKEN`` is set, else the console.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from reactivation.messaging.models import MESSAGE_CHANNELS, Channel
from reactivation.messaging.providers.base import Provider
from reactivation.messaging.providers.console import ConsoleProvider
from reactivation.messaging.providers.email import EmailProvider
from reactivation.messaging.providers.smsaero import SmsAeroProvider
from reactivation.messaging.providers.smsc import SmscProvider
from reactivation.messaging.providers.smsru import SmsRuProvider
from reactivation.messaging.providers.telegram import TelegramProvider
from reactivation.messaging.selectors import callback_token, callback_url

PROVIDERS: dict[str, type[Provider]] = {
    cls.name: cls
    for cls in (
        ConsoleProvider,
        SmsRuProvider,
        SmscProvider,
        SmsAeroProvider,
        EmailProvider,
        TelegramProvider,
    )
}
SMS_PROVIDERS = ("console", "smsru", "smsc", "smsaero")


def provider_name_for(channel: str) -> str:
    if channel == "sms":
        return settings.SMS_PROVIDER
    if channel == "email":
        return "email"
    if channel == "telegram":
        return "telegram" if settings.TELEGRAM_BOT_TOKEN else "console"
    return "console"


def get_provider(name: str) -> Provider:
    try:
        return PROVIDERS[name]()
    except KeyError:
        raise LookupError(f"unknown message provider {name!r}") from None


@dataclass(frozen=True)
class ProviderInUse:
    channel: str
    provider: str
    callback_url: str  # where the provider posts its reports; empty where none is needed


def providers_in_use() -> list[ProviderInUse]:
    """Each channel's provider from the environment and the URL to give it for callbacks."""
    rows = []
    for channel in MESSAGE_CHANNELS:
        name = provider_name_for(channel)
        url = ""
        if channel == Channel.SMS and name != "console":
            url = callback_url(name)
        elif channel == Channel.TELEGRAM and name == "telegram":
            secret = settings.TELEGRAM_WEBHOOK_SECRET or callback_token("telegram")
            url = settings.MESSAGES_PUBLIC_URL.rstrip("/") + reverse(
                "messaging_telegram", args=[secret]
            )
        rows.append(ProviderInUse(str(Channel(channel).label), name, url))
    return rows
