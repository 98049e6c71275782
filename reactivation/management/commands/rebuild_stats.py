from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from clients.stats import rebuild_stats
from reactivation.management.commands._dates import parse_date


class Command(BaseCommand):
    help = (
        "Recompute every client's purchase aggregates, cycle, status and due date set-wise, "
        "from the transactions up to --as-of (default: today). Opens no cases."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="YYYY-MM-DD (default: today in the business timezone)")

    def handle(self, *args, as_of=None, **options):
        day = parse_date(as_of)
        started = time.perf_counter()
        changed = rebuild_stats(as_of=day)
        self.stdout.write(
            self.style.SUCCESS(
                f"Statistics as of {day}: {changed} clients changed in {time.perf_counter() - started:.1f} s."
            )
        )
