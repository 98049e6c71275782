"""What the phone system's events do: store them, build calls, match clients and cases, dial.

Order of work for a webhook (``events_receive``): the view has checked the token and the
signature; each event is stored raw (deduplicated by its key) and the response goes back at
once; a task processes each stored event after the commit (``event_process``).
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clients.models import Client, Status
from clients.search import normalize_phone
from reactivation.models import Case
from reactivation.roles import sees_everything
from reactivation.telephony.adapters import (
    CallEvent,
    OriginateError,
    WebhookRequest,
    adapter_for,
)
from reactivation.telephony.adapters import base as events
from reactivation.telephony.models import PhoneAccount, PhoneCall, PhoneEvent, PhoneExtension

log = logging.getLogger(__name__)

ERR_NO_ACCOUNT = _("No phone system is set up: an administrator connects one in Settings.")
ERR_NO_EXTENSION = _("You have no extension on the phone system: ask an administrator to set one.")
ERR_NO_PHONE = _("The client has no phone number.")
ERR_CASE_CLOSED = _("This case is closed.")
ERR_NOT_YOURS = _("Only the case's manager calls from this case.")
ERR_PROVIDER = _("The phone system did not accept the call: %(reason)s")
ERR_EXTENSION_TAKEN = _("This extension already belongs to %(user)s.")
ERR_EXTENSION_EMPTY = _("Type the extension.")

RETURNING_STATUSES = {Status.SLEEPING, Status.LOST}


class PhoneError(Exception):
    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


# --- Accounts ---------------------------------------------------------------------------------
def environment_account() -> PhoneAccount | None:
    """The account the environment configures (``PHONE_PROVIDER`` ...), kept as a row so that
    events and calls can point at it; None when the environment names no phone system."""
    provider = settings.PHONE_PROVIDER
    row = PhoneAccount.objects.filter(from_environment=True).first()
    if not provider:
        if row is not None and row.active:
            row.active = False
            row.save(update_fields=["active"])
        return None
    label = PhoneAccount.Provider(provider).label
    if row is None:
        row, _created = PhoneAccount.objects.get_or_create(
            from_environment=True,
            defaults={"provider": provider, "name": str(label), "active": True},
        )
    if row.provider != provider or not row.active:
        row.provider, row.name, row.active = provider, str(label), True
        row.save(update_fields=["provider", "name", "active"])
    return row


def account_default() -> PhoneAccount | None:
    """The account that click-to-call dials through: the first active one set on the settings
    page, else the environment's."""
    page = PhoneAccount.objects.filter(active=True, from_environment=False).order_by("id").first()
    return page or environment_account()


def account_for_webhook(provider: str, token: str) -> PhoneAccount | None:
    """The active account of ``provider`` whose token is ``token``, compared in constant time
    with each candidate's (there are a handful), so a guess learns nothing from the timing."""
    candidates = list(
        PhoneAccount.objects.filter(provider=provider, active=True, from_environment=False)
    )
    env = environment_account()
    if env is not None and env.provider == provider:
        candidates.append(env)
    found = None
    for account in candidates:
        expected = account.current_token()
        if expected and hmac.compare_digest(expected.encode(), token.encode()):
            found = account
    return found


def account_regenerate_token(account: PhoneAccount) -> PhoneAccount:
    from reactivation.telephony.models import new_token

    account.webhook_token = new_token()
    account.save(update_fields=["webhook_token"])
    return account


@transaction.atomic
def extension_set(*, user: Any, extension: str) -> PhoneExtension | None:
    """Give ``user`` this extension (empty: take theirs away). One extension, one user."""
    extension = extension.strip()
    if not extension:
        PhoneExtension.objects.filter(user=user).delete()
        return None
    other = PhoneExtension.objects.filter(extension=extension).exclude(user=user).first()
    if other is not None:
        raise PhoneError(ERR_EXTENSION_TAKEN % {"user": other.user.get_username()})
    row, _created = PhoneExtension.objects.update_or_create(
        user=user, defaults={"extension": extension}
    )
    return row


# --- Receiving events -------------------------------------------------------------------------
def events_receive(*, account: PhoneAccount, request: WebhookRequest) -> list[int]:
    """Store each event of a verified request (once per key) and queue it for processing after
    the commit. Returns the ids of the events stored now (a repeated delivery stores none)."""
    from reactivation.telephony import tasks

    parsed = adapter_for(account.adapter_config()).parse(request)
    payload = dict(request.form) if request.form else _json_or_text(request.body)
    stored: list[int] = []
    with transaction.atomic():
        for event in parsed:
            if not event.key:
                continue
            row, created = PhoneEvent.objects.get_or_create(
                account=account,
                key=event.key[:255],
                defaults={
                    "kind": event.kind,
                    "call_id": event.call_id[:128],
                    "payload": payload,
                    "data": event.as_dict(),
                },
            )
            if created:
                stored.append(row.pk)
        for event_id in stored:
            transaction.on_commit(lambda event_id=event_id: _enqueue(tasks, event_id))
    return stored


def _enqueue(tasks: Any, event_id: int) -> None:
    """Queue one stored event. The phone system has its answer coming whatever happens here: an
    event that cannot be queued (or, in-process, processed) stays stored unprocessed, with its
    error, for ``manage.py phone_events_process``."""
    try:
        tasks.phone_event_process.delay(event_id)
    except Exception as exc:  # noqa: BLE001 (the event is kept; the log and the row say why)
        log.exception("phone event %s was not processed", event_id)
        event_fail(event_id=event_id, message=repr(exc))


def event_fail(*, event_id: int, message: str) -> None:
    PhoneEvent.objects.filter(pk=event_id).update(error=message[:2000])


def events_pending(*, older_than: dt.timedelta = dt.timedelta(minutes=1)) -> list[int]:
    """Stored events not processed yet (a worker that was down, a failure), oldest first."""
    cutoff = timezone.now() - older_than
    return list(
        PhoneEvent.objects.filter(processed_at__isnull=True, received_at__lte=cutoff)
        .order_by("received_at", "id")
        .values_list("id", flat=True)
    )


def _json_or_text(body: bytes) -> Any:
    import json

    try:
        return json.loads(body or b"{}")
    except ValueError:
        return {"body": body.decode(errors="replace")[:10000]}


def event_process(*, event_id: int) -> PhoneCall | None:
    """Turn one stored event into (a change of) its call. Running it twice changes nothing.

    1. Claim the event (a row lock; a processed event is left alone).
    2. Find its call by the phone system's call id; else a click-to-call waiting for it, by our
       request id or by extension, number and time window; else a new call. Events may come
       alone or out of order: whichever comes first makes the call.
    3. Apply the event (start, answer, end, recording) without undoing what a later one said.
    4. Match the manager by extension, the client by number, the case: the client's open one.
    5. A finished inbound call: marked when the client was sleeping or lost; when missed, a
       call-back is raised on the open case for its manager.
    """
    with transaction.atomic():
        row = (
            # Only the event is locked: events of one account are processed side by side.
            PhoneEvent.objects.select_for_update(of=("self",))
            .select_related("account")
            .filter(pk=event_id, processed_at__isnull=True)
            .first()
        )
        if row is None:
            return None
        event = CallEvent.from_dict(row.data)
        call = _call_for(row.account, event)
        had_recording = call.has_recording
        _apply(call, event)
        _match(call)
        call.save()
        _effects(call)
        row.processed_at, row.error = timezone.now(), ""
        row.save(update_fields=["processed_at", "error"])
        if call.has_recording and not had_recording and settings.PHONE_RECORDING_RETENTION_DAYS:
            _schedule_fetch(call.pk)
    return call


def _schedule_fetch(phone_call_id: int) -> None:
    from reactivation.telephony import tasks

    # The phone system needs a moment to save the file (Zadarma advises 40 seconds).
    transaction.on_commit(
        lambda: tasks.phone_recording_fetch.apply_async(
            (phone_call_id,), countdown=settings.PHONE_RECORDING_DELAY_SECONDS
        )
    )


def _window() -> dt.timedelta:
    return dt.timedelta(seconds=settings.PHONE_MATCH_WINDOW_SECONDS)


def _call_for(account: PhoneAccount, event: CallEvent) -> PhoneCall:
    existing = PhoneCall.objects.select_for_update().filter(
        account=account, provider_call_id=event.call_id
    )
    call = existing.first()
    if call is not None:
        return call
    number = normalize_phone(event.number) if event.number else ""
    waiting = PhoneCall.objects.select_for_update().filter(
        account=account, provider_call_id="", click_to_call=True
    )
    dialled = None
    if event.request_id:
        dialled = waiting.filter(request_id=event.request_id).first()
    if dialled is None and event.direction != events.INBOUND and event.extension and number:
        when = event.started_at or event.at
        dialled = (
            waiting.filter(
                extension=event.extension,
                number=number,
                created_at__gte=when - _window(),
                created_at__lte=when + _window(),
            )
            .order_by("-created_at")
            .first()
        )
    if dialled is not None:
        dialled.provider_call_id = event.call_id
        return dialled
    try:
        with transaction.atomic():
            return PhoneCall.objects.create(
                account=account,
                provider_call_id=event.call_id,
                direction=event.direction or events.INBOUND,
                number=number,
                extension=event.extension,
            )
    except IntegrityError:
        # Another worker made this call from another of its events a moment ago.
        return existing.get()


def _apply(call: PhoneCall, event: CallEvent) -> None:
    if event.direction and not call.direction:
        call.direction = event.direction
    if event.number and not call.number:
        call.number = normalize_phone(event.number)
    if event.extension and not call.extension:
        call.extension = event.extension
    started = event.started_at or (event.at if event.kind == events.START else None)
    if started and (call.started_at is None or started < call.started_at):
        call.started_at = started
    if event.kind in (events.START, events.ANSWER) and not call.is_finished:
        call.result = PhoneCall.Result.IN_PROGRESS
    if event.kind == events.ANSWER and call.answered_at is None:
        call.answered_at = event.at
        if event.extension and event.extension != call.extension:
            # Who picked up, of those it rang: the call is theirs.
            call.extension, call.manager_id = event.extension, None
    if event.kind == events.END:
        call.ended_at = event.at
        call.result = event.result or (
            PhoneCall.Result.ANSWERED if call.answered_at else PhoneCall.Result.NO_ANSWER
        )
        if event.duration is not None:
            call.duration = max(event.duration, 0)
        elif call.answered_at:
            call.duration = max(int((event.at - call.answered_at).total_seconds()), 0)
        if call.result == PhoneCall.Result.ANSWERED and call.answered_at is None:
            call.answered_at = event.at - dt.timedelta(seconds=call.duration or 0)
    if event.recording_ref:
        call.recording_ref = event.recording_ref
    if event.recording_url:
        call.recording_url = event.recording_url
    if call.started_at is None:
        call.started_at = event.at


def _match(call: PhoneCall) -> None:
    if call.manager_id is None and call.extension:
        call.manager_id = (
            PhoneExtension.objects.filter(extension=call.extension)
            .values_list("user_id", flat=True)
            .first()
        )
    if call.client_id is None and call.number:
        client = client_for_number(call.number)
        if client is not None:
            call.client = client
    if call.client_id is not None and call.case_id is None:
        call.case = case_for_client(call.client, returning=call.direction == events.INBOUND)


def client_for_number(number: str) -> Client | None:
    """The client with this phone (normalised); of several, one with an open case first, then
    the newest."""
    if not number.startswith("+"):
        return None
    clients = list(Client.objects.filter(phone=number).order_by("-id")[:10])
    if not clients:
        return None
    with_open = set(
        Case.objects.open().filter(client__in=clients).values_list("client_id", flat=True)
    )
    return next((c for c in clients if c.pk in with_open), clients[0])


def case_for_client(client: Client, *, returning: bool = False) -> Case | None:
    """The client's open case; for an inbound call of a sleeping or lost client with none open,
    their latest case, so the call is seen where their history is."""
    case = Case.objects.open().filter(client=client).first()
    if case is None and returning and client.status in RETURNING_STATUSES:
        case = Case.objects.filter(client=client).order_by("-opened_on", "-id").first()
    return case


def _effects(call: PhoneCall) -> None:
    """What a call from a client means for their case (each once)."""
    if call.client_id is None or call.direction != PhoneCall.Direction.INBOUND:
        return
    changed = []
    if not call.from_returning_client and call.client.status in RETURNING_STATUSES:
        call.from_returning_client = True
        changed.append("from_returning_client")
    if call.is_missed and not call.callback_raised and call.case_id:
        if case_raise_callback(case_id=call.case_id, on=timezone.localdate(call.ended_at)):
            call.callback_raised = True
            changed.append("callback_raised")
    if changed:
        call.save(update_fields=[*changed, "updated_at"])


def case_raise_callback(*, case_id: int, on: dt.date) -> bool:
    """A missed call from the client: the open case comes up in its manager's week on ``on``
    (its next call date moves to ``on`` unless one is set earlier). Saved through the model,
    so the case's history records the change. Returns whether the case is open."""
    case = Case.objects.select_for_update().filter(pk=case_id, status=Case.Status.OPEN).first()
    if case is None or case.is_control:
        return False
    if case.next_call_on is None or case.next_call_on > on:
        case.next_call_on = on
        case.save(update_fields=["next_call_on", "updated_at"])
    return True


# --- Click-to-call ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Dialled:
    call: PhoneCall
    extension: str


def call_originate(*, case: Case, user: Any, now: dt.datetime | None = None) -> Dialled:
    """Ask the phone system to ring ``user``'s extension, then the case's client.

    1. Refuse a closed case, another manager's case, a client without a phone, a user without
       an extension, or no phone system.
    2. Create the call at once as dialling (committed, so the page shows it while it rings).
    3. Ask the phone system; the call id it returns (if any) is kept to match the events by,
       else they are matched by our request id or by extension, number and time window.
    """
    if not case.is_open or case.is_control:
        raise PhoneError(ERR_CASE_CLOSED)
    if case.assigned_to_id != user.pk and not sees_everything(user):
        raise PhoneError(ERR_NOT_YOURS)
    number = normalize_phone(case.client.phone or "")
    if not number:
        raise PhoneError(ERR_NO_PHONE)
    extension = PhoneExtension.objects.filter(user=user).values_list("extension", flat=True).first()
    if not extension:
        raise PhoneError(ERR_NO_EXTENSION)
    account = account_default()
    if account is None or not account.has_credentials:
        raise PhoneError(ERR_NO_ACCOUNT)
    call = PhoneCall.objects.create(
        account=account,
        request_id=uuid.uuid4().hex,
        direction=PhoneCall.Direction.OUTBOUND,
        number=number,
        extension=extension,
        manager=user,
        client=case.client,
        case=case,
        click_to_call=True,
        started_at=now or timezone.now(),
        result=PhoneCall.Result.DIALLING,
    )
    try:
        result = adapter_for(account.adapter_config()).originate(
            extension=extension, number=number, request_id=call.request_id
        )
    except OriginateError as exc:
        call.result = PhoneCall.Result.FAILED
        call.ended_at = timezone.now()
        call.save(update_fields=["result", "ended_at", "updated_at"])
        log.warning("click-to-call %s failed: %s", call.pk, exc)
        raise PhoneError(ERR_PROVIDER % {"reason": exc}) from exc
    if result.call_id:
        try:
            with transaction.atomic():
                call.provider_call_id = result.call_id
                call.save(update_fields=["provider_call_id", "updated_at"])
        except IntegrityError:
            # Its first event came in first and made a call of its own: that one stays.
            call.refresh_from_db()
    return Dialled(call=call, extension=extension)


# --- The unmatched inbox ----------------------------------------------------------------------
@transaction.atomic
def phone_call_attach(*, phone_call: PhoneCall, client: Client) -> PhoneCall:
    """Attach a call from an unknown number to ``client`` (and their open case), then apply
    what the call means for the case as if the number had been known."""
    call = PhoneCall.objects.select_for_update().get(pk=phone_call.pk)
    call.client = client
    call.case = case_for_client(client, returning=call.direction == events.INBOUND)
    call.save(update_fields=["client", "case", "updated_at"])
    _effects(call)
    return call


# --- The call form ----------------------------------------------------------------------------
LINK_WINDOW = dt.timedelta(hours=2)


def phone_call_link(*, call: Any) -> PhoneCall | None:
    """A call recorded on the call form belongs to the case's latest finished phone call of the
    two hours before it that no form has claimed yet (the manager's, or one that reached no
    manager), so the page can show the typed outcome beside the phone system's."""
    phone_call = (
        PhoneCall.objects.filter(
            case_id=call.case_id,
            call__isnull=True,
            result__in=PhoneCall.FINISHED,
            started_at__gte=call.called_at - LINK_WINDOW,
            started_at__lte=call.called_at,
        )
        .filter(Q(manager_id=call.manager_id) | Q(manager__isnull=True))
        .order_by("-started_at", "-id")
        .first()
    )
    if phone_call is None:
        return None
    if PhoneCall.objects.filter(pk=phone_call.pk, call__isnull=True).update(call=call) != 1:
        return None
    phone_call.call = call
    return phone_call


# --- Recording copies -------------------------------------------------------------------------
RECORDING_MAX_BYTES = 200 * 1024 * 1024
RECORDING_CHUNK = 64 * 1024


class RecordingUnavailable(Exception):
    """The phone system did not give the recording (yet): the task tries again later."""


def recording_fetch(*, phone_call_id: int) -> PhoneCall | None:
    """Copy a call's recording under MEDIA_ROOT, once (a second run finds the copy and stops).

    The download happens outside any transaction; the row is written in one short update that
    only a call still without a copy takes.
    """
    if not settings.PHONE_RECORDING_RETENTION_DAYS:
        return None
    call = PhoneCall.objects.select_related("account").filter(pk=phone_call_id).first()
    if call is None or call.recording_file or not call.has_recording:
        return call
    try:
        url = adapter_for(call.account.adapter_config()).recording(
            recording_ref=call.recording_ref,
            recording_url=call.recording_url,
            call_id=call.provider_call_id,
        )
        if not url.startswith(("https://", "http://")):
            raise RecordingUnavailable("no link")
        with requests.get(url, stream=True, timeout=60) as response:
            if response.status_code != 200:
                raise RecordingUnavailable(f"HTTP {response.status_code}")
            data = bytearray()
            for chunk in response.iter_content(RECORDING_CHUNK):
                data += chunk
                if len(data) > RECORDING_MAX_BYTES:
                    raise RecordingUnavailable("larger than the limit")
            extension = "wav" if "wav" in response.headers.get("Content-Type", "") else "mp3"
    except (OriginateError, requests.RequestException) as exc:
        raise RecordingUnavailable(str(exc)) from exc
    name = call.recording_file.field.generate_filename(call, f"call-{call.pk}.{extension}")
    stored = call.recording_file.storage.save(name, ContentFile(bytes(data)))
    taken = PhoneCall.objects.filter(pk=call.pk, recording_file="").update(
        recording_file=stored, recording_fetched_at=timezone.now()
    )
    if taken != 1:
        call.recording_file.storage.delete(stored)  # another run stored it first
    call.refresh_from_db()
    return call


def recordings_purge(*, now: dt.datetime | None = None) -> int:
    """Delete the copies older than PHONE_RECORDING_RETENTION_DAYS (the link to the phone
    system's own recording stays). Returns how many."""
    days = settings.PHONE_RECORDING_RETENTION_DAYS
    if not days:
        return 0
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    expired = list(
        PhoneCall.objects.exclude(recording_file="").filter(recording_fetched_at__lt=cutoff)
    )
    for call in expired:
        call.recording_file.storage.delete(call.recording_file.name)
    PhoneCall.objects.filter(pk__in=[c.pk for c in expired]).update(
        recording_file="", recording_fetched_at=None
    )
    return len(expired)
