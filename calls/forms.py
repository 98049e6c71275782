"""The call form and the small forms of the case page and the pool."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from calls.models import Call, Reason
from calls.services import (
    ERR_CALL_BACK_DATE,
    ERR_NEXT_CALL_PAST,
    ERR_TIME_NEEDS_DATE,
    PROMISED,
    CallInput,
)
from reactivation.form_fields import ModelChoiceField
from reactivation.models import Case, OfferTemplate
from reactivation.roles import Role

ANSWER_PREFIX = "answer-"
# Keys 1..6 pick the outcome on the case page, in this order.
OUTCOME_KEYS = {outcome: str(n) for n, outcome in enumerate(Call.Outcome.values, start=1)}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M", **kwargs)


class CallForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=Call.Outcome.choices, widget=forms.RadioSelect
    )
    reason = ModelChoiceField(
        label=_("Why the client stopped buying"),
        queryset=Reason.objects.filter(active=True),
        required=False,
        empty_label=_("Not stated"),
        widget=forms.Select(attrs={"data-hotkey": "r"}),
    )
    next_call_on = forms.DateField(
        label=_("Next call on"), required=False, widget=DateInput(attrs={"data-hotkey": "d"})
    )
    next_call_time = forms.TimeField(
        label=_("at (optional)"),
        required=False,
        input_formats=["%H:%M", "%H:%M:%S"],
        widget=TimeInput(),
    )
    # No "won back" here: a client is won back by a purchase, which closes the case itself.
    close_as = forms.ChoiceField(
        label=_("Result"),
        required=False,
        widget=forms.Select(attrs={"data-hotkey": "w"}),
        choices=[
            ("", _("Keep open")),
            (PROMISED, _("Promised to buy (stays open until the purchase)")),
            (Case.Status.DECLINED, _("Close: declined")),
        ],
    )
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "data-hotkey": "m"}),
    )
    script_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def clean_next_call_on(self):
        value = self.cleaned_data.get("next_call_on")
        if value is not None and value < timezone.localdate():
            raise forms.ValidationError(ERR_NEXT_CALL_PAST)
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("outcome") == Call.Outcome.CALL_BACK and not data.get("next_call_on"):
            self.add_error("next_call_on", ERR_CALL_BACK_DATE)
        if data.get("next_call_time") and not data.get("next_call_on"):
            self.add_error("next_call_time", ERR_TIME_NEEDS_DATE)
        return data

    def answers(self) -> dict[str, str]:
        return {
            key[len(ANSWER_PREFIX) :]: value
            for key, value in self.data.items()
            if key.startswith(ANSWER_PREFIX) and isinstance(value, str) and value
        }

    def call_input(self) -> CallInput:
        data = self.cleaned_data
        return CallInput(
            outcome=data["outcome"],
            reason=data.get("reason"),
            notes=data.get("notes") or "",
            next_call_on=data.get("next_call_on"),
            next_call_time=data.get("next_call_time"),
            answers=self.answers(),
            close_as=data.get("close_as") or "",
        )


class OfferIssueForm(forms.Form):
    template = ModelChoiceField(
        label=_("Offer"),
        queryset=OfferTemplate.objects.filter(active=True),
        empty_label=None,
        widget=forms.Select(attrs={"data-hotkey": "o"}),
    )


class CaseCloseForm(forms.Form):
    # Declined only: a case is won back by the client's purchase, never by hand.
    status = forms.ChoiceField(label=_("Close as"), choices=[(Case.Status.DECLINED, _("Declined"))])
    note = forms.CharField(label=_("Note"), required=False, max_length=1000)


def _managers():
    return (
        get_user_model()
        .objects.filter(groups__name=Role.MANAGER, is_active=True)
        .order_by("first_name", "username")
    )


class ManagerChoiceField(ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name() or obj.username


class ReassignForm(forms.Form):
    manager = ManagerChoiceField(
        label=_("Give to"), queryset=_managers(), required=False, empty_label=_("The pool")
    )
    cases = forms.ModelMultipleChoiceField(
        queryset=Case.objects.filter(status=Case.Status.OPEN, is_control=False),
        widget=forms.MultipleHiddenInput,
        error_messages={"required": _("Select at least one case.")},
    )


class ReleaseForm(forms.Form):
    manager = ManagerChoiceField(label=_("Manager who leaves"), queryset=_managers())


class CaseAssignForm(forms.Form):
    manager = ManagerChoiceField(
        label=_("Give to"), queryset=_managers(), required=False, empty_label=_("The pool")
    )
