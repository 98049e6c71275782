"""Call scripts (versioned), the reasons clients give for leaving, and the calls themselves."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords


class Reason(models.Model):
    """Why a client stopped buying: an admin-editable list."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("reason")
        verbose_name_plural = _("reasons")

    def __str__(self) -> str:
        return self.name


class Script(models.Model):
    """A call script; its text lives in versions, and editing it makes a new version.

    A script with no segment is the default, used for segments without their own.
    """

    name = models.CharField(_("name"), max_length=120)
    segment = models.ForeignKey(
        "clients.Segment",
        verbose_name=_("segment"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="scripts",
    )
    active = models.BooleanField(_("active"), default=True)
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_(
            "Managers working in this language get this script first; empty: any language."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name = _("call script")
        verbose_name_plural = _("call scripts")

    def __str__(self) -> str:
        return self.name

    @property
    def current_version(self) -> ScriptVersion | None:
        return self.versions.order_by("-number").first()


class ScriptVersion(models.Model):
    """One immutable version of a script.

    ``steps`` is a list of ``{"key", "title", "text", "choices": [{"label", "next"}]}``; the
    text may hold placeholders ({client_name}, {days_since_last_purchase}, {last_purchase_on},
    {manager_name}, {company}); a choice's ``next`` names the key of the step it leads to
    (empty: the end of the script).
    """

    script = models.ForeignKey(Script, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    steps = models.JSONField(_("steps"), default=list)
    note = models.CharField(_("what changed"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["script", "-number"]
        verbose_name = _("script version")
        verbose_name_plural = _("script versions")
        constraints = [
            models.UniqueConstraint(fields=["script", "number"], name="script_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.script} v{self.number}"


class Call(models.Model):
    class Outcome(models.TextChoices):
        # One call's outcome (in Russian singular, «Дозвон»), not the count of reached calls.
        REACHED = "reached", pgettext_lazy("call outcome", "Reached")
        NO_ANSWER = "no_answer", _("No answer")
        BUSY = "busy", _("Busy")
        WRONG_NUMBER = "wrong_number", _("Wrong number")
        CALL_BACK = "call_back", _("Call back")
        DO_NOT_CALL = "do_not_call", _("Do not call")

    case = models.ForeignKey(
        "reactivation.Case", verbose_name=_("case"), on_delete=models.CASCADE, related_name="calls"
    )
    client = models.ForeignKey(
        "clients.Client", verbose_name=_("client"), on_delete=models.CASCADE, related_name="calls"
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="calls",
    )
    script_version = models.ForeignKey(
        ScriptVersion,
        verbose_name=_("script version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="calls",
    )
    called_at = models.DateTimeField(_("called at"))
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    reason = models.ForeignKey(
        Reason,
        verbose_name=_("reason for leaving"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="calls",
    )
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    next_call_on = models.DateField(_("next call on"), null=True, blank=True)
    # The time of day of the next call, when the client named one (business timezone).
    next_call_time = models.TimeField(_("next call at"), null=True, blank=True)
    # The client promised to buy: the case stays open until the purchase (which closes it as
    # won back) or the end of its lifetime. A database default too, for calls written in SQL.
    promised_to_buy = models.BooleanField(_("promised to buy"), default=False, db_default=False)

    class Meta:
        ordering = ["-called_at", "-id"]
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        indexes = [
            # The outcome rides along so that the week's plan counters (calls, reached) count
            # a manager's calls from the index alone.
            models.Index(
                fields=["manager", "called_at"], include=["outcome"], name="call_manager_time"
            ),
            models.Index(fields=["called_at"], name="call_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(outcome="call_back") | Q(next_call_on__isnull=False),
                name="call_back_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client} {self.called_at:%Y-%m-%d} {self.outcome}"
