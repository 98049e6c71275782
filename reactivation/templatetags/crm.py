"""Small template helpers shared by every page: ``{% load crm %}``."""

from __future__ import annotations

from typing import Any

from django import template
from django.forms import BoundField

register = template.Library()


@register.filter
def person(user: Any, empty: str = "—") -> str:
    """A user's full name, else their username; ``empty`` when there is no user."""
    if not user:
        return empty
    return user.get_full_name() or user.get_username()


@register.filter
def select_options(field: BoundField) -> list[tuple[Any, Any, bool]]:
    """The options of a filter's ``<select>`` as (value, label, selected).

    The choices are read once, so a model choice field runs its one query (a template loop
    over them would count the rows first), and the field's value is read once and compared as
    text with each option's value, not once per option.
    """
    current = str(field.value())
    return [(value, label, str(value) == current) for value, label in field.field.choices]
