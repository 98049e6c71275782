"""Forms of the phone settings page and the unmatched inbox."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from clients.models import Client
from clients.search import normalize_phone
from reactivation.roles import Role
from reactivation.telephony.models import PhoneAccount

ERR_TIMEZONE = _("Unknown timezone: use a name such as Europe/Moscow.")
ERR_NO_CLIENT = _("No client has this code or phone.")
ERR_SECRET_NEEDED = _("Type the API secret: calls cannot be checked without it.")


class PhoneAccountForm(forms.ModelForm):
    """Credentials are write-only: the fields are always shown empty, and left empty they keep
    what is stored."""

    api_key = forms.CharField(
        label=_("API key"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Mango Office: the unique code (vpbx_api_key). Empty: keep the stored one."),
    )
    api_secret = forms.CharField(
        label=_("API secret"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_(
            "Zadarma: the secret; Mango Office: the signature key (salt); other systems: the "
            "whsec_... signing secret. Empty: keep the stored one."
        ),
    )

    base_url = forms.URLField(
        label=_("API address"),
        required=False,
        assume_scheme="https",
        help_text=_("Empty: the phone system's own address."),
    )

    class Meta:
        model = PhoneAccount
        fields = ["name", "provider", "base_url", "timezone", "active"]

    def clean_timezone(self) -> str:
        value = self.cleaned_data["timezone"].strip()
        if value:
            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
                raise forms.ValidationError(ERR_TIMEZONE) from exc
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.instance.api_secret_sealed and not data.get("api_secret"):
            self.add_error("api_secret", ERR_SECRET_NEEDED)
        return data

    def save(self, commit: bool = True) -> PhoneAccount:
        account = super().save(commit=False)
        if self.cleaned_data.get("api_key"):
            account.set_api_key(self.cleaned_data["api_key"].strip())
        if self.cleaned_data.get("api_secret"):
            account.set_api_secret(self.cleaned_data["api_secret"].strip())
        if commit:
            account.save()
        return account


class ExtensionForm(forms.Form):
    user = forms.ModelChoiceField(label=_("Manager"), queryset=get_user_model().objects.none())
    extension = forms.CharField(
        label=_("Extension"),
        max_length=32,
        required=False,
        help_text=_("Empty: take the extension away."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = (
            get_user_model()
            .objects.filter(groups__name__in=[Role.MANAGER, Role.OWNER, Role.ADMIN], is_active=True)
            .distinct()
            .order_by("username")
        )


class AttachForm(forms.Form):
    client = forms.CharField(
        label=_("Client"), max_length=64, help_text=_("The client's code or phone.")
    )

    def __init__(self, *args: Any, clients: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clients = clients if clients is not None else Client.objects.all()

    def clean_client(self) -> Client:
        value = self.cleaned_data["client"].strip()
        client = self.clients.filter(external_id__iexact=value).first()
        if client is None:
            phone = normalize_phone(value)
            if phone.startswith("+"):
                client = self.clients.filter(phone=phone).order_by("-id").first()
        if client is None:
            raise forms.ValidationError(ERR_NO_CLIENT)
        return client
