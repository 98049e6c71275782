from __future__ import annotations

from django.core.management.base import BaseCommand

from reactivation.management.commands._dates import parse_date
from reactivation.services.abc import abc_recompute


class Command(BaseCommand):
    help = "Recompute every client's ABC class from their revenue share over the trailing window."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="YYYY-MM-DD (default: today in the business timezone)")

    def handle(self, *args, as_of=None, **options):
        counts = abc_recompute(as_of=parse_date(as_of))
        self.stdout.write(", ".join(f"{key}: {value}" for key, value in sorted(counts.items())))
