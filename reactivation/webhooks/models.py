"""Webhooks out: the endpoints admins register, the outbox of events and each endpoint's
delivery of each event with every attempt made."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

CASE_OPENED = "case.opened"
CASE_CLOSED = "case.closed"
OFFER_ISSUED = "offer.issued"
OFFER_REDEEMED = "offer.redeemed"
CLIENT_STATUS_CHANGED = "client.status_changed"
IMPORT_FINISHED = "import.finished"

EVENT_CHOICES = [
    (CASE_OPENED, _("A case was opened")),
    (CASE_CLOSED, _("A case was closed")),
    (OFFER_ISSUED, _("An offer was issued")),
    (OFFER_REDEEMED, _("An offer was redeemed")),
    (CLIENT_STATUS_CHANGED, _("A client's status changed")),
    (IMPORT_FINISHED, _("An import finished")),
]
EVENT_TYPES = [code for code, _label in EVENT_CHOICES]


class Endpoint(models.Model):
    """A URL that receives the events it subscribes to, signed with its own secret."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    # Kept as given: signing needs the secret itself. Shown once, when the endpoint is made.
    secret = models.CharField(_("secret"), max_length=100)
    events = models.JSONField(_("events"), default=list)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def wants(self, event_type: str) -> bool:
        return self.active and event_type in (self.events or [])


class OutboxEvent(models.Model):
    """One event, written in the same transaction as the change it tells of.

    ``subject`` names what the event is about (``case:12``); an event that can happen only once
    to its subject (a case opens once) is unique by type and subject, so a step replayed after
    a crash announces nothing twice.
    """

    msg_id = models.CharField(_("message id"), max_length=40, unique=True)
    event_type = models.CharField(_("event"), max_length=40, choices=EVENT_CHOICES)
    subject = models.CharField(_("subject"), max_length=80)
    payload = models.JSONField(_("payload"))
    created_at = models.DateTimeField(_("created"), db_index=True)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        constraints = [
            models.UniqueConstraint(fields=["event_type", "subject"], name="outbox_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.subject}"


class Delivery(models.Model):
    """One event to one endpoint: pending until a 2xx answer, or failed for good."""

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        SUCCEEDED = "succeeded", _("delivered")
        FAILED = "failed", _("failed")

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_status_code = models.PositiveIntegerField(_("last answer"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"], name="delivery_once")]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due",
                condition=Q(state="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} -> {self.endpoint}"

    def is_due(self, now: dt.datetime) -> bool:
        return self.state == self.State.PENDING and (
            self.next_attempt_at is None or self.next_attempt_at <= now
        )


class Attempt(models.Model):
    """One request made for a delivery: what came back, how long it took, what happens next."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_rows")
    number = models.PositiveIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("sent at"))
    status_code = models.PositiveIntegerField(_("answer"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration, ms"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["number"]

    def __str__(self) -> str:
        return f"#{self.number} {self.status_code or self.error[:40]}"
