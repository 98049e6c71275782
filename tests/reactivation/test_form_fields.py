"""The selects of the forms and filter bars: their choices in one query, drawn as Bootstrap
controls that keep the widget's attributes and show errors."""

from __future__ import annotations

import pytest
from django.template import engines

from calls.forms import CallForm, OfferIssueForm
from calls.models import Reason
from calls.seed import seed_catalogue
from reactivation.filters import QueueFilter
from reactivation.models import Case
from tests.factories import SegmentFactory

pytestmark = pytest.mark.django_db


def _render(source: str, **context) -> str:
    return engines["django"].from_string("{% load crm %}" + source).render(context)


def test_a_model_select_reads_its_choices_in_one_query(django_assert_num_queries):
    seed_catalogue()
    form = CallForm()
    with django_assert_num_queries(1):
        choices = [choice for choice in form.fields["reason"].choices]  # as a widget reads them
    assert choices[0] == ("", form.fields["reason"].empty_label)
    assert [label for _value, label in choices[1:]] == [str(r) for r in Reason.objects.all()]


def test_the_field_include_draws_a_select_with_its_choice_attributes_and_errors(
    django_assert_num_queries,
):
    seed_catalogue()
    reason = Reason.objects.order_by("position").last()
    form = CallForm(data={"outcome": "reached", "reason": str(reason.pk), "next_call_on": "bad"})
    assert not form.is_valid()
    with django_assert_num_queries(1):
        html = _render(
            '{% include "includes/field.html" with field=f.reason %}'
            '{% include "includes/field.html" with field=f.next_call_on %}',
            f=form,
        )
    assert '<select name="reason" class="form-select" data-hotkey="r" id="id_reason">' in html
    assert f'<option value="{reason.pk}" selected>{reason.name}</option>' in html
    assert html.count(" selected") == 1
    # Another widget keeps its own template, with Bootstrap's class and the error shown.
    assert 'type="date"' in html and "form-control is-invalid" in html
    assert 'aria-invalid="true"' in html
    assert 'id="id_next_call_on_error"' in html and "Enter a valid date." in html


def test_a_required_select_with_explicit_choices_keeps_them():
    form = OfferIssueForm()
    form.fields["template"].choices = [(1, "Discount"), (2, "Gift")]
    html = _render('{% include "includes/field.html" with field=f.template %}', f=form)
    assert '<option value="1">Discount</option><option value="2">Gift</option>' in html
    assert 'Offer <span class="text-danger">*</span></label>' in html


def test_a_filter_select_reads_its_choices_in_one_query(django_assert_num_queries):
    first, second = SegmentFactory(name="Alpha"), SegmentFactory(name="Beta")
    filterset = QueueFilter({"segment": str(second.pk)}, queryset=Case.objects.all())
    with django_assert_num_queries(1):
        options = _render(
            "{% for value, label, selected in f.form.segment|select_options %}"
            "{{ value }}:{{ label }}:{{ selected }};{% endfor %}",
            f=filterset,
        )
    assert f"{first.pk}:Alpha:False;" in options and f"{second.pk}:Beta:True;" in options
