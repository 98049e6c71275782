"""Form fields shared by the product's forms."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import django_filters
from django import forms
from django.forms.models import ModelChoiceIterator
from django_filters import fields as filter_fields


class ChoicesInOneQuery(ModelChoiceIterator):
    """A model choice field's options, read with one plain query.

    Django's own iterator reads them with ``QuerySet.iterator()``, which on PostgreSQL opens a
    server-side cursor: three round trips (declare, fetch, close) for a list of a few rows,
    and outside a transaction a cursor ``WITH HOLD`` that the server copies out at once. On
    the case page that was the slowest part of drawing the call form.
    """

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset.all():
            yield self.choice(obj)


class ModelChoiceField(forms.ModelChoiceField):
    iterator = ChoicesInOneQuery


class FilterChoicesInOneQuery(filter_fields.ModelChoiceIterator, ChoicesInOneQuery):
    """django-filter's iterator (it adds the "none" choice) over the one-query read."""


class FilterModelChoiceField(filter_fields.ModelChoiceField):
    iterator = FilterChoicesInOneQuery


class ModelChoiceFilter(django_filters.ModelChoiceFilter):
    """A filter on a related row whose select reads its choices in one plain query."""

    field_class = FilterModelChoiceField
