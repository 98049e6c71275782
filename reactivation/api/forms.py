from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from reactivation.form_fields import ModelChoiceField
from reactivation.roles import Role
from reactivation.templatetags.crm import person


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=50,
        help_text=_("Which system uses it, e.g. “Shop checkout” or “1C accounting”."),
    )
    role = forms.ChoiceField(label=_("Acts as role"), choices=Role.choices, initial=Role.ADMIN)
    user = ModelChoiceField(
        label=_("Acts as user"),
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
        empty_label=_("No user (the role alone)"),
        help_text=_("Required for a manager's key: it then sees only what that manager sees."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].label_from_instance = person
