"""The development provider: the message goes to the log, nothing leaves the machine."""

from __future__ import annotations

import logging
from typing import Any

from reactivation.messaging.providers.base import Provider, ProviderResult

logger = logging.getLogger("reactivation.messaging.console")


class ConsoleProvider(Provider):
    name = "console"

    def send(self, message: Any) -> ProviderResult:
        logger.info("%s to %s: %s", message.channel, message.to, message.text)
        return ProviderResult(provider_id=f"console-{message.pk}", status="delivered")
