"""Forms: sending the case's offer, and an admin's message template."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from calls.scripts import PLACEHOLDER_RE
from reactivation.messaging.models import MESSAGE_CHANNELS, Channel, MessageTemplate, Purpose
from reactivation.messaging.selectors import MESSAGE_PLACEHOLDERS

ERR_PLACEHOLDER = _("Unknown placeholder {%(name)s}.")


class OfferSendForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("Channel"), choices=[(c.value, c.label) for c in MESSAGE_CHANNELS]
    )
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    purpose = forms.ChoiceField(
        label=_("Purpose"),
        choices=Purpose.choices,
        initial=Purpose.ADVERTISING,
        required=False,
        help_text=_("Service: the client asked for the code on the call."),
    )

    def clean_purpose(self) -> str:
        return self.cleaned_data.get("purpose") or Purpose.ADVERTISING


class MessageTemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ["offer_template", "channel", "language", "subject", "body", "active"]
        widgets = {"body": forms.Textarea(attrs={"rows": 6})}

    def clean(self) -> dict:
        data = super().clean()
        for name in ("subject", "body"):
            for placeholder in PLACEHOLDER_RE.findall(data.get(name) or ""):
                if placeholder not in MESSAGE_PLACEHOLDERS:
                    self.add_error(name, ERR_PLACEHOLDER % {"name": placeholder})
        if data.get("channel") == Channel.EMAIL and not (data.get("subject") or "").strip():
            self.add_error("subject", _("An e-mail needs a subject."))
        return data
