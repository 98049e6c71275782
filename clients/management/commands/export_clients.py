"""``manage.py export_clients PATH [--format machine|excel-ru] [--status S] [--segment CODE] [--q TEXT] [--as-of DATE]``."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from clients import exporting
from clients.filters import ClientFilter
from clients.management.commands._exporting import add_format_argument, write_export
from clients.models import Client, Segment


class Command(BaseCommand):
    help = "Export clients (all, or those matching the filters) to CSV, or XLSX by extension."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        add_format_argument(parser)
        parser.add_argument("--status", choices=["none", "active", "sleeping", "lost"])
        parser.add_argument("--segment", help="segment code")
        parser.add_argument("--q", help="search in name, phone, email and external id")
        parser.add_argument(
            "--as-of", type=dt.date.fromisoformat, help="date for P(alive), YYYY-MM-DD"
        )

    def handle(self, *args, **options) -> None:
        filters = {"status": options.get("status") or "", "q": options.get("q") or ""}
        if options.get("segment"):
            segment = Segment.objects.filter(code=options["segment"]).first()
            if segment is None:
                raise CommandError(f"No segment with code {options['segment']!r}")
            filters["segment"] = str(segment.pk)
        filterset = ClientFilter(filters, queryset=Client.objects.all())
        if not filterset.is_valid():
            raise CommandError(str(filterset.errors))
        queryset = filterset.qs.order_by("external_id")
        as_of = options.get("as_of") or timezone.localdate()
        count = write_export(
            options["path"],
            exporting.CLIENT_COLUMNS,
            exporting.client_rows(queryset, as_of=as_of),
            format=options["format"],
        )
        self.stdout.write(f"exported {count} clients to {options['path']}")
