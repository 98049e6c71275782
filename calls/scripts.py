"""Call scripts as plain data: placeholder rendering, branching and validation. No Django here.

A script is a list of steps ``{"key", "title", "text", "choices": [{"label", "next",
"reason"}]}``. A choice's ``next`` names the step it leads to; an empty ``next`` ends the
script, and a choice without a ``next`` key goes on to the following step in the list. A
choice's ``reason`` (optional) is the code of the reason for leaving that the answer names
(«Дорого»: ``price``): choosing it fills the call's reason.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PLACEHOLDERS = (
    "greeting",
    "contact_name",
    "client_name",
    "days_since_last_purchase",
    "last_purchase_on",
    "manager_name",
    "company",
)
# Only ``{name}`` is a placeholder: no attribute access, indexing or format specs, so a script
# written by an admin can never reach into Python objects the way ``str.format`` would allow.
# ``{{`` and ``}}`` are literal braces, as in the script editor's validation.
PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")
TOKEN_RE = re.compile(r"\{\{|\}\}|\{([a-z_]+)\}")

ERR_NOT_A_LIST = "The script must be a list of steps."
ERR_NO_STEPS = "The script has no steps."
ERR_STEP_NOT_OBJECT = "Step {n} is not an object."
ERR_STEP_NO_KEY = "Step {n} has no key."
ERR_DUPLICATE_KEY = "Step key “{key}” is used twice."
ERR_STEP_NO_TEXT = "Step “{key}” has no text."
ERR_CHOICES_NOT_LIST = "The choices of step “{key}” must be a list."
ERR_CHOICE_NO_LABEL = "A choice of step “{key}” has no label."
ERR_UNKNOWN_NEXT = "A choice of step “{key}” leads to an unknown step “{next}”."
ERR_UNKNOWN_PLACEHOLDER = "Step “{key}” uses an unknown placeholder {{{name}}}."
ERR_CHOICE_REASON = "A choice of step “{key}” names a reason that is not a code."


def render_text(text: str, values: Mapping[str, Any], *, escape: bool = True) -> str:
    """Fill ``{placeholders}`` with ``values``; unknown ones are left as written.

    With ``escape`` the result is HTML-safe: the script text and every value are escaped, so
    neither an admin's script nor a client's name can inject markup.
    """

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return match.group(0)[0]
        if name not in values:
            return match.group(0)
        value = values[name]
        value = "" if value is None else str(value)
        return html.escape(value) if escape else value

    source = html.escape(text) if escape else text
    return TOKEN_RE.sub(fill, source)


def step_index(steps: list[dict]) -> dict[str, int]:
    return {step["key"]: position for position, step in enumerate(steps)}


def next_step_key(steps: list[dict], key: str, choice: int) -> str | None:
    """The key of the step that answer ``choice`` of step ``key`` leads to, or None (the end)."""
    positions = step_index(steps)
    if key not in positions:
        return None
    step = steps[positions[key]]
    choices = step.get("choices") or []
    if not 0 <= choice < len(choices):
        return None
    target = choices[choice]
    if "next" in target:
        return target["next"] or None
    following = positions[key] + 1
    return steps[following]["key"] if following < len(steps) else None


def walk(steps: list[dict], answers: Mapping[str, str]) -> list[str]:
    """The keys of the steps a call went through, given ``answers`` (step key -> choice label).

    Starts at the first step and follows each answered choice; stops at a step without an
    answer, at the end of the script, or on a loop.
    """
    if not steps:
        return []
    positions = step_index(steps)
    path: list[str] = []
    key: str | None = steps[0]["key"]
    while key is not None and key in positions and key not in path:
        path.append(key)
        label = answers.get(key)
        if label is None:
            break
        labels = [c.get("label") for c in steps[positions[key]].get("choices") or []]
        if label not in labels:
            break
        key = next_step_key(steps, key, labels.index(label))
    return path


def clean_answers(steps: list[dict], answers: Mapping[str, Any]) -> dict[str, str]:
    """Only the answers that name a step of the script and one of that step's choices."""
    positions = step_index(steps)
    cleaned: dict[str, str] = {}
    for key, label in answers.items():
        if key not in positions or not isinstance(label, str):
            continue
        labels = {c.get("label") for c in steps[positions[key]].get("choices") or []}
        if label in labels:
            cleaned[key] = label
    return cleaned


def reason_from_answers(steps: list[dict], answers: Mapping[str, str]) -> str | None:
    """The reason code named by the answers along the call's path (``walk``): the last
    answered choice on the path that names one, or None."""
    positions = step_index(steps)
    found = None
    for key in walk(steps, answers):
        label = answers.get(key)
        for choice in steps[positions[key]].get("choices") or []:
            if choice.get("label") == label and isinstance(choice.get("reason"), str):
                found = choice["reason"] or found
    return found


# A client's name that is an organisation's: a legal form (ООО «Ромашка», ИП Иванов, Acme LLC)
# or a name in quotes. Such a name is not a person to greet.
ORGANISATION_RE = re.compile(
    r"(^|[\s\"«(])(ООО|ОАО|ЗАО|ПАО|НАО|АО|ИП|НКО|АНО|ГУП|МУП|ФГУП|ТОО|LLC|LLP|Ltd|Inc|GmbH|Corp|PLC)"
    r"(?=$|[\s\".,»)])|[«»\"]",
    re.IGNORECASE,
)


def is_organisation_name(name: str) -> bool:
    return bool(ORGANISATION_RE.search(name or ""))


def greeting(*, hello: str, hello_name: str, contact_name: str, client_name: str) -> str:
    """The greeting a call opens with: by the contact person's name where the client has
    one, else by the client's name where it is a person's, else the neutral ``hello`` (no
    «Здравствуйте, ООО «Северстрой»!»). ``hello_name`` holds ``{name}``."""
    name = (contact_name or "").strip()
    if not name and not is_organisation_name(client_name):
        name = (client_name or "").strip()
    return hello_name.replace("{name}", name) if name else hello


@dataclass(frozen=True)
class RenderedChoice:
    label: str
    next: str | None
    reason: str = ""


@dataclass(frozen=True)
class RenderedStep:
    key: str
    title: str
    html: str
    choices: tuple[RenderedChoice, ...]
    number: int


def render_steps(steps: list[dict], values: Mapping[str, Any]) -> list[RenderedStep]:
    """Every step with its text filled in (HTML-escaped) and where each choice leads."""
    rendered = []
    for number, step in enumerate(steps, start=1):
        choices = tuple(
            RenderedChoice(
                label=str(choice.get("label", "")),
                next=next_step_key(steps, step["key"], i),
                reason=str(choice.get("reason") or ""),
            )
            for i, choice in enumerate(step.get("choices") or [])
        )
        rendered.append(
            RenderedStep(
                key=str(step["key"]),
                title=str(step.get("title") or ""),
                html=render_text(str(step.get("text") or ""), values),
                choices=choices,
                number=number,
            )
        )
    return rendered


def validate_steps(steps: Any) -> list[str]:
    """Every problem with a steps list, as messages; an empty list means it is valid."""
    if not isinstance(steps, list):
        return [ERR_NOT_A_LIST]
    if not steps:
        return [ERR_NO_STEPS]
    errors: list[str] = []
    keys: list[str] = []
    for n, step in enumerate(steps, start=1):
        if not isinstance(step, dict):
            errors.append(ERR_STEP_NOT_OBJECT.format(n=n))
            continue
        key = step.get("key")
        if not key or not isinstance(key, str):
            errors.append(ERR_STEP_NO_KEY.format(n=n))
            continue
        if key in keys:
            errors.append(ERR_DUPLICATE_KEY.format(key=key))
        keys.append(key)
    known = set(keys)
    for step in steps:
        if (
            not isinstance(step, dict)
            or not isinstance(step.get("key"), str)
            or not step.get("key")
        ):
            continue
        key = step["key"]
        text = step.get("text")
        if not text or not isinstance(text, str):
            errors.append(ERR_STEP_NO_TEXT.format(key=key))
        else:
            for name in PLACEHOLDER_RE.findall(text):
                if name not in PLACEHOLDERS:
                    errors.append(ERR_UNKNOWN_PLACEHOLDER.format(key=key, name=name))
        choices = step.get("choices", [])
        if not isinstance(choices, list):
            errors.append(ERR_CHOICES_NOT_LIST.format(key=key))
            continue
        for choice in choices:
            if not isinstance(choice, dict) or not choice.get("label"):
                errors.append(ERR_CHOICE_NO_LABEL.format(key=key))
                continue
            if "reason" in choice and not isinstance(choice["reason"], str):
                errors.append(ERR_CHOICE_REASON.format(key=key))
            target = choice.get("next")
            if target and target not in known:
                errors.append(ERR_UNKNOWN_NEXT.format(key=key, next=target))
    return errors
