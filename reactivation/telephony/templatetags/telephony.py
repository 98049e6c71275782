from __future__ import annotations

from typing import Any

from django import template

from reactivation.telephony.selectors import case_phone_panel

register = template.Library()


@register.simple_tag(takes_context=True)
def phone_panel(context: Any, case: Any) -> dict[str, Any]:
    """The case page's phone panel (the call button, the calls, their recordings), read once per
    request: the button and the calls are two includes, and each include renders in a render
    context of its own, so the request keeps it."""
    request = context["request"]
    panels = getattr(request, "_phone_panels", None)
    if panels is None:
        panels = request._phone_panels = {}
    if case.pk not in panels:
        panels[case.pk] = case_phone_panel(case=case, user=request.user)
    return panels[case.pk]
