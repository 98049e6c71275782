"""The messaging panels other pages include: the case's send panel and the client's consents."""

from __future__ import annotations

import re
from typing import Any

from django import template
from django.utils.html import escape, linebreaks
from django.utils.safestring import SafeString, mark_safe

from reactivation.messaging import selectors

register = template.Library()


@register.inclusion_tag("messaging/_offer_send.html", takes_context=True)
def offer_send_panel(context: Any, case: Any) -> dict:
    page = context.get("data")
    if getattr(page, "case", None) != case:
        page = None
    values = selectors.panel_context(case=case, user=context["request"].user, page=page)
    values["csrf_token"] = context.get("csrf_token")
    return values


@register.inclusion_tag("messaging/_client_consents.html")
def client_consents(client: Any) -> dict:
    return selectors.client_consents_context(client=client)


URL_RE = re.compile(r"https?://\S+")


@register.filter
def message_text(text: str, code: str = "") -> SafeString:
    """A message as the client reads it: its lines kept, its links and the offer's code set
    apart as code."""
    html = URL_RE.sub(lambda m: f"<code>{m.group(0)}</code>", escape(text or ""))
    if code:
        html = html.replace(escape(code), f"<code>{escape(code)}</code>")
    return mark_safe(linebreaks(html))  # noqa: S308 - every part above is escaped
