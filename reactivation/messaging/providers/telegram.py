"""Telegram Bot API (https://core.telegram.org/bots/api): ``POST /bot<token>/sendMessage`` with
``chat_id`` and ``text``; the answer is ``{"ok": true, "result": {"message_id": ...}}`` or
``{"ok": false, "error_code": ..., "description": ...}``. A bot cannot write first: a client
links a chat by opening ``https://t.me/<bot>?start=<token>``, which reaches the webhook as
``/start <token>``. Telegram has no delivery reports: a message it accepted is sent.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

from reactivation.messaging.providers.base import (
    InboundReply,
    PermanentProviderError,
    Provider,
    ProviderResult,
    StatusReport,
    TransientProviderError,
    http_request,
    json_of,
)

DEFAULT_BASE_URL = "https://api.telegram.org"


def api_url(method: str) -> str:
    base = (settings.TELEGRAM_BASE_URL or DEFAULT_BASE_URL).rstrip("/")
    return f"{base}/bot{settings.TELEGRAM_BOT_TOKEN}/{method}"


class TelegramProvider(Provider):
    name = "telegram"
    channel = "telegram"

    def send(self, message: Any) -> ProviderResult:
        payload = {"chat_id": int(message.to), "text": message.text}
        response = http_request("POST", api_url("sendMessage"), json=payload)
        body = json_of(response)
        if not body.get("ok"):
            reason = f"Telegram {body.get('error_code', response.status_code)}: {body.get('description', '')}"
            if (body.get("error_code") or 0) == 429:
                raise TransientProviderError(reason)
            raise PermanentProviderError(reason)
        result = body.get("result") or {}
        return ProviderResult(provider_id=f"{message.to}:{result.get('message_id', '')}")

    def parse_status(self, request: Any) -> list[StatusReport | InboundReply]:
        """The text a client wrote to the bot (an Update), as a reply from their chat."""
        try:
            update = json.loads(request.body or b"{}")
        except ValueError:
            return []
        message = update.get("message") or update.get("edited_message") or {}
        chat = message.get("chat") or {}
        if "id" not in chat or not isinstance(message.get("text"), str):
            return []
        return [InboundReply(str(chat["id"]), message["text"])]
