"""Forms of the import page: the upload, and the preview's options and column mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from clients.importing import fields
from clients.importing.messages import FIELD_LABELS
from clients.models import ImportJob

ALLOWED_EXTENSIONS = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")

ERR_EXTENSION = _("Upload a CSV or XLSX file (.csv, .txt, .tsv or .xlsx).")
ERR_EMPTY = _("The file is empty.")
ERR_TOO_BIG = _(
    "The file is larger than %(limit)s: import it with the import_transactions command."
)
ERR_MAPPED_TWICE = _("“%(field)s” is chosen for more than one column.")
ERR_REQUIRED_UNMAPPED = _("Choose a column for “%(field)s”: it is required.")

ENCODING_CHOICES = [
    ("", _("Detect")),
    ("utf-8", "UTF-8"),
    ("cp1251", _("Windows-1251 (Cyrillic)")),
    ("utf-16", "UTF-16"),
]
DELIMITER_CHOICES = [
    ("", _("Detect")),
    (";", _("Semicolon ;")),
    (",", _("Comma ,")),
    ("\t", _("Tab")),
    ("|", _("Vertical bar |")),
]


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What the file holds"),
        choices=ImportJob.Kind.choices,
        initial=ImportJob.Kind.TRANSACTIONS,
        widget=forms.RadioSelect,
    )
    file = forms.FileField(
        label=_("File"), help_text=_("CSV (any separator, UTF-8 or Windows-1251) or XLSX.")
    )
    encoding = forms.ChoiceField(label=_("Encoding"), choices=ENCODING_CHOICES, required=False)
    delimiter = forms.ChoiceField(label=_("Separator"), choices=DELIMITER_CHOICES, required=False)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() not in ALLOWED_EXTENSIONS:
            raise forms.ValidationError(ERR_EXTENSION)
        if upload.size == 0:
            raise forms.ValidationError(ERR_EMPTY)
        if upload.size > settings.UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                ERR_TOO_BIG, params={"limit": filesizeformat(settings.UPLOAD_MAX_BYTES)}
            )
        return upload


class ImportOptionsForm(forms.Form):
    """Encoding, separator and, for each column of the file, the field it fills (or none)."""

    encoding = forms.ChoiceField(label=_("Encoding"), choices=ENCODING_CHOICES, required=False)
    delimiter = forms.ChoiceField(label=_("Separator"), choices=DELIMITER_CHOICES, required=False)

    def __init__(self, *args: Any, kind: str, headers: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.headers = headers
        choices = [("", _("— not imported —"))] + [
            (f, FIELD_LABELS[f]) for f in fields.KINDS[kind].fields
        ]
        for index, header in enumerate(headers):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=header or _("Column %(number)s") % {"number": index + 1},
                choices=choices,
                required=False,
            )

    def column_fields(self) -> list[forms.BoundField]:
        return [self[f"column_{i}"] for i in range(len(self.headers))]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        mapping: dict[str, int] = {}
        for index in range(len(self.headers)):
            field = data.get(f"column_{index}")
            if not field:
                continue
            if field in mapping:
                self.add_error(f"column_{index}", ERR_MAPPED_TWICE % {"field": FIELD_LABELS[field]})
            mapping[field] = index
        for field in fields.KINDS[self.kind].required:
            if field not in mapping:
                self.add_error(None, ERR_REQUIRED_UNMAPPED % {"field": FIELD_LABELS[field]})
        data["mapping"] = mapping
        return data
