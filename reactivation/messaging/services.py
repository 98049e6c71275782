"""Writes: consent and suppression, sending a message, its delivery, and what comes back.

A send is decided and written in one transaction (the message row, with the offer where one is
issued with it) and handed to the delivery task after commit. The task claims the row by
compare-and-set before it calls the provider, so a task run twice sends once.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clients.models import Client
from clients.search import normalize_phone
from reactivation.messaging import selectors
from reactivation.messaging.errors import MessageRefused
from reactivation.messaging.models import (
    MESSAGE_CHANNELS,
    Channel,
    Consent,
    ConsentSource,
    Message,
    Purpose,
    Suppression,
    TelegramLink,
)
from reactivation.messaging.providers import get_provider, provider_name_for
from reactivation.messaging.providers.base import (
    InboundReply,
    PermanentProviderError,
    StatusReport,
    TransientProviderError,
)
from reactivation.messaging.sms import sms_parts
from reactivation.models import Case, Offer, OfferTemplate
from reactivation.services.offers import live_offer, offer_issue

logger = logging.getLogger(__name__)

ERR_CHANNEL = _("Unknown channel.")
ERR_PURPOSE = _("Unknown purpose.")
ERR_SOURCE = _("Unknown consent source.")
ERR_CALL_OTHER_CLIENT = _("The call is another client's.")
ERR_SUPPRESSION_VALUE = _("Give a valid phone or e-mail to suppress.")

# A reply that asks to stop: STOP, СТОП, ОТПИСКА, /stop, unsubscribe, in any case.
STOP_RE = re.compile(r"^\s*/?(stop|стоп|отписка|отписаться|unsubscribe)\b", re.IGNORECASE)


# --- Consent -------------------------------------------------------------------------------------
@transaction.atomic
def consent_record(
    *,
    client: Client,
    channel: str,
    purpose: str,
    granted: bool,
    source: str,
    text_version: str = "",
    recorded_by: Any = None,
    call: Any = None,
    note: str = "",
    at: dt.datetime | None = None,
) -> Consent:
    """Append one grant or withdrawal; the latest record is the consent as it stands."""
    if channel not in Channel.values:
        raise ValidationError({"channel": ERR_CHANNEL})
    if purpose not in Purpose.values:
        raise ValidationError({"purpose": ERR_PURPOSE})
    if source not in ConsentSource.values:
        raise ValidationError({"source": ERR_SOURCE})
    if call is not None and call.client_id != client.pk:
        raise ValidationError({"call": ERR_CALL_OTHER_CLIENT})
    return Consent.objects.create(
        client=client,
        channel=channel,
        purpose=purpose,
        granted=granted,
        source=source,
        text_version=text_version,
        address=selectors.client_address(client, channel),
        note=note,
        recorded_by=recorded_by if getattr(recorded_by, "is_authenticated", False) else None,
        recorded_at=at or timezone.now(),
        call=call,
    )


@dataclass(frozen=True)
class ConsentInput:
    """One consent from a file or a batch: the client's id, and what they agreed to."""

    client_id: int
    channel: str
    purpose: str
    granted: bool


IMPORT_CHUNK = 5000


def consents_import(
    *,
    entries: Iterable[ConsentInput],
    source: str = ConsentSource.IMPORT,
    text_version: str = "",
    recorded_by: Any = None,
    at: dt.datetime | None = None,
) -> int:
    """Append many consent records set-wise (an import's consent columns): one bulk insert,
    no query per row. An entry that repeats the client's standing state is skipped, so
    re-importing the same file adds nothing. Returns the records written."""
    entries = list(entries)
    for entry in entries:
        if entry.channel not in Channel.values:
            raise ValidationError({"channel": ERR_CHANNEL})
        if entry.purpose not in Purpose.values:
            raise ValidationError({"purpose": ERR_PURPOSE})
    if source not in ConsentSource.values:
        raise ValidationError({"source": ERR_SOURCE})
    client_ids = sorted({entry.client_id for entry in entries})
    standing: dict[tuple[int, str, str], bool] = {}
    # In chunks of ids (a bound list per query stays small on SQLite too); oldest first, so
    # the latest record of each key is the one left in the dict.
    for start in range(0, len(client_ids), IMPORT_CHUNK):
        for client_id, channel, purpose, granted in (
            Consent.objects.filter(client_id__in=client_ids[start : start + IMPORT_CHUNK])
            .order_by("recorded_at", "id")
            .values_list("client_id", "channel", "purpose", "granted")
        ):
            standing[(client_id, channel, purpose)] = granted
    moment = at or timezone.now()
    user = recorded_by if getattr(recorded_by, "is_authenticated", False) else None
    rows = []
    for entry in entries:
        key = (entry.client_id, entry.channel, entry.purpose)
        if standing.get(key) == entry.granted:
            continue
        standing[key] = entry.granted
        rows.append(
            Consent(
                client_id=entry.client_id,
                channel=entry.channel,
                purpose=entry.purpose,
                granted=entry.granted,
                source=source,
                text_version=text_version,
                recorded_by=user,
                recorded_at=moment,
            )
        )
    Consent.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def consent_allows(*, client: Client, channel: str, purpose: str) -> bool:
    """Whether the consent as it stands lets a message of ``purpose`` go by ``channel``: an
    advertising message needs a standing grant; a service message, no withdrawal. A suppressed
    address allows nothing unless this client granted again after it was suppressed."""
    latest = selectors.consent_state(client=client, channel=channel, purpose=purpose)
    suppression = selectors.suppression_for(client=client, channel=channel)
    if suppression is not None and not (
        latest is not None and latest.granted and latest.recorded_at > suppression.created_at
    ):
        return False
    if purpose == Purpose.ADVERTISING:
        return latest is not None and latest.granted
    return latest is None or latest.granted


def suppression_add(
    *, value: str, source: str, kind: str | None = None, by: Any = None, note: str = ""
) -> Suppression:
    """Suppress a phone or an e-mail (normalised: E.164, lower case). Adding one twice keeps
    the first."""
    value = (value or "").strip()
    if kind is None:
        kind = Suppression.Kind.EMAIL if "@" in value else Suppression.Kind.PHONE
    if kind == Suppression.Kind.EMAIL:
        value = selectors.normalize_email(value)
        if "@" not in value:
            raise ValidationError({"value": ERR_SUPPRESSION_VALUE})
    else:
        value = normalize_phone(value)
        if not value.startswith("+"):
            raise ValidationError({"value": ERR_SUPPRESSION_VALUE})
    row, _created = Suppression.objects.get_or_create(
        kind=kind,
        value=value,
        defaults={
            "source": source,
            "note": note,
            "created_by": by if getattr(by, "is_authenticated", False) else None,
        },
    )
    return row


@transaction.atomic
def consent_withdraw_everywhere(
    *, client: Client, channel: str, source: str, address: str = "", note: str = ""
) -> list[Consent]:
    """A client said stop on ``channel``: withdraw advertising by it at once, for this client
    and every other record with the same address, and suppress the address."""
    address = address or selectors.client_address(client, channel)
    kind = {
        Channel.SMS: Suppression.Kind.PHONE,
        Channel.PHONE: Suppression.Kind.PHONE,
        Channel.EMAIL: Suppression.Kind.EMAIL,
    }.get(Channel(channel))
    if kind is not None and address:
        suppression_add(value=address, kind=kind, source=source, note=note)
    clients = [client, *_same_address(client, channel, address)]
    return [
        consent_record(
            client=other,
            channel=channel,
            purpose=Purpose.ADVERTISING,
            granted=False,
            source=source,
            note=note,
        )
        for other in clients
    ]


def _same_address(client: Client, channel: str, address: str) -> Iterable[Client]:
    if not address:
        return []
    if channel in (Channel.SMS, Channel.PHONE):
        return Client.objects.filter(phone=address).exclude(pk=client.pk)
    if channel == Channel.EMAIL:
        return Client.objects.filter(email__iexact=address).exclude(pk=client.pk)
    if channel == Channel.TELEGRAM:
        return Client.objects.filter(telegram__chat_id=address).exclude(pk=client.pk)
    return []


# --- Sending -------------------------------------------------------------------------------------
def _enqueue(message_id: int) -> None:
    """Deliver after commit: by the worker, or in-process where tasks run eagerly (no Redis;
    ``message_deliver_now`` then tries the attempts at once instead of raising a retry into
    the request)."""
    # The task module imports this one; it is imported here, where it is used, to keep the
    # import one way (tasks -> services) at load time.
    from reactivation.celery import app
    from reactivation.messaging.tasks import message_deliver_task

    def deliver() -> None:
        if app.conf.task_always_eager:
            message_deliver_now(message_id=message_id)
        else:
            message_deliver_task.delay(message_id)

    transaction.on_commit(deliver)


@transaction.atomic
def message_send(
    *,
    case: Case,
    channel: str,
    by: Any,
    purpose: str = Purpose.ADVERTISING,
    offer: Offer | None = None,
    language: str = "",
    now: dt.datetime | None = None,
) -> Message:
    """Decide and write one message of the case's live offer; it leaves after commit.

    1. Lock the case row, so two clicks cannot both pass the frequency cap.
    2. Refuse (``MessageRefused``, nothing written) what the rules refuse: a closed or control
       case, a do-not-contact client, no address, a suppressed address, no consent or a
       withdrawn one, quiet hours, the cap; no valid offer; no template.
    3. Render the template, write the row as queued, hand it to the task after commit.
    """
    now = now or timezone.now()
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("client", "assigned_to")
        .get(pk=case.pk)
    )
    refusal = selectors.send_refusal(case=case, channel=channel, purpose=purpose, now=now)
    if refusal is not None:
        raise refusal
    offer = offer or live_offer(case, timezone.localdate(now))
    if offer is None or offer.case_id != case.pk or not offer.can_redeem(timezone.localdate(now)):
        raise MessageRefused("no_offer")
    language = language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    rendered = selectors.message_render(
        case=case,
        offer=offer,
        channel=channel,
        language=language,
        manager=case.assigned_to or by,
        today=timezone.localdate(now),
    )
    if rendered is None:
        raise MessageRefused("no_template")
    message = Message.objects.create(
        case=case,
        client=case.client,
        offer=offer,
        channel=channel,
        purpose=purpose,
        to=selectors.client_address(case.client, channel),
        subject=rendered.subject,
        text=rendered.text,
        language=rendered.language,
        sms_parts=sms_parts(rendered.text) if channel == Channel.SMS else 0,
        provider=provider_name_for(channel),
        created_by=by if getattr(by, "is_authenticated", False) else None,
        created_at=now,
    )
    _enqueue(message.pk)
    return message


@transaction.atomic
def offer_send(
    *,
    case: Case,
    channel: str,
    by: Any,
    template: OfferTemplate | None = None,
    language: str = "",
    purpose: str = Purpose.ADVERTISING,
    now: dt.datetime | None = None,
) -> Message:
    """Send the case's live offer by ``channel``, issuing one from ``template`` first where the
    case has none. A refused send rolls the issue back: nothing is issued and nothing sent."""
    now = now or timezone.now()
    offer = live_offer(case, timezone.localdate(now))
    if offer is None:
        if template is None:
            raise MessageRefused("no_offer")
        refusal = selectors.send_refusal(
            case=Case.objects.select_related("client").get(pk=case.pk),
            channel=channel,
            purpose=purpose,
            now=now,
        )
        if refusal is not None:
            raise refusal
        offer = offer_issue(case=case, template=template, by=by, today=timezone.localdate(now))
    return message_send(
        case=case, channel=channel, by=by, purpose=purpose, offer=offer, language=language, now=now
    )


# --- Delivery ------------------------------------------------------------------------------------
# Transient errors are retried this many times (with backoff by the worker) before the message fails.
DELIVERY_RETRIES = 5


def message_deliver(*, message_id: int, last_attempt: bool = False) -> str:
    """Send one queued message through its provider. Returns the row's status afterwards.

    1. Claim the row: ``queued -> sending`` by compare-and-set. A row already claimed, sent or
       gone is left alone, so a task delivered twice sends once.
    2. Call the provider outside any transaction.
    3. Sent: store the provider's id. A permanent error: failed with the provider's reason. A
       transient one: back to queued and re-raised for the task to retry, except on the last
       attempt, when the message fails with that reason.
    """
    claimed = Message.objects.filter(pk=message_id, status=Message.Status.QUEUED).update(
        status=Message.Status.SENDING, attempts=F("attempts") + 1, status_at=timezone.now()
    )
    if not claimed:
        row = Message.objects.filter(pk=message_id).values_list("status", flat=True).first()
        return row or ""
    message = Message.objects.get(pk=message_id)
    try:
        result = get_provider(message.provider).send(message)
    except TransientProviderError as error:
        if last_attempt:
            _finish(message_id, Message.Status.FAILED, error=error.reason)
            return Message.Status.FAILED
        Message.objects.filter(pk=message_id, status=Message.Status.SENDING).update(
            status=Message.Status.QUEUED, error=error.reason[:500]
        )
        raise
    except PermanentProviderError as error:
        _finish(message_id, Message.Status.FAILED, error=error.reason)
        return Message.Status.FAILED
    status = Message.Status.DELIVERED if result.status == "delivered" else Message.Status.SENT
    _finish(message_id, status, provider_id=result.provider_id, sent=True)
    return status


def message_deliver_now(*, message_id: int) -> str:
    """In-process delivery: the first try and up to ``DELIVERY_RETRIES`` more at once."""
    for attempt in range(DELIVERY_RETRIES + 1):
        try:
            return message_deliver(message_id=message_id, last_attempt=attempt == DELIVERY_RETRIES)
        except TransientProviderError:
            continue
    return Message.Status.FAILED  # pragma: no cover - the last attempt never raises


def _finish(
    message_id: int, status: str, *, error: str = "", provider_id: str = "", sent: bool = False
) -> None:
    now = timezone.now()
    values: dict[str, Any] = {"status": status, "error": error[:500], "status_at": now}
    if provider_id:
        values["provider_id"] = provider_id
    if sent:
        values["sent_at"] = now
    Message.objects.filter(pk=message_id, status=Message.Status.SENDING).update(**values)


# Statuses only move forward: a late "sent" never undoes "delivered" or "failed".
_RANK = {
    Message.Status.QUEUED: 0,
    Message.Status.SENDING: 1,
    Message.Status.SENT: 2,
    Message.Status.DELIVERED: 3,
    Message.Status.FAILED: 3,
}


def message_status_apply(*, provider: str, reports: Iterable[StatusReport]) -> int:
    """Apply a provider's delivery reports to the rows it names; returns the rows changed."""
    changed = 0
    now = timezone.now()
    for report in reports:
        status = Message.Status(report.status)
        lower = [s for s, rank in _RANK.items() if rank < _RANK[status]]
        changed += Message.objects.filter(
            provider=provider, provider_id=report.provider_id, status__in=lower
        ).update(status=status, error=report.reason[:500], status_at=now)
    return changed


# --- What comes back: replies, unsubscribes, Telegram links ---------------------------------------
def inbound_apply(*, channel: str, replies: Iterable[InboundReply]) -> int:
    """A STOP reply withdraws advertising by that channel from every client with the address
    and suppresses it. Returns how many replies said stop."""
    stops = 0
    for reply in replies:
        if not STOP_RE.match(reply.text or ""):
            continue
        if channel == Channel.TELEGRAM:
            clients = list(Client.objects.filter(telegram__chat_id=reply.address))
        else:
            clients = list(Client.objects.filter(phone=normalize_phone(reply.address)))
        if not clients:
            if channel == Channel.SMS:
                suppression_add(
                    value=reply.address,
                    kind=Suppression.Kind.PHONE,
                    source=ConsentSource.STOP_REPLY,
                )
            continue
        stops += 1
        consent_withdraw_everywhere(
            client=clients[0],
            channel=channel,
            source=ConsentSource.STOP_REPLY,
            address=reply.address if channel != Channel.TELEGRAM else str(reply.address),
            note=(reply.text or "")[:255],
        )
    return stops


def unsubscribe(*, client_id: int, channel: str) -> Client | None:
    """The unsubscribe link was followed: withdraw and suppress at once."""
    client = Client.objects.filter(pk=client_id).first()
    if client is None or channel not in MESSAGE_CHANNELS:
        return None
    consent_withdraw_everywhere(client=client, channel=channel, source=ConsentSource.UNSUBSCRIBE)
    return client


def telegram_start(*, token: str, chat_id: int) -> TelegramLink | None:
    """``/start <token>`` from a chat: store the chat on the client the token was made for."""
    client_id = selectors.telegram_start_read(token)
    if client_id is None or not Client.objects.filter(pk=client_id).exists():
        return None
    link, _created = TelegramLink.objects.update_or_create(
        client_id=client_id, defaults={"chat_id": chat_id, "linked_at": timezone.now()}
    )
    return link
