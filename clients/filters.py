from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from clients.models import AbcClass, Client, Segment, Status
from clients.search import client_search
from reactivation.form_fields import ModelChoiceFilter
from reactivation.roles import Role
from reactivation.templatetags.crm import person


def _managers(request) -> QuerySet:
    return (
        get_user_model()
        .objects.filter(groups__name=Role.MANAGER, is_active=True)
        .order_by("first_name", "username")
    )


class ClientFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    segment = ModelChoiceFilter(
        queryset=Segment.objects.all(), label=_("Segment"), empty_label=_("All segments")
    )
    status = django_filters.ChoiceFilter(
        field_name="stats__status",
        choices=Status.choices,
        label=_("Status"),
        empty_label=_("Any status"),
    )
    manager = ModelChoiceFilter(
        queryset=_managers, label=_("Manager"), empty_label=_("Any manager")
    )
    abc_class = django_filters.ChoiceFilter(
        choices=AbcClass.choices, label=_("ABC class"), empty_label=_("Any class")
    )
    sort = django_filters.OrderingFilter(
        label=_("Sort by"),
        empty_label=_("Name"),
        fields=(
            ("name", "name"),
            ("stats__last_purchase_on", "last_purchase_on"),
            ("stats__revenue", "revenue"),
            ("stats__cycle_days", "cycle_days"),
            ("stats__due_on", "due_on"),
            ("stats__purchase_days", "purchase_days"),
        ),
        field_labels={
            "name": _("Name"),
            "stats__last_purchase_on": _("Last purchase"),
            "stats__revenue": _("Revenue"),
            "stats__cycle_days": _("Cycle"),
            "stats__due_on": _("Status due on"),
            "stats__purchase_days": _("Purchase days"),
        },
    )

    class Meta:
        model = Client
        fields = ["q", "segment", "status", "manager", "abc_class"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.form.fields["manager"].label_from_instance = person

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """One box over name, phone, email and external id (see clients.search)."""
        return client_search(queryset, value)
