"""Writing call scripts: validated steps, a new version on every edit, JSON export and import.

A version is never changed once written, because calls point at the version they used and the
dashboards credit wins to it. Editing a script therefore always creates version ``n + 1``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from calls.models import Script, ScriptVersion
from calls.scripts import PLACEHOLDERS, TOKEN_RE
from clients.models import Segment

EXPORT_FORMAT = "reactivation-crm/script"
EXPORT_FORMAT_VERSION = 1
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")

ERR_NO_STEPS = _("A script needs at least one step.")
ERR_STEP_NOT_OBJECT = _("Step %(number)s is not a step object.")
ERR_KEY_INVALID = _(
    "Step %(number)s: the key must be 1 to 40 lowercase letters, digits, “-” or “_”."
)
ERR_KEY_DUPLICATE = _("Step %(number)s: the key “%(key)s” is used by another step.")
ERR_TEXT_EMPTY = _("Step %(number)s: the text is empty.")
ERR_PLACEHOLDER_UNKNOWN = _(
    "Step %(number)s: unknown placeholder {%(name)s}. Allowed: %(allowed)s."
)
ERR_CHOICE_LABEL = _("Step %(number)s: every answer needs a label.")
ERR_CHOICE_NEXT = _(
    "Step %(number)s: the answer “%(label)s” leads to “%(next)s”, which is not a step."
)
ERR_JSON_INVALID = _("The file is not valid JSON: %(error)s")
ERR_JSON_FORMAT = _("The file is not a call script exported from this product.")
ERR_JSON_NAME = _("The script in the file has no name.")
ERR_SEGMENT_UNKNOWN = _("The file names the segment “%(code)s”, which does not exist.")
ERR_NAME_EMPTY = _("The script needs a name.")


def _placeholders_in(text: str) -> list[str]:
    """The ``{name}`` placeholders of a text, as calls.scripts renders them (``{{`` is literal)."""
    return [match.group(1) for match in TOKEN_RE.finditer(text) if match.group(1)]


def steps_validate(steps: Any) -> list[dict[str, Any]]:
    """The steps, normalised (``key``, ``title``, ``text``, ``choices`` of ``label``/``next``),
    or a ValidationError listing every problem found."""
    if not isinstance(steps, list) or not steps:
        raise ValidationError(ERR_NO_STEPS)
    errors: list[ValidationError] = []
    normalised: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, step in enumerate(steps, start=1):
        if not isinstance(step, dict):
            errors.append(ValidationError(ERR_STEP_NOT_OBJECT, params={"number": number}))
            continue
        key = str(step.get("key") or "").strip()
        if not KEY_RE.match(key):
            errors.append(ValidationError(ERR_KEY_INVALID, params={"number": number}))
        elif key in seen:
            errors.append(ValidationError(ERR_KEY_DUPLICATE, params={"number": number, "key": key}))
        seen.add(key)
        text = str(step.get("text") or "").strip()
        if not text:
            errors.append(ValidationError(ERR_TEXT_EMPTY, params={"number": number}))
        for name in _placeholders_in(text):
            if name not in PLACEHOLDERS:
                errors.append(
                    ValidationError(
                        ERR_PLACEHOLDER_UNKNOWN,
                        params={
                            "number": number,
                            "name": name,
                            "allowed": ", ".join("{" + p + "}" for p in PLACEHOLDERS),
                        },
                    )
                )
        choices = []
        for choice in step.get("choices") or []:
            label = (
                str((choice or {}).get("label") or "").strip() if isinstance(choice, dict) else ""
            )
            if not label:
                errors.append(ValidationError(ERR_CHOICE_LABEL, params={"number": number}))
                continue
            # No "next" key: the answer goes on to the following step; "" ends the script.
            normalised_choice = {"label": label}
            if choice.get("next") is not None:
                normalised_choice["next"] = str(choice["next"]).strip()
            choices.append(normalised_choice)
        normalised.append(
            {
                "key": key,
                "title": str(step.get("title") or "").strip(),
                "text": text,
                "choices": choices,
            }
        )
    for number, step in enumerate(normalised, start=1):
        for choice in step["choices"]:
            if choice.get("next") and choice["next"] not in seen:
                errors.append(
                    ValidationError(
                        ERR_CHOICE_NEXT,
                        params={"number": number, "label": choice["label"], "next": choice["next"]},
                    )
                )
    if errors:
        raise ValidationError(errors)
    return normalised


@transaction.atomic
def script_create(
    *,
    name: str,
    segment: Segment | None,
    steps: Any,
    user: Any,
    note: str = "",
    language: str = "",
    active: bool = True,
) -> Script:
    """A new script with its first version."""
    name = (name or "").strip()
    if not name:
        raise ValidationError(ERR_NAME_EMPTY)
    clean_steps = steps_validate(steps)
    script = Script(name=name, segment=segment, language=language or "", active=active)
    script.full_clean()
    if user is not None and getattr(user, "is_authenticated", False):
        script._history_user = user
    script.save()
    ScriptVersion.objects.create(
        script=script, number=1, steps=clean_steps, note=note, created_by=user
    )
    return script


@transaction.atomic
def script_version_create(
    *, script: Script, steps: Any, user: Any, note: str = ""
) -> ScriptVersion:
    """Version ``n + 1`` of ``script``; the earlier versions stay as they were.

    The script row is locked first, so two admins saving at once get versions n + 1 and n + 2
    instead of a unique-constraint error.
    """
    clean_steps = steps_validate(steps)
    Script.objects.select_for_update().get(pk=script.pk)
    last = script.versions.order_by("-number").values_list("number", flat=True).first() or 0
    return ScriptVersion.objects.create(
        script=script, number=last + 1, steps=clean_steps, note=note, created_by=user
    )


def script_export_json(*, script: Script, version: ScriptVersion | None = None) -> str:
    """The script (its current version unless ``version`` is given) as a JSON document."""
    version = version or script.current_version
    document = {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_FORMAT_VERSION,
        "name": script.name,
        "segment": script.segment.code if script.segment_id else None,
        "language": script.language,
        "version": version.number if version else None,
        "note": version.note if version else "",
        "steps": version.steps if version else [],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


@transaction.atomic
def script_import_json(
    *, content: str | bytes, user: Any, into: Script | None = None
) -> ScriptVersion:
    """Import an exported script: a new version of ``into``, or a new script when it is None.

    Nothing is written unless the whole document is valid.
    """
    if isinstance(content, bytes):
        content = content.decode("utf-8-sig")
    try:
        document = json.loads(content)
    except ValueError as exc:
        raise ValidationError(ERR_JSON_INVALID, params={"error": str(exc)}) from exc
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise ValidationError(ERR_JSON_FORMAT)
    steps = steps_validate(document.get("steps"))
    note = str(document.get("note") or "")[:255]
    if into is not None:
        return script_version_create(script=into, steps=steps, user=user, note=note)
    name = str(document.get("name") or "").strip()
    if not name:
        raise ValidationError(ERR_JSON_NAME)
    segment = None
    if document.get("segment"):
        segment = Segment.objects.filter(code=document["segment"]).first()
        if segment is None:
            raise ValidationError(ERR_SEGMENT_UNKNOWN, params={"code": document["segment"]})
    language = str(document.get("language") or "")
    if language not in dict(settings.LANGUAGES):
        language = ""
    script = script_create(
        name=name[:120], segment=segment, steps=steps, user=user, note=note, language=language
    )
    return script.versions.get()
