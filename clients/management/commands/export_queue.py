"""``manage.py export_queue PATH [--format machine|excel-ru]``: every open case, A class first, then by priority."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from clients import exporting
from clients.management.commands._exporting import add_format_argument, write_export
from reactivation.models import Case


class Command(BaseCommand):
    help = "Export the open cases of the reactivation queue to CSV, or XLSX by extension."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        add_format_argument(parser)

    def handle(self, *args, **options) -> None:
        queryset = Case.objects.open().order_by("abc_class", "-priority", "id")
        count = write_export(
            options["path"],
            exporting.QUEUE_COLUMNS,
            exporting.queue_rows(queryset),
            format=options["format"],
        )
        self.stdout.write(f"exported {count} open cases to {options['path']}")
