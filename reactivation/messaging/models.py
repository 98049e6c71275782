"""Consent to be contacted, the suppression list, message templates and the messages sent.

Consent is append-only: each grant or withdrawal is a new row with its source, the version of
the consent text the client agreed to, who recorded it, when, and the call it was given on. The
current state of a (client, channel, purpose) is the latest row (``selectors.consent_state``);
nothing is ever updated or deleted, so the record proves what the client said and when
(38-FZ art. 18: the sender must be able to prove the prior consent).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    TELEGRAM = "telegram", _("Telegram")
    PHONE = "phone", _("Phone calls")


# The channels a message is sent by (a phone call is made by a person, not sent).
MESSAGE_CHANNELS = (Channel.SMS, Channel.EMAIL, Channel.TELEGRAM)


class Purpose(models.TextChoices):
    ADVERTISING = "advertising", _("Advertising")
    SERVICE = "service", _("Service")


class ConsentSource(models.TextChoices):
    IMPORT = "import", _("Import")
    CALL = "call", _("Call form")
    API = "api", _("API")
    UNSUBSCRIBE = "unsubscribe", _("Unsubscribe link")
    STOP_REPLY = "stop_reply", _("STOP reply")


ERR_APPEND_ONLY = _("Consent records are never changed or deleted; record a new one instead.")


class Consent(models.Model):
    """One grant or withdrawal of consent, as it was recorded. Never updated or deleted."""

    client = models.ForeignKey(
        "clients.Client",
        verbose_name=_("client"),
        on_delete=models.CASCADE,
        related_name="consents",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=12, choices=Purpose.choices)
    granted = models.BooleanField(_("granted"))
    source = models.CharField(_("source"), max_length=12, choices=ConsentSource.choices)
    text_version = models.CharField(_("consent text version"), max_length=40, blank=True)
    # The address the consent was given for (the phone or e-mail at the time), as evidence.
    address = models.CharField(_("address"), max_length=254, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    call = models.ForeignKey(
        "calls.Call",
        verbose_name=_("call"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="consents",
    )

    class Meta:
        ordering = ["-recorded_at", "-id"]
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        indexes = [
            models.Index(
                fields=["client", "channel", "purpose", "-recorded_at", "-id"],
                name="consent_latest",
            )
        ]

    def __str__(self) -> str:
        state = "+" if self.granted else "-"
        return f"{self.client_id} {self.channel}/{self.purpose} {state}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValidationError(ERR_APPEND_ONLY)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValidationError(ERR_APPEND_ONLY)


class Suppression(models.Model):
    """A phone (E.164) or e-mail (lower case) that gets no message, whichever client record
    carries it: an unsubscribe from one record stops its duplicates too."""

    class Kind(models.TextChoices):
        PHONE = "phone", _("Phone")
        EMAIL = "email", _("Email")

    kind = models.CharField(_("kind"), max_length=5, choices=Kind.choices)
    value = models.CharField(_("address"), max_length=254)
    source = models.CharField(_("source"), max_length=12, choices=ConsentSource.choices)
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("added"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppression list")
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="suppression_unique")]

    def __str__(self) -> str:
        return self.value


class TelegramLink(models.Model):
    """A client's Telegram chat, linked when the client opens the bot by the deep link
    ``https://t.me/<bot>?start=<token>`` (a bot cannot write to anyone first). The token is
    signed from the client's id (``selectors.telegram_start_token``), so no row exists before
    the chat is linked."""

    client = models.OneToOneField(
        "clients.Client",
        verbose_name=_("client"),
        on_delete=models.CASCADE,
        related_name="telegram",
    )
    chat_id = models.BigIntegerField(_("chat id"), null=True, blank=True)
    linked_at = models.DateTimeField(_("linked at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Telegram link")
        verbose_name_plural = _("Telegram links")
        indexes = [models.Index(fields=["chat_id"], name="telegram_chat")]

    def __str__(self) -> str:
        return f"{self.client_id} {self.chat_id or '-'}"


class MessageTemplate(models.Model):
    """The text of an offer by one channel in one language. One without an offer template is
    the default for every offer that has none of its own."""

    offer_template = models.ForeignKey(
        "reactivation.OfferTemplate",
        verbose_name=_("offer template"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="message_templates",
        help_text=_("Empty: the default for every offer."),
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=[(c.value, c.label) for c in MESSAGE_CHANNELS]
    )
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject (e-mail)"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["offer_template__name", "channel", "language"]
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        constraints = [
            models.UniqueConstraint(
                fields=["offer_template", "channel", "language"],
                name="message_template_unique",
                condition=Q(offer_template__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["channel", "language"],
                name="message_template_default_unique",
                condition=Q(offer_template__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.offer_template or '*'} · {self.channel} · {self.language}"


class Message(models.Model):
    """One message to a client on a case, from the decision to send it to its delivery report.

    ``sending`` is the claim a delivery task takes (compare-and-set from ``queued``) before it
    calls the provider: a task delivered twice finds the row claimed and sends nothing.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    case = models.ForeignKey(
        "reactivation.Case",
        verbose_name=_("case"),
        on_delete=models.CASCADE,
        related_name="messages",
    )
    client = models.ForeignKey(
        "clients.Client",
        verbose_name=_("client"),
        on_delete=models.CASCADE,
        related_name="messages",
    )
    offer = models.ForeignKey(
        "reactivation.Offer",
        verbose_name=_("offer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=12, choices=Purpose.choices)
    to = models.CharField(_("to"), max_length=254)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    text = models.TextField(_("text"))
    language = models.CharField(_("language"), max_length=8, blank=True)
    sms_parts = models.PositiveSmallIntegerField(_("SMS parts"), default=0)
    provider = models.CharField(_("provider"), max_length=20)
    provider_id = models.CharField(_("provider's id"), max_length=100, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    error = models.CharField(_("provider's reason"), max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sent by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    status_at = models.DateTimeField(_("status changed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [
            # The frequency cap counts a client's recent messages by channel.
            models.Index(fields=["client", "channel", "created_at"], name="message_client_channel"),
            models.Index(fields=["provider", "provider_id"], name="message_provider_id"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.to} {self.status}"
