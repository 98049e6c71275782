"""Small template helpers shared by every page: ``{% load crm %}``."""

from __future__ import annotations

from typing import Any

from django import template
from django.forms import BoundField, Field, Select, SelectMultiple
from django.forms.models import ModelChoiceIterator
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from reactivation.form_fields import ChoicesInOneQuery

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

    The choices are read once (``_choices``): a template loop over a model choice field's
    choices would count the rows first. The field's value is read once and compared as text
    with each option's value, not once per option.
    """
    current = str(field.value())
    return [(value, label, str(value) == current) for value, label in _choices(field.field)]


def _choices(field: Field) -> list[tuple[Any, Any]]:
    """The field's choices as a list; a model choice field's rows in one plain query (the
    filters' fields come with django-filter's iterator, which opens a server-side cursor)."""
    choices = field.choices
    if isinstance(choices, ModelChoiceIterator) and not isinstance(choices, ChoicesInOneQuery):
        choices = ChoicesInOneQuery(field)
    # Through iter(): list() would ask a model choice iterator its length, a COUNT query.
    return list(iter(choices))


@register.filter
def control(field: BoundField) -> SafeString:
    """The field's control with Bootstrap's classes (``is-invalid`` when it has errors), for
    ``includes/field.html``.

    A single select is drawn here from its choices, read once as in ``select_options``:
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
    choices = _choices(field.field)
    # The widget judges ``required`` from its first choice: give it the choices just read.
    widget.choices = choices
    attrs = field.build_widget_attrs({**widget.attrs, "class": css})
    attrs.setdefault("id", field.auto_id)
    current = str(field.value())
    options = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, " selected" if str(value) == current else "", label) for value, label in choices),
    )
    return format_html('<select name="{}"{}>{}</select>', field.html_name, flatatt(attrs), options)
