"""Reads: a client's consent as it stands, suppression, a message's text, a case's messages."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from calls.models import Call
from calls.scripts import PLACEHOLDERS, render_text
from clients.models import Client
from clients.search import normalize_phone
from reactivation.messaging.errors import MessageRefused
from reactivation.messaging.models import (
    MESSAGE_CHANNELS,
    Channel,
    Consent,
    Message,
    MessageTemplate,
    Purpose,
    Suppression,
    TelegramLink,
)
from reactivation.messaging.rules import in_quiet_hours, over_cap, parse_quiet_hours
from reactivation.messaging.sms import SmsLength, sms_length
from reactivation.models import BusinessSettings, Case, Offer, OfferTemplate
from reactivation.roles import is_admin
from reactivation.selectors.case_page import script_values
from reactivation.services.offers import live_offer

# Message templates take the call scripts' placeholders and the offer's.
MESSAGE_PLACEHOLDERS = (
    *PLACEHOLDERS,
    "offer_code",
    "offer_terms",
    "offer_expires_on",
    "unsubscribe_url",
)
CHANNEL_LETTER = {Channel.SMS: "s", Channel.EMAIL: "e", Channel.TELEGRAM: "t", Channel.PHONE: "p"}


# --- Consent -------------------------------------------------------------------------------------
def consent_state(*, client: Client, channel: str, purpose: str) -> Consent | None:
    """The latest record for this client, channel and purpose: the consent as it stands."""
    return (
        Consent.objects.filter(client=client, channel=channel, purpose=purpose)
        .order_by("-recorded_at", "-id")
        .first()
    )


def consent_history(*, client: Client) -> list[Consent]:
    """Every record of the client's consent, newest first: the evidence as it was recorded."""
    return list(
        Consent.objects.filter(client=client)
        .select_related("recorded_by")
        .order_by("-recorded_at", "-id")
    )


@dataclass(frozen=True)
class ConsentRow:
    channel: str
    channel_label: str
    purpose: str
    purpose_label: str
    latest: Consent | None

    @property
    def granted(self) -> bool:
        return bool(self.latest and self.latest.granted)


def latest_consents(*, client: Client) -> dict[tuple[str, str], Consent]:
    """The latest record of each (channel, purpose) of the client, read in one query."""
    latest: dict[tuple[str, str], Consent] = {}
    for record in Consent.objects.filter(client=client).select_related("recorded_by", "call"):
        key = (record.channel, record.purpose)
        if key not in latest or (record.recorded_at, record.pk) > (
            latest[key].recorded_at,
            latest[key].pk,
        ):
            latest[key] = record
    return latest


def client_consents(*, client: Client) -> list[ConsentRow]:
    """Every (channel, purpose) with its latest record, read in one query."""
    latest = latest_consents(client=client)
    return [
        ConsentRow(
            channel, str(channel_label), purpose, str(purpose_label), latest.get((channel, purpose))
        )
        for channel, channel_label in Channel.choices
        for purpose, purpose_label in Purpose.choices
    ]


# --- Addresses and suppression --------------------------------------------------------------------
def normalize_email(value: str) -> str:
    return (value or "").strip().lower()


def client_address(client: Client, channel: str) -> str:
    """Where a message by ``channel`` goes: the E.164 phone, the e-mail, the Telegram chat."""
    if channel in (Channel.SMS, Channel.PHONE):
        phone = normalize_phone(client.phone or "")
        return phone if phone.startswith("+") else ""
    if channel == Channel.EMAIL:
        return normalize_email(client.email)
    if channel == Channel.TELEGRAM:
        link = TelegramLink.objects.filter(client=client, chat_id__isnull=False).first()
        return str(link.chat_id) if link else ""
    return ""


def suppression_for(*, client: Client, channel: str) -> Suppression | None:
    """The suppression that stops ``channel`` to this client's address, if any."""
    if channel in (Channel.SMS, Channel.PHONE):
        value, kind = normalize_phone(client.phone or ""), Suppression.Kind.PHONE
    elif channel == Channel.EMAIL:
        value, kind = normalize_email(client.email), Suppression.Kind.EMAIL
    else:
        return None
    if not value:
        return None
    return Suppression.objects.filter(kind=kind, value=value).first()


# --- The rules of sending ------------------------------------------------------------------------
# A phone that buzzes at night: SMS and Telegram keep quiet hours; an e-mail waits in the inbox.
QUIET_CHANNELS = (Channel.SMS, Channel.TELEGRAM)
SERVICE_CALL_WINDOW = dt.timedelta(days=1)


@dataclass(frozen=True)
class SendFacts:
    """What the rules of sending read of one client, read once (four queries) however many
    channels are judged: the addresses, the latest consents, the suppressions of the
    addresses, and the advertising messages each channel carried within the cap's window."""

    addresses: dict[str, str]
    consents: dict[tuple[str, str], Consent]
    suppressions: dict[str, Suppression]
    recent_advertising: dict[str, int]


def send_facts(*, client: Client, now: dt.datetime) -> SendFacts:
    link = TelegramLink.objects.filter(client=client, chat_id__isnull=False).first()
    phone = normalize_phone(client.phone or "")
    phone = phone if phone.startswith("+") else ""
    email = normalize_email(client.email)
    addresses = {
        Channel.SMS: phone,
        Channel.PHONE: phone,
        Channel.EMAIL: email,
        Channel.TELEGRAM: str(link.chat_id) if link else "",
    }
    wanted = [(Suppression.Kind.PHONE, phone), (Suppression.Kind.EMAIL, email)]
    found = {}
    if phone or email:
        lookup = Q(pk__in=[])
        for kind, value in wanted:
            if value:
                lookup |= Q(kind=kind, value=value)
        found = {(row.kind, row.value): row for row in Suppression.objects.filter(lookup)}
    suppressions = {
        channel: found[(kind, value)]
        for channel, kind, value in (
            (Channel.SMS, Suppression.Kind.PHONE, phone),
            (Channel.PHONE, Suppression.Kind.PHONE, phone),
            (Channel.EMAIL, Suppression.Kind.EMAIL, email),
        )
        if (kind, value) in found
    }
    recent = (
        Message.objects.filter(
            client=client,
            purpose=Purpose.ADVERTISING,
            created_at__gte=now - dt.timedelta(days=settings.MESSAGES_CAP_DAYS),
        )
        .exclude(status=Message.Status.FAILED)
        .values("channel")
        .annotate(n=Count("id"))
    )
    return SendFacts(
        addresses=addresses,
        consents=latest_consents(client=client),
        suppressions=suppressions,
        recent_advertising={row["channel"]: row["n"] for row in recent},
    )


def send_refusal(
    *,
    case: Case,
    channel: str,
    purpose: str,
    now: dt.datetime,
    facts: SendFacts | None = None,
) -> MessageRefused | None:
    """Why a message to the case's client by ``channel`` would be refused at ``now``, or None.

    In order: the case (open, not control), the client (not do-not-contact, has an address),
    the suppression list (a grant recorded after the address was suppressed lifts it for this
    client only, never for the duplicates), the consent (advertising needs a standing grant; a
    service message, no withdrawal and a reached call on the case within a day), quiet hours,
    and the frequency cap. ``facts`` are the client's, read by ``send_facts`` when not given.
    """
    client = case.client
    if channel not in MESSAGE_CHANNELS:
        return MessageRefused("channel")
    if not case.is_open:
        return MessageRefused("case_closed")
    if case.is_control:
        return MessageRefused("control")
    if client.do_not_contact:
        return MessageRefused("do_not_contact")
    facts = facts or send_facts(client=client, now=now)
    if not facts.addresses.get(channel):
        return MessageRefused("no_address")
    latest = facts.consents.get((channel, purpose))
    suppression = facts.suppressions.get(channel)
    if suppression is not None and not (
        latest is not None and latest.granted and latest.recorded_at > suppression.created_at
    ):
        return MessageRefused("suppressed")
    if purpose == Purpose.ADVERTISING:
        if latest is None:
            return MessageRefused("no_consent")
        if not latest.granted:
            return MessageRefused("withdrawn")
    else:
        if latest is not None and not latest.granted:
            return MessageRefused("service_withdrawn")
        # A service message is the code the client asked for on a call: it needs that call
        # (reached, on this case, within a day), or it would be advertising by another name.
        if not Call.objects.filter(
            case=case, outcome=Call.Outcome.REACHED, called_at__gte=now - SERVICE_CALL_WINDOW
        ).exists():
            return MessageRefused("no_call")
    if channel in QUIET_CHANNELS and in_quiet_hours(
        timezone.localtime(now).time(), parse_quiet_hours(settings.MESSAGES_QUIET_HOURS)
    ):
        return MessageRefused("quiet_hours")
    if purpose == Purpose.ADVERTISING and over_cap(
        facts.recent_advertising.get(channel, 0), settings.MESSAGES_CAP
    ):
        return MessageRefused("cap")
    return None


# --- Unsubscribe links ----------------------------------------------------------------------------
def _signature(client_id: int, letter: str) -> str:
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"unsubscribe:{client_id}:{letter}".encode(), hashlib.sha256
    ).hexdigest()
    return digest[:12]


def unsubscribe_token(*, client_id: int, channel: str) -> str:
    """A short signed token naming a client and a channel: no log-in is needed to use it."""
    letter = CHANNEL_LETTER[Channel(channel)]
    return f"{client_id}{letter}{_signature(client_id, letter)}"


def unsubscribe_read(token: str) -> tuple[int, str] | None:
    """(client id, channel) from a token, or None when it was not made here."""
    for channel, letter in CHANNEL_LETTER.items():
        head, sep, signature = token.partition(letter)
        if sep and head.isdigit() and hmac.compare_digest(signature, _signature(int(head), letter)):
            return int(head), str(channel)
    return None


def callback_token(provider: str) -> str:
    """The secret part of a provider's callback URL: only the provider, told it, can post there."""
    return hmac.new(
        settings.SECRET_KEY.encode(), f"callback:{provider}".encode(), hashlib.sha256
    ).hexdigest()[:24]


def callback_url(provider: str) -> str:
    path = reverse("messaging_callback", args=[provider, callback_token(provider)])
    return settings.MESSAGES_PUBLIC_URL.rstrip("/") + path


def telegram_start_token(client_id: int) -> str:
    """The ``start`` parameter of the client's deep link (Telegram takes [A-Za-z0-9_-])."""
    return f"{client_id}-{_signature(client_id, 'tg')}"


def telegram_start_read(token: str) -> int | None:
    head, sep, signature = (token or "").partition("-")
    if sep and head.isdigit() and hmac.compare_digest(signature, _signature(int(head), "tg")):
        return int(head)
    return None


def telegram_deep_link(client_id: int) -> str:
    if not settings.TELEGRAM_BOT_USERNAME:
        return ""
    return f"https://t.me/{settings.TELEGRAM_BOT_USERNAME}?start={telegram_start_token(client_id)}"


def unsubscribe_url(*, client_id: int, channel: str) -> str:
    path = reverse(
        "messaging_unsubscribe", args=[unsubscribe_token(client_id=client_id, channel=channel)]
    )
    return settings.MESSAGES_PUBLIC_URL.rstrip("/") + path


# --- Rendering ------------------------------------------------------------------------------------
def offer_terms(offer: Offer) -> str:
    """What the offer gives, in the active language: the template's own words, else its kind."""
    if offer.template.description:
        return offer.template.description
    value = number_format(offer.value, decimal_pos=0 if offer.value == int(offer.value) else 2)
    if offer.kind == OfferTemplate.Kind.PERCENT:
        return gettext("%(value)s%% off") % {"value": value}
    if offer.kind == OfferTemplate.Kind.AMOUNT:
        return gettext("%(value)s off") % {"value": value}
    if offer.kind == OfferTemplate.Kind.FREE_DELIVERY:
        return gettext("free delivery")
    return gettext("a gift")


def message_template(
    *, offer_template_id: int | None, channel: str, language: str
) -> MessageTemplate | None:
    """The offer's own template for this channel and language, else the default one, else the
    default in the product's language."""
    candidates = MessageTemplate.objects.filter(channel=channel, active=True).filter(
        Q(offer_template_id=offer_template_id) | Q(offer_template__isnull=True)
    )
    ranked = sorted(
        candidates,
        key=lambda t: (
            t.language != language,
            t.offer_template_id is None,
            t.language != settings.LANGUAGE_CODE,
        ),
    )
    return ranked[0] if ranked else None


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    language: str
    length: SmsLength | None = None


def _company() -> str:
    """The business's name as the case page's scripts name it (in the active language)."""
    return BusinessSettings.load().company_name or settings.COMPANY_NAME or gettext("our company")


def message_render(
    *,
    case: Case,
    offer: Offer,
    channel: str,
    language: str,
    manager: Any,
    today: dt.date | None = None,
    company: str | None = None,
) -> Rendered | None:
    """The message ``offer`` makes by ``channel`` in ``language``, or None without a template.
    ``company``: the business's name where the caller has read it already."""
    template = message_template(
        offer_template_id=offer.template_id, channel=channel, language=language
    )
    if template is None:
        return None
    today = today or timezone.localdate()
    client = case.client
    with translation.override(template.language):
        values = script_values(
            client=client, manager=manager, company=company or _company(), today=today
        )
        values.setdefault("greeting", gettext("Hello!"))
        values.update(
            offer_code=offer.code,
            offer_terms=offer_terms(offer),
            offer_expires_on=date_format(offer.expires_on, "SHORT_DATE_FORMAT"),
            unsubscribe_url=unsubscribe_url(client_id=client.pk, channel=channel),
        )
        text = render_text(template.body, values, escape=False).strip()
        subject = render_text(template.subject, values, escape=False).strip()
    length = sms_length(text) if channel == Channel.SMS else None
    return Rendered(subject=subject, text=text, language=template.language, length=length)


# --- The case's messages and the send panel -------------------------------------------------------
def case_messages(*, case: Case) -> list[Message]:
    return list(
        Message.objects.filter(case=case)
        .select_related("created_by")
        .order_by("-created_at", "-id")
    )


@dataclass
class ChannelOption:
    channel: str
    label: str
    address: str
    refusal: str = ""  # why a message by this channel would be refused now; empty: it can go


@dataclass
class SendPanel:
    case: Case
    offer: Offer | None
    options: list[ChannelOption] = field(default_factory=list)
    channel: str = ""
    language: str = ""
    preview: Rendered | None = None
    messages: list[Message] = field(default_factory=list)
    can_send: bool = False
    why_not: str = ""


ERR_NO_LIVE_OFFER = _("Issue an offer first: the message carries its code.")


def send_panel(
    *,
    case: Case,
    user: Any,
    channel: str = "",
    language: str = "",
    now: dt.datetime | None = None,
    page: Any = None,
) -> SendPanel:
    """What the offer panel shows: each channel with the reason it is refused, if it is, and
    the chosen channel's message as it would be sent."""
    now = now or timezone.now()
    # The case page has read the live offer (with its template) and the business's name.
    if page is not None:
        offer, company = page.live_offer, page.company
    else:
        offer, company = live_offer(case, timezone.localdate(now)), None
    panel = SendPanel(case=case, offer=offer, messages=case_messages(case=case))
    panel.language = (
        language
        if language in dict(settings.LANGUAGES)
        else (translation.get_language() or settings.LANGUAGE_CODE)[:2]
    )
    facts = send_facts(client=case.client, now=now)
    for value in MESSAGE_CHANNELS:
        refusal = send_refusal(
            case=case, channel=value, purpose=Purpose.ADVERTISING, now=now, facts=facts
        )
        panel.options.append(
            ChannelOption(
                channel=value,
                label=str(Channel(value).label),
                address=facts.addresses[value],
                refusal=str(refusal.message) if refusal else "",
            )
        )
    allowed = [o.channel for o in panel.options if not o.refusal]
    panel.channel = (
        channel if channel in MESSAGE_CHANNELS else (allowed[0] if allowed else Channel.SMS)
    )
    if offer is None:
        panel.why_not = str(ERR_NO_LIVE_OFFER)
        return panel
    panel.preview = message_render(
        case=case,
        offer=offer,
        channel=panel.channel,
        language=panel.language,
        manager=case.assigned_to or user,
        company=company,
    )
    chosen = next(o for o in panel.options if o.channel == panel.channel)
    panel.why_not = chosen.refusal
    panel.can_send = not chosen.refusal and panel.preview is not None and case.is_open
    return panel


def panel_context(
    *,
    case: Case,
    user: Any,
    channel: str = "",
    language: str = "",
    notice: Any = None,
    page: Any = None,
) -> dict:
    """The send panel's template context, for its own view and for the case page's tag (which
    passes the page's data: the live offer and the business's name it has read)."""
    return {
        "panel": send_panel(case=case, user=user, channel=channel, language=language, page=page),
        "case": case,
        "notice": notice,
        "may_send": case.assigned_to_id == getattr(user, "pk", None) or is_admin(user),
        "languages": settings.LANGUAGES,
    }


def client_consents_context(*, client: Client) -> dict:
    """The client card's consents: each channel and purpose as it stands, the suppressed
    addresses, and the Telegram chat or the deep link that links one."""
    kinds = ((Suppression.Kind.PHONE, Channel.SMS), (Suppression.Kind.EMAIL, Channel.EMAIL))
    filters = Q(pk__in=[])
    for kind, channel in kinds:
        value = client_address(client, channel)
        if value:
            filters |= Q(kind=kind, value=value)
    telegram = TelegramLink.objects.filter(client=client).first()
    linked = telegram is not None and telegram.chat_id is not None
    return {
        "consents": client_consents(client=client),
        "suppressions": list(Suppression.objects.filter(filters)),
        "telegram": telegram,
        "telegram_link": "" if linked else telegram_deep_link(client.pk),
    }
