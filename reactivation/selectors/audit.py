"""The audit history: every recorded change to policies, settings, scripts, offer templates,
offers, plans, reasons, segments, cases (assignments included) and client data.

The rows come from django-simple-history's tables (one per audited model) and from script
versions, which are immutable and carry their author. One UNION over all of them, ordered by
time, gives a page; only that page's rows are then loaded whole and compared with the version
before them, two queries per kind of row on the page. Nobody but an admin reads this.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import CharField, F, Model, OuterRef, QuerySet, Subquery, Value
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from calls.models import Reason, Script, ScriptVersion
from clients.models import Client, Segment
from reactivation.models import BusinessSettings, Case, Offer, OfferTemplate, Policy, WeeklyPlan

User = get_user_model()

# kind -> audited model (the order is the order of the filter's choices).
AUDITED: dict[str, type[Model]] = {
    "policy": Policy,
    "business_settings": BusinessSettings,
    "segment": Segment,
    "script": Script,
    "offer_template": OfferTemplate,
    "reason": Reason,
    "weekly_plan": WeeklyPlan,
    "case": Case,
    "offer": Offer,
    "client": Client,
}
SCRIPT_VERSION = "script_version"
ACTIONS = {"+": _("Created"), "~": _("Changed"), "-": _("Deleted")}
LABEL_FIELDS = ("name", "code", "username")
MAX_VALUE_CHARS = 300


def audit_kinds() -> list[tuple[str, str]]:
    kinds = [(kind, str(model._meta.verbose_name).capitalize()) for kind, model in AUDITED.items()]
    kinds.insert(4, (SCRIPT_VERSION, str(ScriptVersion._meta.verbose_name).capitalize()))
    return kinds


@dataclass
class AuditFilters:
    kind: str = ""
    user_id: int | None = None
    action: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    object_id: int | None = None


@dataclass
class Change:
    field: str
    before: str
    after: str


@dataclass
class AuditEntry:
    kind: str
    kind_label: str
    object_id: int
    label: str
    action: str
    action_label: str
    at: dt.datetime
    user: Any
    reason: str = ""
    changes: list[Change] = field(default_factory=list)
    # A change whose earlier state was never recorded (the row was written in bulk).
    before_unknown: bool = False


@dataclass
class AuditPage:
    entries: list[AuditEntry]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _columns(rows: QuerySet, kind: str, *, row: str, at: str, object_id: str) -> QuerySet:
    """The same four columns from every table, so the parts can be UNIONed."""
    return (
        rows.order_by()
        .annotate(
            audit_kind=Value(kind, output_field=CharField()),
            audit_row=F(row),
            audit_at=F(at),
            audit_object=F(object_id),
        )
        .values_list("audit_kind", "audit_row", "audit_at", "audit_object")
    )


def _history_rows(kind: str, model: type[Model], filters: AuditFilters) -> QuerySet:
    rows = model.history.all()
    if filters.user_id:
        rows = rows.filter(history_user_id=filters.user_id)
    if filters.action:
        rows = rows.filter(history_type=filters.action)
    if filters.date_from:
        rows = rows.filter(history_date__gte=_start_of(filters.date_from))
    if filters.date_to:
        rows = rows.filter(history_date__lt=_start_of(filters.date_to + dt.timedelta(days=1)))
    if filters.object_id:
        rows = rows.filter(id=filters.object_id)
    return _columns(rows, kind, row="history_id", at="history_date", object_id="id")


def _version_rows(filters: AuditFilters) -> QuerySet | None:
    if filters.action and filters.action != "+":
        return None
    rows = ScriptVersion.objects.all()
    if filters.user_id:
        rows = rows.filter(created_by_id=filters.user_id)
    if filters.date_from:
        rows = rows.filter(created_at__gte=_start_of(filters.date_from))
    if filters.date_to:
        rows = rows.filter(created_at__lt=_start_of(filters.date_to + dt.timedelta(days=1)))
    if filters.object_id:
        rows = rows.filter(script_id=filters.object_id)
    return _columns(rows, SCRIPT_VERSION, row="id", at="created_at", object_id="script_id")


def _display(value: Any, model_field: Any, users: dict[int, str]) -> str:
    if value is None or value == "":
        return "—"
    if model_field is not None and getattr(model_field, "choices", None):
        value = dict(model_field.flatchoices).get(value, value)
    if model_field is not None and model_field.is_relation and model_field.related_model is User:
        return users.get(value, f"#{value}")
    if model_field is not None and model_field.is_relation:
        return f"#{value}"
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    elif isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False)
    text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def _tracked_fields(record: Any) -> list[Any]:
    return [
        f
        for f in record.instance_type._meta.fields
        if f.attname in record.__dict__ and f.name not in ("id", "created_at", "updated_at")
    ]


def _label(kind: str, record: Any, clients: dict[int, str]) -> str:
    for name in LABEL_FIELDS:
        value = getattr(record, name, None)
        if value:
            return str(value)
    if kind == "case":
        return clients.get(record.client_id) or str(_("client #%(id)s") % {"id": record.client_id})
    if kind == "offer":
        return str(record.code)
    if kind == "weekly_plan":
        return str(_("manager #%(id)s") % {"id": record.manager_id})
    if kind == "policy":
        return (
            str(_("segment #%(id)s") % {"id": record.segment_id})
            if record.segment_id
            else str(_("Default policy"))
        )
    return f"#{record.id}"


def _history_entries(
    kind: str, model: type[Model], history_ids: list[int]
) -> dict[int, AuditEntry]:
    history_model = model.history.model
    previous = history_model.objects.filter(
        id=OuterRef("id"),
        history_date__lte=OuterRef("history_date"),
        history_id__lt=OuterRef("history_id"),
    ).order_by("-history_date", "-history_id")
    records = list(
        history_model.objects.filter(history_id__in=history_ids)
        .select_related("history_user")
        .annotate(previous_id=Subquery(previous.values("history_id")[:1]))
    )
    before = {
        r.history_id: r
        for r in history_model.objects.filter(
            history_id__in=[r.previous_id for r in records if r.previous_id]
        )
    }
    user_ids = set()
    for record in [*records, *before.values()]:
        for f in _tracked_fields(record):
            if f.is_relation and f.related_model is User and getattr(record, f.attname):
                user_ids.add(getattr(record, f.attname))
    users = {u.pk: u.get_full_name() or u.username for u in User.objects.filter(pk__in=user_ids)}
    client_ids = {r.client_id for r in records if kind == "case"}
    clients = (
        dict(Client.objects.filter(pk__in=client_ids).values_list("pk", "name"))
        if client_ids
        else {}
    )
    entries = {}
    for record in records:
        prev = before.get(record.previous_id)
        changes = []
        for f in _tracked_fields(record):
            new = getattr(record, f.attname)
            old = getattr(prev, f.attname) if prev is not None else None
            if record.history_type == "-":
                changes.append(Change(str(f.verbose_name), _display(new, f, users), "—"))
            elif prev is None:
                if new not in (None, ""):
                    changes.append(Change(str(f.verbose_name), "—", _display(new, f, users)))
            elif old != new:
                changes.append(
                    Change(str(f.verbose_name), _display(old, f, users), _display(new, f, users))
                )
        entries[record.history_id] = AuditEntry(
            kind=kind,
            kind_label=str(model._meta.verbose_name).capitalize(),
            object_id=record.id,
            label=_label(kind, record, clients),
            action=record.history_type,
            action_label=str(ACTIONS.get(record.history_type, record.history_type)),
            at=record.history_date,
            user=record.history_user,
            reason=record.history_change_reason or "",
            changes=changes,
            before_unknown=record.history_type == "~" and prev is None,
        )
    return entries


def _version_entries(version_ids: list[int]) -> dict[int, AuditEntry]:
    versions = list(
        ScriptVersion.objects.filter(pk__in=version_ids).select_related("script", "created_by")
    )
    previous = {
        (v.script_id, v.number): v
        for v in ScriptVersion.objects.filter(
            script_id__in={v.script_id for v in versions},
            number__in={v.number - 1 for v in versions},
        )
    }
    entries = {}
    for version in versions:
        prev = previous.get((version.script_id, version.number - 1))
        old_steps = {s.get("key"): s for s in (prev.steps if prev else [])}
        new_steps = {s.get("key"): s for s in version.steps}
        changes = [
            Change(str(_("version")), str(prev.number) if prev else "—", str(version.number))
        ]
        for key in [*new_steps, *[k for k in old_steps if k not in new_steps]]:
            old, new = old_steps.get(key), new_steps.get(key)
            if old != new:
                changes.append(
                    Change(
                        str(_("step “%(key)s”") % {"key": key}),
                        _display(old, None, {}) if old else "—",
                        _display(new, None, {}) if new else "—",
                    )
                )
        entries[version.pk] = AuditEntry(
            kind=SCRIPT_VERSION,
            kind_label=str(ScriptVersion._meta.verbose_name).capitalize(),
            object_id=version.script_id,
            label=f"{version.script.name} v{version.number}",
            action="+",
            action_label=str(ACTIONS["+"]),
            at=version.created_at,
            user=version.created_by,
            reason=version.note,
            changes=changes,
        )
    return entries


def audit_list(*, filters: AuditFilters, page: int = 1, page_size: int = 50) -> AuditPage:
    """One page of the audit history, newest first, with each change's before and after."""
    parts: list[QuerySet] = [
        _history_rows(kind, model, filters)
        for kind, model in AUDITED.items()
        if not filters.kind or filters.kind == kind
    ]
    if not filters.kind or filters.kind == SCRIPT_VERSION:
        versions = _version_rows(filters)
        if versions is not None:
            parts.append(versions)
    if not parts:
        return AuditPage(entries=[], number=1, has_next=False)
    union = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    page = max(1, page)
    offset = (page - 1) * page_size
    rows = list(union.order_by("-audit_at", "-audit_row")[offset : offset + page_size + 1])
    has_next = len(rows) > page_size
    rows = rows[:page_size]
    ids_by_kind: dict[str, list[int]] = defaultdict(list)
    for kind, row_id, _at, _object_id in rows:
        ids_by_kind[kind].append(row_id)
    loaded: dict[tuple[str, int], AuditEntry] = {}
    for kind, ids in ids_by_kind.items():
        found = (
            _version_entries(ids)
            if kind == SCRIPT_VERSION
            else _history_entries(kind, AUDITED[kind], ids)
        )
        loaded.update({(kind, row_id): entry for row_id, entry in found.items()})
    entries = [loaded[(kind, row_id)] for kind, row_id, _at, _o in rows if (kind, row_id) in loaded]
    return AuditPage(entries=entries, number=page, has_next=has_next)
