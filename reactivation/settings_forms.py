"""Forms of the settings pages. They validate and normalise; the services write."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from calls.models import Reason, Script
from clients.models import Segment
from reactivation.form_fields import ModelChoiceField
from reactivation.models import BusinessSettings, OfferTemplate, Policy, WeeklyPlan
from reactivation.roles import Role

User = get_user_model()

ERR_PASSWORDS_DIFFER = _("The two passwords differ.")
ERR_CHOICE_LINE = _(
    "Step %(number)s, line %(line)s: write “answer => step key”, “answer => -” or just “answer”."
)
ERR_DATE_FUTURE = _("Pick a date in the past: the backtest needs what happened after it.")
ERR_FILE_TOO_LARGE = _("The file is larger than 1 MB.")

END_MARK = "-"
ARROW = "=>"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class PolicyForm(forms.ModelForm):
    class Meta:
        model = Policy
        fields = [
            "sleeping_after",
            "flag_after",
            "cycle_prior",
            "default_cycle_days",
            "prior_strength",
            "min_cycle_days",
            "max_cycle_days",
            "excluded_classes",
            "cooldown_days",
            "cost_per_call",
            "prior_uplift",
            "case_lifetime_days",
            "attempt_cap",
            "control_share",
        ]
        labels = {
            "default_cycle_days": _("typed default cycle, days"),
            "prior_strength": _("typed prior strength, gaps"),
        }
        widgets = {
            "prior_uplift": forms.NumberInput(attrs={"step": "0.01"}),
            "sleeping_after": forms.NumberInput(attrs={"step": "0.1"}),
            "flag_after": forms.NumberInput(attrs={"step": "0.1"}),
            "control_share": forms.NumberInput(attrs={"step": "0.01"}),
        }

    # Added after the other fields: a form sent without them (an older script) keeps the values.
    KEPT_WHEN_ABSENT = ("cycle_prior", "prior_uplift")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.KEPT_WHEN_ABSENT:
            self.fields[name].required = False

    def clean_cycle_prior(self) -> str:
        return self.cleaned_data.get("cycle_prior") or self.instance.cycle_prior

    def clean_prior_uplift(self) -> float:
        value = self.cleaned_data.get("prior_uplift")
        return self.instance.prior_uplift if value is None else value

    def clean_excluded_classes(self) -> str:
        value = self.cleaned_data.get("excluded_classes") or ""
        return "".join(sorted(set(value.upper().replace(",", "").replace(" ", ""))))


class PolicyCreateForm(forms.Form):
    segment = ModelChoiceField(
        label=_("Segment"), queryset=Segment.objects.filter(policy__isnull=True).order_by("name")
    )


class BacktestForm(forms.Form):
    as_of = forms.DateField(label=_("Flagged on"), widget=DateInput())
    days = forms.IntegerField(
        label=_("Bought again within, days"), min_value=1, max_value=730, initial=60
    )
    window = forms.IntegerField(
        label=_("Lost in the days before, days"),
        min_value=1,
        max_value=365,
        initial=7,
        required=False,
        help_text=_("The nights whose newly lost clients are judged (default 7)."),
    )

    def clean_window(self) -> int:
        return self.cleaned_data.get("window") or 7

    def clean_as_of(self) -> dt.date:
        value = self.cleaned_data["as_of"]
        if value >= timezone.localdate():
            raise ValidationError(ERR_DATE_FUTURE)
        return value


class BusinessSettingsForm(forms.ModelForm):
    class Meta:
        model = BusinessSettings
        fields = [
            "company_name",
            "nightly_at",
            "assignment_weekday",
            "abc_window_days",
            "abc_a_share",
            "abc_b_share",
            "abc_by_margin",
            "margin_rate",
            "return_share",
            "won_back_window_days",
        ]
        widgets = {"nightly_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}


class OfferTemplateForm(forms.ModelForm):
    class Meta:
        model = OfferTemplate
        fields = ["name", "kind", "value", "validity_days", "cost", "description", "active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (
            data.get("kind") == OfferTemplate.Kind.PERCENT
            and data.get("value") is not None
            and data["value"] > 100
        ):
            self.add_error("value", _("A percentage cannot exceed 100."))
        return data


class ReasonForm(forms.ModelForm):
    class Meta:
        model = Reason
        fields = ["code", "name", "position", "active"]


class WeeklyPlanForm(forms.ModelForm):
    class Meta:
        model = WeeklyPlan
        fields = ["calls", "reached", "offers", "wins"]


class UserForm(forms.Form):
    username = forms.RegexField(
        label=_("Log-in name"),
        max_length=150,
        regex=r"^[\w.@+-]+$",
        error_messages={"invalid": _("Letters, digits and @ . + - _ only.")},
    )
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    roles = forms.MultipleChoiceField(
        label=_("Roles"), choices=Role.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    is_active = forms.BooleanField(
        label=_("May log in"),
        required=False,
        initial=True,
        help_text=_(
            "Switch off for someone who left: their history stays, their open cases return to the pool."
        ),
    )


class UserCreateForm(UserForm):
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label=_("Password again"), widget=forms.PasswordInput, strip=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", ERR_PASSWORDS_DIFFER)
        return data


class PasswordSetForm(forms.Form):
    password1 = forms.CharField(label=_("New password"), widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(
        label=_("New password again"), widget=forms.PasswordInput, strip=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", ERR_PASSWORDS_DIFFER)
        return data


class ScriptForm(forms.ModelForm):
    note = forms.CharField(label=_("What changed"), max_length=255, required=False)

    class Meta:
        model = Script
        fields = ["name", "segment", "language", "active"]


def choices_to_text(choices: list[dict[str, Any]]) -> str:
    lines = []
    for choice in choices or []:
        if "next" not in choice:
            lines.append(choice["label"])
        else:
            lines.append(f"{choice['label']} {ARROW} {choice['next'] or END_MARK}")
    return "\n".join(lines)


def text_to_choices(text: str, number: int) -> list[dict[str, Any]]:
    choices: list[dict[str, Any]] = []
    for line_number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if ARROW in line:
            label, _sep, target = (part.strip() for part in line.partition(ARROW))
            if not label or not target:
                raise ValidationError(
                    ERR_CHOICE_LINE, params={"number": number, "line": line_number}
                )
            choices.append({"label": label, "next": "" if target == END_MARK else target})
        else:
            choices.append({"label": line})
    return choices


class StepForm(forms.Form):
    key = forms.SlugField(label=_("Key"), max_length=40)
    title = forms.CharField(label=_("Title"), max_length=120, required=False)
    text = forms.CharField(
        label=_("What to say"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Placeholders: {client_name}, {days_since_last_purchase}, {last_purchase_on}, {manager_name}, {company}."
        ),
    )
    choices = forms.CharField(
        label=_("Answers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One answer a line: “answer => step key” jumps to that step, “answer => -” ends the call, a bare answer goes on to the next step."
        ),
    )


class BaseStepFormSet(forms.BaseFormSet):
    def steps(self) -> list[dict[str, Any]]:
        """The steps typed into the formset, in order (deleted and empty forms left out)."""
        steps = []
        for number, form in enumerate(self.forms, start=1):
            if not form.cleaned_data or (self.can_delete and self._should_delete_form(form)):
                continue
            data = form.cleaned_data
            steps.append(
                {
                    "key": data["key"],
                    "title": data.get("title", ""),
                    "text": data["text"],
                    "choices": text_to_choices(data.get("choices", ""), number),
                }
            )
        return steps


StepFormSet = forms.formset_factory(StepForm, formset=BaseStepFormSet, extra=1, can_delete=True)


def steps_initial(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "key": s.get("key", ""),
            "title": s.get("title", ""),
            "text": s.get("text", ""),
            "choices": choices_to_text(s.get("choices") or []),
        }
        for s in steps
    ]


class ScriptImportForm(forms.Form):
    file = forms.FileField(label=_("JSON file"))
    into = ModelChoiceField(
        label=_("As a new version of"),
        queryset=Script.objects.order_by("name"),
        required=False,
        empty_label=_("— a new script —"),
    )

    def clean_file(self) -> bytes:
        upload = self.cleaned_data["file"]
        if upload.size > 1024 * 1024:
            raise ValidationError(ERR_FILE_TOO_LARGE)
        return upload.read()


class ScriptPreviewForm(forms.Form):
    client = forms.CharField(
        label=_("Client"),
        max_length=255,
        required=False,
        help_text=_("External id or name; empty: a client who is lost now."),
    )


class AuditFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("What"), required=False)
    user = ModelChoiceField(
        label=_("Who"), queryset=User.objects.order_by("username"), required=False
    )
    action = forms.ChoiceField(
        label=_("Change"),
        required=False,
        choices=[("", _("Any")), ("+", _("Created")), ("~", _("Changed")), ("-", _("Deleted"))],
    )
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())
    object_id = forms.IntegerField(label=_("Record id"), required=False, min_value=1)

    def __init__(self, *args: Any, kinds: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("Everything")), *kinds]


class ConfirmDeleteForm(forms.Form):
    confirm = forms.CharField(label=_("Type the external id to confirm"), max_length=64)


class ModelFitForm(forms.Form):
    until = forms.DateField(label=_("Purchases up to"), required=False, widget=DateInput())


class ReassignForm(forms.Form):
    to = ModelChoiceField(
        label=_("Hand over open cases to"),
        required=False,
        queryset=User.objects.filter(is_active=True, groups__name=Role.MANAGER).order_by(
            "username"
        ),
        empty_label=_("— the unassigned pool —"),
    )
