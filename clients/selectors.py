"""Reads of clients and their purchases, scoped by the user's role."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from clients.filters import ClientFilter
from clients.models import Client, Transaction


def client_list(*, filters: dict[str, Any] | None, user: Any) -> ClientFilter:
    """The filterset over the clients ``user`` may see; ``.qs`` is the filtered list."""
    queryset = Client.objects.visible_to(user).select_related("segment", "manager", "stats")
    return ClientFilter(filters or {}, queryset=queryset)


def client_get(*, client_id: int, user: Any) -> Client:
    """The client, or 404 when it does not exist or ``user`` may not see it."""
    return get_object_or_404(
        Client.objects.visible_to(user).select_related("segment", "manager", "stats"), pk=client_id
    )


def client_transactions(*, client: Client) -> QuerySet[Transaction]:
    return client.transactions.order_by("-date", "-id")
