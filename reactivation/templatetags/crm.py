"""Small template helpers shared by every page: ``{% load crm %}``."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def person(user: Any, empty: str = "—") -> str:
    """A user's full name, else their username; ``empty`` when there is no user."""
    if not user:
        return empty
    return user.get_full_name() or user.get_username()
