"""The owners' dashboard filter: a period, optionally one segment or one manager, and the
return share used by the "revenue left on the table" estimate."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from clients.models import Segment
from reactivation.form_fields import ModelChoiceField
from reactivation.roles import Role

ERR_END_BEFORE_START = _("The end of the period must not be before its start.")
ERR_CUSTOM_NEEDS_DATES = _("Give both dates for a custom period.")
ERR_PERIOD_TOO_LONG = _("A period may span at most ten years.")
MAX_PERIOD_DAYS = 3653

PERIODS = [
    ("30", _("Last 30 days")),
    ("90", _("Last 90 days")),
    ("180", _("Last 6 months")),
    ("365", _("Last 12 months")),
    ("730", _("Last 2 years")),
    ("1095", _("Last 3 years")),
    ("custom", _("Custom dates")),
]
DEFAULT_PERIOD = "365"


@dataclass(frozen=True)
class DashboardFilters:
    start: dt.date
    end: dt.date
    segment_id: int | None = None
    manager_id: int | None = None
    return_share: float = 0.20

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> DashboardFilters:
        """The period of the same length just before this one."""
        end = self.start - dt.timedelta(days=1)
        return DashboardFilters(
            start=end - dt.timedelta(days=self.days - 1),
            end=end,
            segment_id=self.segment_id,
            manager_id=self.manager_id,
            return_share=self.return_share,
        )

    def cache_key(self) -> str:
        return (
            f"{self.start}:{self.end}:{self.segment_id}:{self.manager_id}:{self.return_share:.4f}"
        )


class DashboardFilterForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), choices=PERIODS, required=False)
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    segment = ModelChoiceField(
        label=_("Segment"),
        queryset=Segment.objects.order_by("name"),
        required=False,
        empty_label=_("All segments"),
    )
    manager = ModelChoiceField(
        label=_("Manager"),
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label=_("All managers"),
    )
    return_share = forms.FloatField(
        label=_("Return share, %"),
        required=False,
        min_value=0,
        max_value=100,
        widget=forms.NumberInput(attrs={"step": "1"}),
        help_text=_("Share of clients ever who could be brought back."),
    )

    def __init__(self, *args, latest: dt.date, default_return_share: float, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.latest = latest
        self.default_return_share = default_return_share
        self.fields["manager"].queryset = (
            get_user_model()
            .objects.filter(groups__name=Role.MANAGER)
            .order_by("first_name", "username")
        )
        self.fields["manager"].label_from_instance = lambda user: (
            user.get_full_name() or user.username
        )

    def clean(self) -> dict:
        data = super().clean()
        period = data.get("period") or DEFAULT_PERIOD
        data["period"] = period
        if period == "custom":
            start, end = data.get("start"), data.get("end")
            if start is None or end is None:
                raise forms.ValidationError(ERR_CUSTOM_NEEDS_DATES)
            if end < start:
                self.add_error("end", ERR_END_BEFORE_START)
            elif (end - start).days > MAX_PERIOD_DAYS:
                self.add_error("start", ERR_PERIOD_TOO_LONG)
        return data

    def filters(self) -> DashboardFilters:
        """The filters of a valid form (defaults for whatever was left empty)."""
        data = self.cleaned_data
        if data["period"] == "custom":
            start, end = data["start"], data["end"]
        else:
            end = self.latest
            start = end - dt.timedelta(days=int(data["period"]) - 1)
        share = data.get("return_share")
        return DashboardFilters(
            start=start,
            end=end,
            segment_id=data["segment"].pk if data.get("segment") else None,
            manager_id=data["manager"].pk if data.get("manager") else None,
            return_share=self.default_return_share if share is None else share / 100,
        )
