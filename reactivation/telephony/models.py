"""Phone-system accounts, managers' extensions, the raw events and the calls they make."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from reactivation.roles import sees_everything
from reactivation.telephony import sealing
from reactivation.telephony.adapters import AdapterConfig
from reactivation.telephony.adapters import base as adapter_base


def new_token() -> str:
    return secrets.token_urlsafe(24)


class PhoneAccount(models.Model):
    """One phone system this product listens to and dials through.

    An account made on the settings page keeps its credentials sealed (``sealing``) and never
    shows them back. The environment (``PHONE_PROVIDER`` ...) configures one default account
    when none is set on the page: its row (``from_environment``) holds no credentials; they
    are read from the settings each time.
    """

    class Provider(models.TextChoices):
        ZADARMA = "zadarma", _("Zadarma / Novofon")
        MANGO = "mango", _("Mango Office")
        GENERIC = "generic", _("Other (signed JSON webhook)")

    name = models.CharField(_("name"), max_length=120)
    provider = models.CharField(_("phone system"), max_length=16, choices=Provider.choices)
    api_key_sealed = models.TextField(blank=True, editable=False)
    api_secret_sealed = models.TextField(blank=True, editable=False)
    base_url = models.URLField(
        _("API address"),
        blank=True,
        help_text=_("Empty: the phone system's own address."),
    )
    webhook_token = models.CharField(
        _("webhook token"), max_length=64, unique=True, default=new_token, editable=False
    )
    timezone = models.CharField(
        _("timezone of event times"),
        max_length=64,
        blank=True,
        help_text=_("Empty: the business timezone."),
    )
    active = models.BooleanField(_("active"), default=True)
    from_environment = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-active", "name", "id"]
        verbose_name = _("phone system account")
        verbose_name_plural = _("phone system accounts")

    def __str__(self) -> str:
        return self.name

    # --- credentials -------------------------------------------------------------------------
    def set_api_key(self, value: str) -> None:
        self.api_key_sealed = sealing.seal(value, secret=settings.SECRET_KEY)

    def set_api_secret(self, value: str) -> None:
        self.api_secret_sealed = sealing.seal(value, secret=settings.SECRET_KEY)

    @property
    def has_credentials(self) -> bool:
        if self.from_environment:
            return bool(settings.PHONE_API_SECRET)
        return bool(self.api_secret_sealed)

    def adapter_config(self) -> AdapterConfig:
        if self.from_environment:
            key, secret = settings.PHONE_API_KEY, settings.PHONE_API_SECRET
            base_url = settings.PHONE_BASE_URL
            tz = settings.PHONE_TIMEZONE
        else:
            key = sealing.unseal(self.api_key_sealed, secret=settings.SECRET_KEY)
            secret = sealing.unseal(self.api_secret_sealed, secret=settings.SECRET_KEY)
            base_url, tz = self.base_url, self.timezone
        return AdapterConfig(
            provider=self.provider,
            api_key=key,
            api_secret=secret,
            base_url=base_url,
            timezone=tz or settings.PHONE_TIMEZONE or settings.TIME_ZONE,
        )

    def current_token(self) -> str:
        return settings.PHONE_WEBHOOK_TOKEN if self.from_environment else self.webhook_token


class PhoneExtension(models.Model):
    """A manager's extension on the phone system (``manage.py phone_extension``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="phone_extension",
    )
    extension = models.CharField(_("extension"), max_length=32, unique=True)

    class Meta:
        ordering = ["extension"]
        verbose_name = _("extension")
        verbose_name_plural = _("extensions")

    def __str__(self) -> str:
        return f"{self.extension} {self.user}"


class PhoneEvent(models.Model):
    """One event as the phone system sent it, stored before anything is done with it.

    ``key`` is the event's own identity from the phone system: a second delivery of the same
    event hits the unique constraint and is dropped, so a retry never counts twice.
    """

    account = models.ForeignKey(
        PhoneAccount,
        verbose_name=_("phone system"),
        on_delete=models.CASCADE,
        related_name="events",
    )
    key = models.CharField(_("event key"), max_length=255)
    kind = models.CharField(_("kind"), max_length=16)
    call_id = models.CharField(_("phone system's call id"), max_length=128)
    payload = models.JSONField(_("as received"), default=dict)  # the request's own fields
    data = models.JSONField(_("as read"), default=dict)  # the parsed ``CallEvent``
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("phone system event")
        verbose_name_plural = _("phone system events")
        constraints = [
            models.UniqueConstraint(fields=["account", "key"], name="phone_event_unique_key")
        ]
        indexes = [models.Index(fields=["account", "call_id"], name="phone_event_call")]

    def __str__(self) -> str:
        return self.key


class PhoneCallQuerySet(models.QuerySet):
    def unmatched(self) -> PhoneCallQuerySet:
        return self.filter(client__isnull=True).exclude(number="")

    def visible_to(self, user: Any) -> PhoneCallQuerySet:
        """Owners and admins see every call; a manager sees calls on their own extension,
        calls of their cases, and calls that reached no manager yet (an unknown caller)."""
        if sees_everything(user):
            return self
        if getattr(user, "is_authenticated", False):
            return self.filter(
                Q(manager=user) | Q(case__assigned_to=user) | Q(manager__isnull=True)
            )
        return self.none()


class PhoneCall(models.Model):
    """A call through the phone system, built from its events (or from click-to-call)."""

    class Direction(models.TextChoices):
        INBOUND = adapter_base.INBOUND, _("Inbound")
        OUTBOUND = adapter_base.OUTBOUND, _("Outbound")

    class Result(models.TextChoices):
        DIALLING = "dialling", _("Dialling")
        IN_PROGRESS = "in_progress", _("In progress")
        ANSWERED = adapter_base.ANSWERED, _("Answered")
        NO_ANSWER = adapter_base.NO_ANSWER, _("No answer")
        BUSY = adapter_base.BUSY, _("Busy")
        FAILED = adapter_base.FAILED, _("Failed")
        CANCELLED = adapter_base.CANCELLED, _("Cancelled")

    FINISHED = (
        Result.ANSWERED,
        Result.NO_ANSWER,
        Result.BUSY,
        Result.FAILED,
        Result.CANCELLED,
    )

    account = models.ForeignKey(PhoneAccount, on_delete=models.CASCADE, related_name="calls")
    provider_call_id = models.CharField(_("phone system's call id"), max_length=128, blank=True)
    request_id = models.CharField(max_length=64, blank=True)  # ours, sent with click-to-call
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices)
    number = models.CharField(_("number"), max_length=32, blank=True)
    extension = models.CharField(_("extension"), max_length=32, blank=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="phone_calls",
    )
    client = models.ForeignKey(
        "clients.Client",
        verbose_name=_("client"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="phone_calls",
    )
    case = models.ForeignKey(
        "reactivation.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="phone_calls",
    )
    # The call recorded on the call form for this phone call, once the manager records it.
    call = models.OneToOneField(
        "calls.Call",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="phone_call",
    )
    click_to_call = models.BooleanField(_("started from the case page"), default=False)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    duration = models.PositiveIntegerField(_("duration, s"), null=True, blank=True)
    result = models.CharField(
        _("result"), max_length=12, choices=Result.choices, default=Result.IN_PROGRESS
    )
    recording_ref = models.CharField(max_length=128, blank=True)
    recording_url = models.URLField(max_length=1000, blank=True)
    # A copy under MEDIA_ROOT, kept PHONE_RECORDING_RETENTION_DAYS days (0: no copies).
    recording_file = models.FileField(upload_to="phone-recordings/%Y/%m/", blank=True)
    recording_fetched_at = models.DateTimeField(null=True, blank=True)
    # An inbound call from a client who was sleeping or lost: it may be the win.
    from_returning_client = models.BooleanField(_("from a sleeping or lost client"), default=False)
    # A missed inbound call whose call-back was raised on the client's open case.
    callback_raised = models.BooleanField(_("call-back raised"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PhoneCallQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("phone call")
        verbose_name_plural = _("phone calls")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "provider_call_id"],
                condition=~Q(provider_call_id=""),
                name="phone_call_unique_provider_id",
            ),
        ]
        indexes = [
            models.Index(fields=["case", "started_at"], name="phone_call_case"),
            models.Index(fields=["account", "request_id"], name="phone_call_request"),
            # Click-to-call waiting for its first event: matched by extension, number, time.
            models.Index(
                fields=["account", "extension", "number", "created_at"],
                name="phone_call_dialling",
                condition=Q(provider_call_id=""),
            ),
            models.Index(
                fields=["-started_at"],
                name="phone_call_unmatched",
                condition=Q(client__isnull=True),
            ),
            models.Index(
                fields=["recording_fetched_at"],
                name="phone_call_recording_kept",
                condition=~Q(recording_file=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.number} {self.started_at or ''}"

    @property
    def is_finished(self) -> bool:
        return self.result in self.FINISHED

    @property
    def has_recording(self) -> bool:
        return bool(self.recording_ref or self.recording_url)

    # The call form's outcome for each result of the phone system.
    TYPED_OUTCOMES = {
        Result.ANSWERED: "reached",
        Result.NO_ANSWER: "no_answer",
        Result.BUSY: "busy",
        Result.FAILED: "no_answer",
        Result.CANCELLED: "no_answer",
    }

    @property
    def typed_outcome(self) -> str:
        return self.TYPED_OUTCOMES.get(self.result, "")

    @property
    def form_note(self) -> str:
        """The line the call form's notes start with when filled from this call."""
        return gettext("Phone system: %(result)s, %(duration)s s") % {
            "result": self.get_result_display(),
            "duration": self.duration or 0,
        }

    @property
    def contradicts_typed(self) -> bool:
        """The outcome typed on the call form says otherwise than the phone system: reached
        for a call never answered, or not reached for an answered one."""
        if self.call is None or not self.is_finished:
            return False
        reached = self.call.outcome == "reached"
        unanswered = self.call.outcome in ("no_answer", "busy")
        answered = self.result == self.Result.ANSWERED
        return (reached and not answered) or (unanswered and answered)

    @property
    def is_missed(self) -> bool:
        return (
            self.direction == self.Direction.INBOUND
            and self.is_finished
            and (self.result != self.Result.ANSWERED)
        )
