"""The case page: the client card, the history, the script and the offers of one case."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings as django_settings
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from calls.models import Call, Reason, Script, ScriptVersion
from calls.scripts import RenderedStep, greeting, render_steps
from clients.models import Client, Transaction
from reactivation.models import BusinessSettings, Case, Offer, OfferTemplate, Policy
from reactivation.policies import policy_for_segments
from reactivation.selectors.model import p_alive_for

HISTORY_ROWS = 12
CALL_ROWS = 20


def _pick_script(
    segment_id: int | None, language: str, script_id: int | None
) -> tuple[list[Script], Script | None]:
    """The active scripts a manager may pick from, and the one to use: the requested one, else
    the segment's own, else a default (no segment) one in the page's language.

    The picker offers the scripts in the page's language (and those of no language): a
    Russian page does not offer the English script. Only where none is in that language are
    all offered."""
    scripts = list(
        Script.objects.filter(active=True)
        .filter(Q(segment_id=segment_id) | Q(segment__isnull=True))
        .order_by("name", "id")
    )
    base = (language or "").split("-")[0]
    in_language = [s for s in scripts if s.language in (base, "")]
    if in_language:
        scripts = in_language
    chosen = next((s for s in scripts if s.pk == script_id), None)
    if chosen is None:
        ranked = sorted(
            scripts,
            key=lambda s: (
                s.segment_id is None,
                s.language not in (language, ""),
                s.language == "",
                s.name,
            ),
        )
        chosen = ranked[0] if ranked else None
    return scripts, chosen


def script_values(
    *, client: Client, manager: Any, company: str, today: dt.date, language: str = ""
) -> dict[str, Any]:
    """The placeholders' values for one client. ``{greeting}`` greets the contact person, or
    the client by name where that is a person's, else neutrally, in the script's language."""
    days = client.days_since_last_purchase(today)
    contact = str(getattr(client, "contact_name", "") or "")
    client_name = client.name or client.external_id
    with translation.override(language or translation.get_language()):
        hello = greeting(
            hello=gettext("Hello!"),
            hello_name=gettext("Hello, {name}!"),
            contact_name=contact,
            client_name=client_name,
        )
    return {
        "greeting": hello,
        "contact_name": contact,
        "client_name": client_name,
        "days_since_last_purchase": "—" if days is None else days,
        "last_purchase_on": date_format(client.last_purchase_on, "SHORT_DATE_FORMAT")
        if client.last_purchase_on
        else "—",
        "manager_name": (manager.get_full_name() or manager.username) if manager else "",
        "company": company,
    }


@dataclass
class CasePage:
    case: Case
    client: Client
    policy: Policy
    transactions: list[Transaction]
    previous_cases: list[Case]
    calls: list[Call]
    offers: list[Offer]
    live_offer: Offer | None
    scripts: list[Script]
    script: Script | None
    version: ScriptVersion | None
    steps: list[RenderedStep]
    # The id of each active reason by its code: a script answer that names a reason fills it.
    reason_ids: dict[str, int]
    templates: list[OfferTemplate]
    p_alive: float | None
    days_since: int | None
    days_past_due: int | None
    today: dt.date
    company: str

    @property
    def can_call(self) -> bool:
        return (
            self.case.is_open and not self.case.is_control and self.case.assigned_to_id is not None
        )

    @property
    def next_call_time(self) -> dt.time | None:
        """The time of the case's next call: the one its latest call named with that date."""
        for call in self.calls:
            if call.case_id == self.case.pk:
                if call.next_call_on == self.case.next_call_on:
                    return call.next_call_time
                return None
        return None

    @property
    def p_alive_percent(self) -> int | None:
        return None if self.p_alive is None else round(100 * self.p_alive)


def case_get(*, case_id: int, user: Any) -> Case:
    """The case, or 404 when it does not exist or ``user`` may not see it.

    Read by its key and judged by ``Case.is_visible_to``: the scope's OR and its EXISTS cost
    more to plan than the whole read of one case. The case's manager is most often the viewer,
    whose row is at hand; another manager's row is read when the page asks for it (the wide
    user table joined in cost more to plan and compile than that query)."""
    case = get_object_or_404(
        Case.objects.select_related("client", "client__segment", "client__stats"), pk=case_id
    )
    if not case.is_visible_to(user):
        raise Http404
    if case.assigned_to_id is not None and case.assigned_to_id == user.pk:
        case.assigned_to = user
    return case


def case_get_to_claim(*, case_id: int, user: Any) -> Case:
    """The case ``user`` asks to claim: one they may see, or one that was in their pool until
    a colleague took it a moment ago, so that they are told so instead of shown a 404."""
    related = ("client", "client__segment", "client__stats", "client__manager", "assigned_to")
    case = Case.objects.visible_to(user).select_related(*related).filter(pk=case_id).first()
    if case is not None:
        return case
    return get_object_or_404(
        Case.objects.select_related(*related).filter(
            assigned_to__isnull=False,
            assigned_on__gte=timezone.localdate(),
            is_control=False,
            client__in=Client.objects.visible_to(user),
        ),
        pk=case_id,
    )


def _name_fields(relation: str) -> tuple[str, ...]:
    """The fields of a related user that a list shows: the full name, else the login."""
    return tuple(f"{relation}__{name}" for name in ("first_name", "last_name", "username"))


def case_page(
    *, case_id: int, user: Any, today: dt.date, language: str, script_id: int | None = None
) -> CasePage:
    """Everything the case page shows, in a fixed number of queries."""
    case = case_get(case_id=case_id, user=user)
    client = case.client
    policies = policy_for_segments()
    policy = policies.get(client.segment_id) or policies[None]
    settings_row = BusinessSettings.load()
    company = settings_row.company_name or django_settings.COMPANY_NAME or str(_("our company"))
    # Each list reads only the fields its rows show.
    history = client.transactions.only("client", "date", "promo_code", "amount")
    transactions = list(history.order_by("-date", "-id")[:HISTORY_ROWS])
    previous = list(
        Case.objects.filter(client=client)
        .exclude(pk=case.pk)
        .select_related("assigned_to")
        .only("opened_on", "status", "closed_on", "assigned_to", *_name_fields("assigned_to"))
        .order_by("-opened_on")[:10]
    )
    calls = list(
        Call.objects.filter(client=client)
        .select_related("manager", "reason")
        .only(
            "case",
            "called_at",
            "outcome",
            "next_call_on",
            "next_call_time",
            "promised_to_buy",
            "notes",
            "answers",
            "manager",
            "reason",
            "reason__name",
            *_name_fields("manager"),
        )
        .order_by("-called_at", "-id")[:CALL_ROWS]
    )
    offers = list(
        Offer.objects.filter(client=client)
        .select_related("template")
        .order_by("-issued_on", "-id")[:10]
    )
    live = next((o for o in offers if o.case_id == case.pk and o.can_redeem(today)), None)
    scripts, script = _pick_script(client.segment_id, language, script_id)
    version = None
    if script is not None:
        version = ScriptVersion.objects.filter(script=script).order_by("-number").first()
    manager = case.assigned_to or user
    values = script_values(
        client=client,
        manager=manager,
        company=company,
        today=today,
        language=(script.language if script else "") or language,
    )
    steps = render_steps(version.steps if version else [], values)
    named = {choice.reason for step in steps for choice in step.choices if choice.reason}
    reason_ids = (
        dict(Reason.objects.filter(active=True, code__in=named).values_list("code", "pk"))
        if named
        else {}
    )
    templates = list(OfferTemplate.objects.filter(active=True))
    p_alive = p_alive_for([client], today)[client.pk]
    return CasePage(
        case=case,
        client=client,
        policy=policy,
        transactions=transactions,
        previous_cases=previous,
        calls=calls,
        offers=offers,
        live_offer=live,
        scripts=scripts,
        script=script,
        version=version,
        steps=steps,
        reason_ids=reason_ids,
        templates=templates,
        p_alive=p_alive,
        days_since=client.days_since_last_purchase(today),
        days_past_due=client.days_past_due(today, flag_after=policy.flag_after),
        today=today,
        company=company,
    )
