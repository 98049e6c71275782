from __future__ import annotations

from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _

from clients.search import sqlite_connection_created


class ClientsConfig(AppConfig):
    name = "clients"
    verbose_name = _("Clients")

    def ready(self) -> None:
        from clients import signals  # noqa: F401 - registers the receivers (needs the models)

        connection_created.connect(sqlite_connection_created, dispatch_uid="clients.sqlite_like")
