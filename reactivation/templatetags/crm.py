"""Small template helpers shared by every page: ``{% load crm %}``."""

from __future__ import annotations

from typing import Any

from django import template
from django.forms import BoundField, Select, SelectMultiple
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from clients.search import format_phone

register = template.Library()


@register.filter
def phone(value: str) -> str:
    """A stored (E.164) phone as people read it: +7 912 345-67-89."""
    return format_phone(value or "")


@register.filter
def person(user: Any, empty: str = "—") -> str:
    """A user's full name, else their username; ``empty`` when there is no user."""
    if not user:
        return empty
    return user.get_full_name() or user.get_username()


@register.filter
def select_options(field: BoundField) -> list[tuple[Any, Any, bool]]:
    """The options of a ``<select>`` as (value, label, selected).

    The choices are read once, through ``iter()``: a template loop over a model choice
    field's choices, or ``list()``, would count the rows first (model choice fields read their
    rows in one query: ``reactivation.form_fields``). The field's value is read once and
    compared as text with each option's value, not once per option.
    """
    current = str(field.value())
    return [(value, label, str(value) == current) for value, label in iter(field.field.choices)]


@register.filter
def control(field: BoundField) -> SafeString:
    """The field's control with Bootstrap's classes (``is-invalid`` when it has errors), for
    ``includes/field.html``.

    A single select is drawn here from its choices (``select_options``):
    Django's widget templates spent a millisecond or more on each select of the case page.
    Every other widget is drawn by its own template.
    """
    widget = field.field.widget
    is_select = isinstance(widget, Select) and not isinstance(widget, SelectMultiple)
    css = "form-select" if is_select else "form-control"
    if field.errors:
        css += " is-invalid"
    if not is_select:
        return field.as_widget(attrs={"class": css})
    options = select_options(field)
    # The widget judges ``required`` from its first choice: give it the choices just read.
    widget.choices = [(value, label) for value, label, _selected in options]
    attrs = field.build_widget_attrs({**widget.attrs, "class": css})
    attrs.setdefault("id", field.auto_id)
    html = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, " selected" if selected else "", label) for value, label, selected in options),
    )
    return format_html('<select name="{}"{}>{}</select>', field.html_name, flatatt(attrs), html)
