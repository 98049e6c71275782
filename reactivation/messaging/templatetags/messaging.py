"""The messaging panels other pages include: the case's send panel and the client's consents."""

from __future__ import annotations

from typing import Any

from django import template

from reactivation.messaging import selectors

register = template.Library()


@register.inclusion_tag("messaging/_offer_send.html", takes_context=True)
def offer_send_panel(context: Any, case: Any) -> dict:
    values = selectors.panel_context(case=case, user=context["request"].user)
    values["csrf_token"] = context.get("csrf_token")
    return values


@register.inclusion_tag("messaging/_client_consents.html")
def client_consents(client: Any) -> dict:
    return selectors.client_consents_context(client=client)
