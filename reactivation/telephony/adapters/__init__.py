"""One adapter per phone system, behind the interface of ``base.Adapter``."""

from __future__ import annotations

from reactivation.telephony.adapters.base import (
    Adapter,
    AdapterConfig,
    CallEvent,
    OriginateError,
    OriginateResult,
    WebhookRequest,
)
from reactivation.telephony.adapters.generic import GenericAdapter
from reactivation.telephony.adapters.mango import MangoAdapter
from reactivation.telephony.adapters.zadarma import ZadarmaAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    "zadarma": ZadarmaAdapter,
    "mango": MangoAdapter,
    "generic": GenericAdapter,
}


def adapter_for(config: AdapterConfig) -> Adapter:
    return ADAPTERS[config.provider](config)


__all__ = [
    "ADAPTERS",
    "Adapter",
    "AdapterConfig",
    "CallEvent",
    "OriginateError",
    "OriginateResult",
    "WebhookRequest",
    "adapter_for",
]
