"""Policies, cases, offers, plans, the nightly run ledger and the daily snapshots."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.encoding import force_str
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from reactivation.roles import sees_everything

ERR_FLAG_NOT_ABOVE_SLEEPING = _("“Lost after” must be greater than “sleeping after”.")
ERR_CYCLE_BOUNDS = _("The minimum cycle must not exceed the maximum cycle.")
ERR_DEFAULT_OUTSIDE_BOUNDS = _("The default cycle must lie between the minimum and maximum cycle.")
ERR_EXCLUDED_CLASSES = _("Excluded classes may only contain A, B and C.")


class Policy(models.Model):
    """How clients of one segment (or, with no segment, of every other one) are judged."""

    class CyclePrior(models.TextChoices):
        FITTED = "fitted", _("fitted from the data")
        TYPED = "typed", _("typed here")

    segment = models.OneToOneField(
        "clients.Segment", verbose_name=_("segment"), null=True, blank=True,
        on_delete=models.CASCADE, related_name="policy",
        help_text=_("Leave empty for the default policy, used by segments without their own."),
    )
    sleeping_after = models.FloatField(
        _("sleeping after, cycles"), default=1.0, validators=[MinValueValidator(0.1)]
    )
    flag_after = models.FloatField(_("lost after, cycles"), default=3.0, validators=[MinValueValidator(0.1)])
    default_cycle_days = models.FloatField(
        _("default cycle, days"), default=30.0, validators=[MinValueValidator(0.1)]
    )
    prior_strength = models.FloatField(
        _("prior strength, gaps"), default=1.0, validators=[MinValueValidator(0.01)],
        help_text=_("How many purchase gaps the default cycle weighs against a client's own."),
    )
    min_cycle_days = models.FloatField(_("minimum cycle, days"), default=1.0, validators=[MinValueValidator(0.1)])
    max_cycle_days = models.FloatField(_("maximum cycle, days"), default=3650.0, validators=[MinValueValidator(0.1)])
    excluded_classes = models.CharField(
        _("ABC classes kept out of the queue"), max_length=3, default="C", blank=True
    )
    cooldown_days = models.PositiveIntegerField(_("cooldown after a closed case, days"), default=90)
    cost_per_call = models.DecimalField(_("cost per call"), max_digits=10, decimal_places=2, default=Decimal("50"))
    case_lifetime_days = models.PositiveIntegerField(_("case lifetime, days"), default=60)
    attempt_cap = models.PositiveIntegerField(
        _("call attempts before unreachable"), default=3, validators=[MinValueValidator(1)]
    )
    control_share = models.FloatField(
        _("control group share"), default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(0.5)],
        help_text=_("Share of newly lost clients held out uncalled, to measure what calls add."),
    )
    cycle_prior = models.CharField(
        _("default cycle from"), max_length=6, choices=CyclePrior.choices, default=CyclePrior.FITTED,
        help_text=_(
            "Fitted: the segment's fitted prior (typical gap α / r, strength r) wherever the "
            "segment has enough data for a fit, else the typed values. Typed: always the typed values."
        ),
    )
    prior_uplift = models.FloatField(
        _("assumed extra return share of a call"), default=0.10,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_(
            "The share of called clients who buy again because of the call, used until the "
            "control group has measured it."
        ),
    )
    # The fit of the clients without a segment ("a segment of their own"); kept on the default
    # policy only, as a segment keeps its own fit on its row (``Segment.model_*``).
    model_r = models.FloatField(_("model r"), null=True, blank=True)
    model_alpha = models.FloatField(_("model alpha (days)"), null=True, blank=True)
    model_a = models.FloatField(_("model a"), null=True, blank=True)
    model_b = models.FloatField(_("model b"), null=True, blank=True)
    model_clients = models.PositiveIntegerField(_("clients in the fit"), null=True, blank=True)
    model_fitted_until = models.DateField(_("fitted on purchases until"), null=True, blank=True)
    model_fitted_at = models.DateTimeField(_("fitted at"), null=True, blank=True)
    model_auto_refit = models.BooleanField(_("refit weekly"), default=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("policy")
        verbose_name_plural = _("policies")
        constraints = [
            models.UniqueConstraint(
                fields=["segment"], name="one_policy_per_segment", condition=Q(segment__isnull=False)
            ),
            models.CheckConstraint(condition=Q(flag_after__gt=F("sleeping_after")), name="policy_flag_gt_sleeping"),
            models.CheckConstraint(condition=Q(min_cycle_days__lte=F("max_cycle_days")), name="policy_cycle_bounds"),
            models.CheckConstraint(
                condition=Q(control_share__gte=0) & Q(control_share__lte=0.5), name="policy_control_share"
            ),
        ]

    def __str__(self) -> str:
        return str(self.segment) if self.segment_id else str(_("Default policy"))

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.flag_after is not None and self.sleeping_after is not None:
            if self.flag_after <= self.sleeping_after:
                errors["flag_after"] = ERR_FLAG_NOT_ABOVE_SLEEPING
        if self.min_cycle_days is not None and self.max_cycle_days is not None:
            if self.min_cycle_days > self.max_cycle_days:
                errors["max_cycle_days"] = ERR_CYCLE_BOUNDS
            elif self.default_cycle_days is not None and not (
                self.min_cycle_days <= self.default_cycle_days <= self.max_cycle_days
            ):
                errors["default_cycle_days"] = ERR_DEFAULT_OUTSIDE_BOUNDS
        if set(self.excluded_classes.upper()) - set("ABC"):
            errors["excluded_classes"] = ERR_EXCLUDED_CLASSES
        if errors:
            raise ValidationError(errors)

    @property
    def excluded_class_set(self) -> set[str]:
        return set(self.excluded_classes.upper())

    @property
    def has_model(self) -> bool:
        """The clients without a segment have a fit (meaningful on the default policy)."""
        return None not in (self.model_r, self.model_alpha, self.model_a, self.model_b)


class BusinessSettings(models.Model):
    """Settings of the business as a whole: one row (pk=1), created on first read."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    company_name = models.CharField(_("company name"), max_length=200, default="", blank=True)
    nightly_at = models.TimeField(_("nightly run at (business time)"), default=dt.time(2, 0))
    assignment_weekday = models.PositiveSmallIntegerField(
        _("weekly assignment day"), choices=Weekday.choices, default=Weekday.MONDAY
    )
    abc_window_days = models.PositiveIntegerField(_("ABC window, days"), default=365)
    abc_a_share = models.FloatField(_("class A: top share of revenue"), default=0.80)
    abc_b_share = models.FloatField(_("class B: next share of revenue"), default=0.15)
    abc_by_margin = models.BooleanField(_("ABC by margin instead of revenue"), default=False)
    margin_rate = models.FloatField(
        _("margin rate when a purchase has no margin"), default=0.30,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
    )
    return_share = models.FloatField(
        _("share of lost clients that could return"), default=0.20,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
    )
    won_back_window_days = models.PositiveIntegerField(_("revenue won back counts for, days"), default=90)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("business settings")
        verbose_name_plural = _("business settings")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="business_settings_singleton")]

    def __str__(self) -> str:
        return str(_("Business settings"))

    @classmethod
    def load(cls) -> BusinessSettings:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


def abc_order_expression() -> models.Case:
    """A, B, C as 0, 1, 2 and no class last: the queue's class order (and the pool index's)."""
    return models.Case(
        models.When(abc_class="A", then=models.Value(0)),
        models.When(abc_class="B", then=models.Value(1)),
        models.When(abc_class="C", then=models.Value(2)),
        default=models.Value(3),
        output_field=models.IntegerField(),
    )


class CaseQuerySet(models.QuerySet):
    def open(self) -> CaseQuerySet:
        return self.filter(status=Case.Status.OPEN)

    def visible_to(self, user: Any) -> CaseQuerySet:
        """Owners and admins see every case; a manager sees cases assigned to them and the
        unassigned pool (control cases are never worked, so never shown to managers), except
        pool cases of a colleague's own client: those go to that colleague."""
        if sees_everything(user):
            return self
        if getattr(user, "is_authenticated", False):
            # EXISTS rather than a join: rows assigned to the user never touch the clients
            # table (PostgreSQL stops at the first true branch of the OR).
            colleagues_client = models.Exists(
                apps.get_model("clients", "Client")
                .objects.filter(pk=models.OuterRef("client_id"), manager__isnull=False)
                .exclude(manager_id=user.pk)
            )
            pool = Q(assigned_to__isnull=True, is_control=False) & ~colleagues_client
            return self.filter(Q(assigned_to=user) | pool)
        return self.none()


class Case(models.Model):
    """One client's reactivation attempt, from being flagged to its outcome."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        WON_BACK = "won_back", _("Won back")
        DECLINED = "declined", _("Declined")
        UNREACHABLE = "unreachable", _("Unreachable")
        EXPIRED = "expired", _("Expired")
        CONTROL = "control", _("Control group")

    client = models.ForeignKey("clients.Client", verbose_name=_("client"), on_delete=models.CASCADE, related_name="cases")
    # The client's segment, copied onto the case so that my week and the pool filter by it on
    # the case's own row: at scale, looking up the client of every case a filtered page walks
    # cost more than the rest of the page. Set on opening (``save``, the gate); a trigger on
    # the client table moves the cases of a client whose segment changes (migration 0008). No
    # index: it is read only beside the case indexes.
    segment = models.ForeignKey(
        "clients.Segment", verbose_name=_("segment"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+", db_index=False,
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    is_control = models.BooleanField(_("control group"), default=False)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("manager"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="cases",
    )
    assigned_on = models.DateField(_("assigned on"), null=True, blank=True)
    opened_on = models.DateField(_("opened on"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    abc_class = models.CharField(_("ABC class"), max_length=1, blank=True)
    potential_value = models.DecimalField(_("potential value"), max_digits=14, decimal_places=2, default=0)
    priority = models.FloatField(_("priority"), default=0.0, help_text=_("Higher is called first."))
    p_alive = models.FloatField(
        _("P(alive) when opened"), null=True, blank=True,
        help_text=_("The model's P(alive) on the day the case opened: the band its outcome measures."),
    )
    attempts = models.PositiveIntegerField(_("call attempts"), default=0)
    next_call_on = models.DateField(_("next call on"), null=True, blank=True)
    last_call_at = models.DateTimeField(_("last call"), null=True, blank=True)
    won_transaction = models.ForeignKey(
        "clients.Transaction", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    credited_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    credited_script_version = models.ForeignKey(
        "calls.ScriptVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    credited_reason = models.ForeignKey(
        "calls.Reason", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The reason of the case's latest call (by call time, then id) that recorded one, kept by
    # ``call_record``: the week's reason filter reads it from the case and its indexes.
    last_reason = models.ForeignKey(
        "calls.Reason", verbose_name=_("latest reason given"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    close_note = models.TextField(_("note on closing"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = CaseQuerySet.as_manager()
    # The latest reason and the segment are copies (of what the calls say, of the client's
    # segment), which keep their own record.
    history = HistoricalRecords(excluded_fields=["updated_at", "last_reason", "segment"])

    class Meta:
        ordering = ["-opened_on", "-id"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        indexes = [
            models.Index(fields=["assigned_to", "status"], name="case_assignee_status"),
            models.Index(fields=["status", "abc_class", "-priority"], name="case_queue_order"),
            models.Index(fields=["opened_on"], name="case_opened_on"),
            models.Index(fields=["closed_on"], name="case_closed_on"),
            # The pool page reads the best unassigned cases in this order and stops at a page.
            models.Index(
                abc_order_expression(), F("priority").desc(), F("potential_value").desc(), F("id"),
                name="case_pool_order",
                condition=Q(status="open", assigned_to__isnull=True, is_control=False),
            ),
            # My week reads each part of each bucket (call-backs today, overdue, this week,
            # later) of one status in the order ABC class, priority, value, id and stops after
            # a page: along this index when the part is large ...
            models.Index(
                F("assigned_to"), F("status"), abc_order_expression(),
                F("priority").desc(), F("potential_value").desc(), F("id"),
                name="case_week_order",
                include=["next_call_on", "assigned_on"],
                condition=Q(is_control=False),
            ),
            # ... and by its dates, then sorted, when it is small (see selectors/queue.py).
            models.Index(
                F("assigned_to"), F("status"), F("next_call_on"), F("assigned_on"),
                abc_order_expression(), F("priority").desc(), F("potential_value").desc(), F("id"),
                name="case_week_dates",
                condition=Q(is_control=False),
            ),
            # The same pair for the reason filter, on the cases that have a reason: the
            # reason follows the status, so a filtered part reads only that reason's cases.
            models.Index(
                F("assigned_to"), F("status"), F("last_reason"), abc_order_expression(),
                F("priority").desc(), F("potential_value").desc(), F("id"),
                name="case_week_reason_order",
                include=["next_call_on", "assigned_on"],
                condition=Q(is_control=False, last_reason__isnull=False),
            ),
            models.Index(
                F("assigned_to"), F("status"), F("last_reason"), F("next_call_on"),
                F("assigned_on"), abc_order_expression(), F("priority").desc(),
                F("potential_value").desc(), F("id"),
                name="case_week_reason_dates",
                condition=Q(is_control=False, last_reason__isnull=False),
            ),
        ]
        constraints = [
            # The invariant the whole queue rests on: never two open cases for one client.
            models.UniqueConstraint(
                fields=["client"], condition=Q(status="open"), name="one_open_case_per_client"
            ),
            models.CheckConstraint(
                condition=(Q(status="open") & Q(closed_on__isnull=True))
                | (~Q(status="open") & Q(closed_on__isnull=False)),
                name="case_closed_on_iff_closed",
            ),
            models.CheckConstraint(
                condition=Q(closed_on__isnull=True) | Q(closed_on__gte=F("opened_on")),
                name="case_closed_after_opened",
            ),
            models.CheckConstraint(
                condition=~Q(status="control") | Q(is_control=True), name="case_control_status_is_control"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.client}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._state.adding and self.segment_id is None and self.client_id is not None:
            self.segment_id = self.client.segment_id
        super().save(*args, **kwargs)

    def is_visible_to(self, user: Any) -> bool:
        """Whether ``user`` sees this case: the rule of ``CaseQuerySet.visible_to`` for one
        case already read with its client, so that the case page reads it by its key alone."""
        if sees_everything(user):
            return True
        if not getattr(user, "is_authenticated", False):
            return False
        if self.assigned_to_id == user.pk:
            return True
        return (
            self.assigned_to_id is None
            and not self.is_control
            and self.client.manager_id in (None, user.pk)
        )

    def get_status_display(self) -> str:
        """The status's label, as Django's own method gives it; that one builds a map of every
        choice on each call, and the lists show it on every row."""
        return case_status_label(self.status)

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


# Lazy labels: each is translated when shown, in the language of the request.
_STATUS_LABELS: dict[str, Any] = dict(Case.Status.choices)


def case_status_label(status: str) -> str:
    """The label of a case status (the status itself when it is not one)."""
    return force_str(_STATUS_LABELS.get(status, status), strings_only=True)


class QueueExclusion(models.Model):
    """Why a newly lost client did not get a case on a given day: shown on the client card."""

    class Reason(models.TextChoices):
        DO_NOT_CONTACT = "do_not_contact", _("Marked do-not-contact")
        EXCLUDED_CLASS = "excluded_class", _("ABC class kept out of the queue")
        COOLDOWN = "cooldown", _("A case was closed recently (cooldown)")
        OPEN_CASE = "open_case", _("A case is already open")
        LOW_VALUE = "low_value", _("A call is not expected to pay: value x extra return share below its cost")

    client = models.ForeignKey("clients.Client", on_delete=models.CASCADE, related_name="exclusions")
    as_of = models.DateField(_("date"))
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    detail = models.CharField(_("detail"), max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-as_of", "-id"]
        verbose_name = _("queue exclusion")
        verbose_name_plural = _("queue exclusions")
        constraints = [
            models.UniqueConstraint(fields=["client", "as_of"], name="one_exclusion_per_client_day")
        ]

    def __str__(self) -> str:
        return f"{self.client_id} {self.as_of} {self.reason}"


class OfferTemplate(models.Model):
    class Kind(models.TextChoices):
        PERCENT = "percent", _("Percent off")
        AMOUNT = "amount", _("Amount off")
        FREE_DELIVERY = "free_delivery", _("Free delivery")
        GIFT = "gift", _("Gift")

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    value = models.DecimalField(_("value"), max_digits=10, decimal_places=2, default=0)
    validity_days = models.PositiveIntegerField(_("valid for, days"), default=14, validators=[MinValueValidator(1)])
    cost = models.DecimalField(
        _("cost to the business"), max_digits=10, decimal_places=2, default=0,
        help_text=_("Expected cost of one redeemed offer, for the value rule and the dashboards."),
    )
    description = models.CharField(_("text for the client"), max_length=255, blank=True)
    active = models.BooleanField(_("active"), default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name = _("offer template")
        verbose_name_plural = _("offer templates")
        constraints = [
            models.CheckConstraint(condition=Q(value__gte=0), name="offer_template_value_gte_0"),
            models.CheckConstraint(
                condition=~Q(kind="percent") | Q(value__lte=100), name="offer_template_percent_lte_100"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Offer(models.Model):
    """A personal, time-limited offer issued to one client, redeemed by a purchase carrying its code."""

    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        REDEEMED = "redeemed", _("Redeemed")
        EXPIRED = "expired", _("Expired")

    template = models.ForeignKey(OfferTemplate, verbose_name=_("template"), on_delete=models.PROTECT, related_name="offers")
    client = models.ForeignKey("clients.Client", verbose_name=_("client"), on_delete=models.CASCADE, related_name="offers")
    case = models.ForeignKey(Case, verbose_name=_("case"), null=True, blank=True, on_delete=models.SET_NULL, related_name="offers")
    call = models.ForeignKey("calls.Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="offers")
    code = models.CharField(_("code"), max_length=32, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=OfferTemplate.Kind.choices)
    value = models.DecimalField(_("value"), max_digits=10, decimal_places=2, default=0)
    cost = models.DecimalField(_("cost"), max_digits=10, decimal_places=2, default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ISSUED)
    issued_on = models.DateField(_("issued on"))
    expires_on = models.DateField(_("valid until"))
    redeemed_on = models.DateField(_("redeemed on"), null=True, blank=True)
    transaction = models.ForeignKey("clients.Transaction", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-issued_on", "-id"]
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        indexes = [models.Index(fields=["status", "expires_on"], name="offer_status_expiry")]
        constraints = [
            models.CheckConstraint(condition=Q(expires_on__gte=F("issued_on")), name="offer_expiry_after_issue"),
        ]

    def __str__(self) -> str:
        return self.code

    def is_expired(self, today: dt.date) -> bool:
        return self.status == self.Status.EXPIRED or (self.status == self.Status.ISSUED and today > self.expires_on)

    def can_redeem(self, on: dt.date) -> bool:
        return self.status == self.Status.ISSUED and on <= self.expires_on


class WeeklyPlan(models.Model):
    """A manager's weekly targets, set by admins."""

    manager = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("manager"), on_delete=models.CASCADE, related_name="weekly_plan")
    calls = models.PositiveIntegerField(_("calls"), default=40)
    reached = models.PositiveIntegerField(_("reached"), default=20)
    offers = models.PositiveIntegerField(_("offers"), default=10)
    wins = models.PositiveIntegerField(_("wins"), default=3)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("weekly plan")
        verbose_name_plural = _("weekly plans")

    def __str__(self) -> str:
        return str(self.manager)


class PipelineRun(models.Model):
    """The run ledger: one row per ``as_of`` date; a done row makes a second run a no-op."""

    class State(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    as_of = models.DateField(_("date"), unique=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.RUNNING)
    steps_done = models.JSONField(_("steps done"), default=list, blank=True)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-as_of"]
        verbose_name = _("nightly run")
        verbose_name_plural = _("nightly runs")

    def __str__(self) -> str:
        return f"{self.as_of} {self.state}"


class DailySnapshot(models.Model):
    """The state of the base at the end of one day, per segment (no segment: ``segment`` null).

    Written by the nightly run; the dashboards read these instead of scanning transactions.
    """

    as_of = models.DateField(_("date"))
    segment = models.ForeignKey("clients.Segment", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    active = models.PositiveIntegerField(default=0)
    sleeping = models.PositiveIntegerField(default=0)
    lost = models.PositiveIntegerField(default=0)
    no_purchases = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=0, help_text=_("Revenue of the day."))
    purchases = models.PositiveIntegerField(default=0, help_text=_("Purchase days on this day."))
    buyers = models.PositiveIntegerField(default=0)
    new_clients = models.PositiveIntegerField(default=0, help_text=_("First purchases on this day."))
    cases_opened = models.PositiveIntegerField(default=0)
    cases_won = models.PositiveIntegerField(default=0)
    cases_control = models.PositiveIntegerField(default=0, help_text=_("Newly lost clients held out."))

    class Meta:
        ordering = ["as_of"]
        verbose_name = _("daily snapshot")
        verbose_name_plural = _("daily snapshots")
        constraints = [
            models.UniqueConstraint(fields=["as_of", "segment"], name="snapshot_day_segment"),
            models.UniqueConstraint(
                fields=["as_of"], condition=Q(segment__isnull=True), name="snapshot_day_no_segment"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.as_of} {self.segment_id}"


class CohortActivity(models.Model):
    """Pre-aggregate for the cohort view: of the clients whose first purchase fell in ``cohort``
    (a month, stored as its first day), how many bought in ``month``. Rebuilt from transactions
    by the backfill and kept current for the running month by the nightly snapshot."""

    cohort = models.DateField(_("cohort month"))
    month = models.DateField(_("month"))
    segment = models.ForeignKey("clients.Segment", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    clients = models.PositiveIntegerField(_("clients who bought"), default=0)

    class Meta:
        ordering = ["cohort", "month"]
        verbose_name = _("cohort activity")
        verbose_name_plural = _("cohort activity")
        constraints = [
            models.UniqueConstraint(fields=["cohort", "month", "segment"], name="cohort_month_segment"),
            models.UniqueConstraint(
                fields=["cohort", "month"], condition=Q(segment__isnull=True), name="cohort_month_no_segment"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cohort} {self.month} {self.segment_id}"


class ValueSnapshot(models.Model):
    """Pre-aggregate for the value panels: per day, segment, status and ABC class, the clients
    and the sums the dashboards divide (revenue, purchase days, cycles, potential value and the
    model's expected purchases in the next 90 days). Written by the nightly snapshot."""

    as_of = models.DateField(_("date"))
    segment = models.ForeignKey("clients.Segment", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(_("status"), max_length=10)
    abc_class = models.CharField(_("ABC class"), max_length=1, blank=True)
    clients = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    purchase_days = models.PositiveBigIntegerField(default=0)
    cycle_days_sum = models.FloatField(default=0.0)
    potential_value = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    expected_purchases_90d = models.FloatField(default=0.0)
    modelled_clients = models.PositiveIntegerField(default=0, help_text=_("Clients whose segment has a fitted model."))

    class Meta:
        ordering = ["as_of"]
        verbose_name = _("value snapshot")
        verbose_name_plural = _("value snapshots")
        indexes = [models.Index(fields=["as_of"], name="value_snapshot_day")]

    def __str__(self) -> str:
        return f"{self.as_of} {self.segment_id} {self.status} {self.abc_class}"


class CaseCohortDaily(models.Model):
    """Pre-aggregate for the funnel and the uplift: the cases opened on ``day`` per segment and
    assigned manager, how far they got, and what they brought and cost. Recomputed nightly for
    the cases still moving (see ``reactivation.services.activity.activity_refresh``)."""

    day = models.DateField(_("opened on"))
    segment = models.ForeignKey("clients.Segment", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    flagged = models.PositiveIntegerField(default=0)
    contacted = models.PositiveIntegerField(default=0)
    reached = models.PositiveIntegerField(default=0)
    offered = models.PositiveIntegerField(default=0)
    won = models.PositiveIntegerField(default=0)
    control = models.PositiveIntegerField(default=0)
    control_returned = models.PositiveIntegerField(default=0)
    revenue_won_back = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    offers_cost = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    calls = models.PositiveIntegerField(default=0)
    calls_cost = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    class Meta:
        ordering = ["day"]
        verbose_name = _("case cohort by day")
        verbose_name_plural = _("case cohorts by day")
        indexes = [models.Index(fields=["day"], name="case_cohort_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.segment_id} {self.manager_id}"


class ManagerDaily(models.Model):
    """Pre-aggregate for the managers panel: per day, manager and client segment, the calls made,
    calls that reached the client, offers issued, wins credited and their revenue won back."""

    day = models.DateField(_("date"))
    segment = models.ForeignKey("clients.Segment", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    calls = models.PositiveIntegerField(default=0)
    reached = models.PositiveIntegerField(default=0)
    offers = models.PositiveIntegerField(default=0)
    wins = models.PositiveIntegerField(default=0)
    revenue_won_back = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        ordering = ["day"]
        verbose_name = _("manager activity by day")
        verbose_name_plural = _("manager activity by day")
        indexes = [models.Index(fields=["day"], name="manager_daily_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.manager_id} {self.segment_id}"


class ReasonDaily(models.Model):
    """Pre-aggregate for "why clients leave": calls per day, client segment, manager and reason."""

    day = models.DateField(_("date"))
    segment = models.ForeignKey("clients.Segment", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    reason = models.ForeignKey("calls.Reason", on_delete=models.CASCADE, related_name="+")
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day"]
        verbose_name = _("reasons by day")
        verbose_name_plural = _("reasons by day")
        indexes = [models.Index(fields=["day"], name="reason_daily_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.reason_id} {self.calls}"


class PeriodFiguresRecord(models.Model):
    """The owners' figures for one dashboard view (``selectors.dashboard_figures.PeriodFigures``
    as JSON), computed off the request by ``reactivation.period_figures_compute``.

    A row is keyed by the view (period, segment choice, manager) and by the version of the
    data it was computed from; it is created pending by the first request (the unique key makes
    two requests enqueue one computation) and filled in by the task."""

    class State(models.TextChoices):
        PENDING = "pending", _("Being computed")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    start = models.DateField(_("From"))
    end = models.DateField(_("To"))
    segment = models.CharField(_("segment"), max_length=20)  # "all", "none" or the segment's id
    manager = models.PositiveIntegerField(_("manager"), default=0)  # the manager's id, 0: all
    data_version = models.CharField(_("data version"), max_length=100)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    figures = models.JSONField(_("figures"), null=True, blank=True)
    requested_at = models.DateTimeField(_("requested"))
    computed_at = models.DateTimeField(_("computed"), null=True, blank=True)
    seconds = models.FloatField(_("computation time, s"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("period figures")
        verbose_name_plural = _("period figures")
        constraints = [
            models.UniqueConstraint(
                fields=["start", "end", "segment", "manager", "data_version"],
                name="period_figures_one_per_view",
            )
        ]
        indexes = [models.Index(fields=["requested_at"], name="period_figures_requested")]

    def __str__(self) -> str:
        return f"{self.start}..{self.end} {self.segment} {self.manager} {self.state}"
