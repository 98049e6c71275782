"""Segments, clients and their transactions.

A client's purchase statistics (first and last purchase day, the number of purchase days,
revenue and margin, the cycle, the status and ``due_on``, the next date on which the status can
change) are kept current by the write path (see ``clients.stats``) in ``ClientStats``, one narrow
row per client beside the client row. They live apart because they are rewritten far more often
than the client's own details, and in bulk: a full rebuild writes a fresh table in one pass
instead of rewriting every client row through the client table's search and lookup indexes.
``Client`` reads them through properties (``client.status``, ``client.cycle_days``...); list
queries load them with ``select_related("stats")`` and filter on ``stats__<field>``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from clients.search import normalize_phone
from reactivation import rules
from reactivation.roles import sees_everything


class Status(models.TextChoices):
    # One client's status (a badge, a column, a filter): in Russian an adjective that agrees
    # with "клиент", where the dashboards' groups of clients take the plural.
    NONE = "none", _("No purchases")
    ACTIVE = "active", pgettext_lazy("one client's status", "Active")
    SLEEPING = "sleeping", pgettext_lazy("one client's status", "Sleeping")
    LOST = "lost", pgettext_lazy("one client's status", "Lost")


class AbcClass(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"


class Segment(models.Model):
    """A group of clients with a common purchase rhythm (coffee beans, office supplies...).

    The fitted BG/NBD parameters (``model_*``) are stored here once an admin applies a fit; a
    segment without them falls back to the rule-based status alone.
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    model_r = models.FloatField(_("model r"), null=True, blank=True)
    model_alpha = models.FloatField(_("model alpha (days)"), null=True, blank=True)
    model_a = models.FloatField(_("model a"), null=True, blank=True)
    model_b = models.FloatField(_("model b"), null=True, blank=True)
    model_clients = models.PositiveIntegerField(_("clients in the fit"), null=True, blank=True)
    model_fitted_until = models.DateField(_("fitted on purchases until"), null=True, blank=True)
    model_fitted_at = models.DateTimeField(_("fitted at"), null=True, blank=True)
    model_auto_refit = models.BooleanField(_("refit weekly"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")

    def __str__(self) -> str:
        return self.name

    @property
    def has_model(self) -> bool:
        return None not in (self.model_r, self.model_alpha, self.model_a, self.model_b)


class ClientQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> ClientQuerySet:
        """Owners and admins see every client; a manager sees their own and the unassigned pool."""
        if sees_everything(user):
            return self
        if getattr(user, "is_authenticated", False):
            return self.filter(Q(manager=user) | Q(manager__isnull=True))
        return self.none()


class Client(models.Model):
    external_id = models.CharField(_("external id"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=255)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.EmailField(_("email"), blank=True)
    segment = models.ForeignKey(
        Segment,
        verbose_name=_("segment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="clients",
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="clients",
    )
    do_not_contact = models.BooleanField(_("do not contact"), default=False)
    abc_class = models.CharField(_("ABC class"), max_length=1, choices=AbcClass.choices, blank=True)
    abc_pinned = models.BooleanField(_("ABC class pinned by hand"), default=False)
    notes = models.TextField(_("notes"), blank=True)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ClientQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        indexes = [
            models.Index(fields=["abc_class"], name="client_abc"),
            models.Index(fields=["phone"], name="client_phone"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(abc_class__in=["", *AbcClass.values]), name="client_abc_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.external_id

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Phones are stored in E.164 whoever writes them (the admin, a form, the API), as the
        # import stores them, so that search and matching by phone see one form.
        self.phone = normalize_phone(self.phone)
        super().save(*args, **kwargs)

    @property
    def statistics(self) -> ClientStats:
        """The client's statistics row; an unsaved empty one (no purchases) if none is stored."""
        try:
            return self.stats
        except ClientStats.DoesNotExist:
            return ClientStats(client=self)

    first_purchase_on = property(lambda self: self.statistics.first_purchase_on)
    last_purchase_on = property(lambda self: self.statistics.last_purchase_on)
    purchase_days = property(lambda self: self.statistics.purchase_days)
    revenue = property(lambda self: self.statistics.revenue)
    margin = property(lambda self: self.statistics.margin)
    cycle_days = property(lambda self: self.statistics.cycle_days)
    status = property(lambda self: self.statistics.status)
    due_on = property(lambda self: self.statistics.due_on)

    def get_status_display(self) -> str:
        return self.statistics.get_status_display()

    def days_since_last_purchase(self, as_of: dt.date) -> int | None:
        if self.last_purchase_on is None:
            return None
        return (as_of - self.last_purchase_on).days

    def status_on(self, as_of: dt.date, *, sleeping_after: float, flag_after: float) -> str:
        """The status this row has on ``as_of`` under the given thresholds (in cycles)."""
        return rules.status_for(
            days_since=self.days_since_last_purchase(as_of),
            cycle_days=self.cycle_days,
            sleeping_after=sleeping_after,
            flag_after=flag_after,
        )

    def days_past_due(self, as_of: dt.date, *, flag_after: float) -> int | None:
        """Days beyond the lost threshold (negative: days left before it)."""
        if self.last_purchase_on is None or not self.cycle_days:
            return None
        return (as_of - self.last_purchase_on).days - int(flag_after * self.cycle_days)


class ClientStats(models.Model):
    """A client's purchase statistics, maintained set-wise by ``clients.stats`` (never by hand).

    One row per client: every path that creates clients creates their rows (a client saved
    through the ORM gets one from ``clients.signals``; set-wise inserts get theirs from the
    refresh or rebuild that follows them), and ``rebuild_stats`` writes the whole table afresh.
    """

    client = models.OneToOneField(
        Client,
        verbose_name=_("client"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="stats",
    )
    first_purchase_on = models.DateField(_("first purchase"), null=True, blank=True)
    last_purchase_on = models.DateField(_("last purchase"), null=True, blank=True)
    purchase_days = models.PositiveIntegerField(_("purchase days"), default=0)
    revenue = models.DecimalField(_("revenue"), max_digits=14, decimal_places=2, default=0)
    margin = models.DecimalField(_("margin"), max_digits=14, decimal_places=2, default=0)
    cycle_days = models.FloatField(_("cycle, days"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.NONE
    )
    due_on = models.DateField(_("status due on"), null=True, blank=True)
    # A copy of the client's segment, so that the engine's statements on this table (the
    # nightly re-status, the status tally) never read the wide client rows. Written with the
    # row by every path that creates or refreshes it, and kept by a trigger when a client
    # changes segment (migration clients 0005).
    segment_id = models.IntegerField(_("segment"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("client statistics")
        verbose_name_plural = _("client statistics")
        # Only the one the engine needs (the nightly range scan on due_on), and only over the
        # clients whose status can still change (a lost client or one without purchases has
        # no due date): every index here is rebuilt by a full rebuild_stats, and lists filter
        # on these columns through the client rows they page over anyway.
        indexes = [
            models.Index(
                fields=["due_on"], name="clientstats_due_on", condition=Q(due_on__isnull=False)
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(purchase_days__gte=0), name="clientstats_purchase_days_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(first_purchase_on__isnull=True)
                | Q(last_purchase_on__isnull=True)
                | Q(first_purchase_on__lte=F("last_purchase_on")),
                name="clientstats_first_lte_last",
            ),
            models.CheckConstraint(
                condition=Q(cycle_days__isnull=True) | Q(cycle_days__gt=0),
                name="clientstats_cycle_gt_0",
            ),
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="clientstats_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client_id}: {self.status}"


class StatusTally(models.Model):
    """How many clients each segment has per status, kept as a sum of signed changes.

    On PostgreSQL, triggers on the statistics and client tables (migration ``0005``) add a row
    per write statement that moves clients between statuses or segments: ``+n`` for where they
    went, ``-n`` for where they were. The counts are the sums (``clients.tally``), read every
    night without counting the base. A row with ``recount`` set asks for a full count
    instead: ``rebuild_stats`` leaves one, as it writes the statistics table afresh. SQLite
    has no such triggers and counts the clients directly (its bases are small).
    """

    segment_id = models.IntegerField(_("segment"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, blank=True)
    clients = models.BigIntegerField(_("clients"), default=0)
    recount = models.BooleanField(_("recount"), default=False)

    class Meta:
        verbose_name = _("status tally")
        verbose_name_plural = _("status tallies")

    def __str__(self) -> str:
        return f"{self.segment_id} {self.status}: {self.clients:+d}"


# The statistics' own columns, in table order (the client key and the segment's copy aside).
STATS_FIELDS = tuple(
    f.name for f in ClientStats._meta.concrete_fields if f.name not in ("client", "segment_id")
)


class Transaction(models.Model):
    """One line of a client's purchase history.

    ``identity`` is how a re-import recognises a row it has seen: ``id:<transaction id>`` when
    the file has an id column, else ``k:<client>|<date>|<amount>|<n-th repeat in the file>``.
    A negative amount is a return and a zero amount is stored too; neither is a purchase day.
    """

    # The (client, date) index serves every lookup by client: no separate one on client alone.
    client = models.ForeignKey(
        Client,
        verbose_name=_("client"),
        on_delete=models.CASCADE,
        related_name="transactions",
        db_index=False,
    )
    # Unique by a constraint (Meta) rather than unique=True, which would add a second index
    # for LIKE queries that nothing runs.
    identity = models.CharField(_("identity"), max_length=200)
    external_id = models.CharField(_("transaction id"), max_length=64, blank=True)
    date = models.DateField(_("date"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    margin = models.DecimalField(
        _("margin"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    promo_code = models.CharField(_("promo code"), max_length=40, blank=True)
    # Which import wrote the row. Not indexed: nothing reads by it, and an index would cost
    # every import; deleting an import job (admin only) scans the table once to clear it.
    import_job = models.ForeignKey(
        "clients.ImportJob",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
        constraints = [
            # PostgreSQL's name for the unique constraint that unique=True used to create.
            models.UniqueConstraint(fields=["identity"], name="clients_transaction_identity_key"),
        ]
        indexes = [
            models.Index(fields=["client", "date"], name="transaction_client_date"),
            models.Index(fields=["date"], name="transaction_date"),
            models.Index(
                fields=["promo_code"], name="transaction_promo_code", condition=~Q(promo_code="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client_id} {self.date} {self.amount}"


class ImportJob(models.Model):
    """One upload or command import: its options, progress and outcome (the page polls it)."""

    class Kind(models.TextChoices):
        CLIENTS = "clients", _("Clients")
        TRANSACTIONS = "transactions", _("Transactions")

    class State(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.UPLOADED
    )
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/", blank=True)
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    options = models.JSONField(_("options"), default=dict, blank=True)
    total_rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    error_count = models.PositiveIntegerField(_("bad rows"), default=0)
    message = models.TextField(_("message"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    queued_at = models.DateTimeField(_("queued"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Runs started for the current stage: a run whose worker died is started again, a few times.
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.original_name}"

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.state == self.State.DONE else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))
