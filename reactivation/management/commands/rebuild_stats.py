from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from clients.stats import rebuild_stats
from reactivation.management.commands._dates import parse_date
from reactivation.services.modelfit import models_fit_missing


class Command(BaseCommand):
    help = (
        "Recompute every client's purchase aggregates, cycle, status and due date set-wise, "
        "from the transactions up to --as-of (default: today). A segment with no model fit yet "
        "is fitted first (--no-fit: not), so one-time buyers get its fitted cycle. Opens no cases."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="YYYY-MM-DD (default: today in the business timezone)")
        parser.add_argument(
            "--no-fit", action="store_true", help="do not fit the segments that have no fit yet"
        )

    def handle(self, *args, as_of=None, no_fit=False, **options):
        day = parse_date(as_of)
        started = time.perf_counter()
        changed = rebuild_stats(as_of=day)
        self.stdout.write(
            self.style.SUCCESS(
                f"Statistics as of {day}: {changed} clients changed "
                f"in {time.perf_counter() - started:.1f} s."
            )
        )
        if no_fit:
            return
        for fit in models_fit_missing(until=day):
            name = fit.segment or "clients without a segment"
            if fit.ok:
                self.stdout.write(
                    f"Fitted {name} on {fit.clients} clients: typical gap between purchases "
                    f"{fit.default_cycle_days:.1f} days."
                )
            else:
                self.stdout.write(f"Not fitted {name}: {fit.note}")
