from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from reactivation.webhooks.models import EVENT_CHOICES


class EndpointForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    url = forms.URLField(
        label=_("URL"),
        max_length=500,
        assume_scheme="https",
        help_text=_("Events are POSTed here as JSON."),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple
    )


class EndpointEditForm(EndpointForm):
    active = forms.BooleanField(label=_("Active"), required=False)
