"""Filters of the manager's week and the pool."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from calls.models import Reason
from clients.models import AbcClass, Segment
from reactivation.form_fields import ModelChoiceFilter
from reactivation.models import Case, Offer, abc_order_expression

# Each class's place in ``abc_order_expression``.
ABC_RANK = {AbcClass.A: 0, AbcClass.B: 1, AbcClass.C: 2}

WORKED_STATUSES = [
    (value, label) for value, label in Case.Status.choices if value != Case.Status.CONTROL
]


class OfferState:
    NONE = "none"
    LIVE = "live"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    CHOICES = [
        (NONE, _("No offer")),
        (LIVE, _("Valid offer")),
        (REDEEMED, _("Offer redeemed")),
        (EXPIRED, _("Offer expired")),
    ]


class PoolFilter(django_filters.FilterSet):
    # The case's copy of its client's segment (``Case.segment``): read on the case's row, not
    # by looking up each case's client.
    segment = ModelChoiceFilter(
        field_name="segment",
        queryset=Segment.objects.all(),
        label=_("Segment"),
        empty_label=_("All segments"),
    )
    abc_class = django_filters.ChoiceFilter(
        choices=AbcClass.choices,
        label=_("ABC class"),
        empty_label=_("Any class"),
        method="filter_abc_class",
    )

    class Meta:
        model = Case
        fields = ["segment", "abc_class"]

    def filter_abc_class(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Cases of this class, as the class's rank in the list order: the expression the list
        indexes (``case_pool_order``, ``case_week_order``) start with, so that the index reads
        only this class instead of skipping the classes before it. Said once: PostgreSQL keeps
        statistics of the indexed expression, but takes a second, equivalent test of
        ``abc_class`` as independent of it and expects a few rows where there are thousands,
        then sorts a large part of the week instead of walking its index."""
        rank = ABC_RANK[value]
        return queryset.filter(Exact(abc_order_expression(), Value(rank)))


class QueueFilter(PoolFilter):
    status = django_filters.ChoiceFilter(
        choices=WORKED_STATUSES, label=_("Case status"), empty_label=_("Any status")
    )
    # The reason the client gave last on this case (``Case.last_reason``, kept by the call
    # service), read from the case so that it narrows the week's index like the status does.
    reason = ModelChoiceFilter(
        field_name="last_reason",
        queryset=Reason.objects.all(),
        label=_("Latest reason"),
        empty_label=_("Any reason"),
    )
    offer = django_filters.ChoiceFilter(
        choices=OfferState.CHOICES,
        label=_("Offer"),
        empty_label=_("Any offer state"),
        method="filter_offer",
    )

    class Meta:
        model = Case
        fields = ["segment", "status", "abc_class", "reason", "offer"]

    def filter_offer(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        today = timezone.localdate()
        offers = Offer.objects.filter(case=OuterRef("pk"))
        if value == OfferState.NONE:
            return queryset.filter(~Exists(offers))
        if value == OfferState.LIVE:
            return queryset.filter(
                Exists(offers.filter(status=Offer.Status.ISSUED, expires_on__gte=today))
            )
        if value == OfferState.REDEEMED:
            return queryset.filter(Exists(offers.filter(status=Offer.Status.REDEEMED)))
        if value == OfferState.EXPIRED:
            return queryset.filter(
                Exists(
                    offers.filter(
                        Q(status=Offer.Status.EXPIRED)
                        | Q(status=Offer.Status.ISSUED, expires_on__lt=today)
                    )
                )
            )
        return queryset
