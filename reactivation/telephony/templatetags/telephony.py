from __future__ import annotations

from typing import Any

from django import template

from reactivation.telephony.selectors import case_phone_panel

register = template.Library()


@register.simple_tag(takes_context=True)
def phone_panel(context: Any, case: Any) -> dict[str, Any]:
    """The case page's phone panel (the call button, the calls, their recordings), computed once
    per render and kept in the context for the includes that follow."""
    cache = context.render_context.setdefault("phone_panel", {})
    if case.pk not in cache:
        cache[case.pk] = case_phone_panel(case=case, user=context["request"].user)
    return cache[case.pk]
