from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from reactivation.management.commands._dates import parse_date
from reactivation.services.pipeline import nightly_catch_up


class Command(BaseCommand):
    help = (
        "Run the nightly pipeline for --as-of (default: today), after any dates missed since the "
        "last completed run. A date already done is skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="YYYY-MM-DD (default: today in the business timezone)")
        parser.add_argument("--chunk-size", type=int, default=None, help="clients per chunk")

    def handle(self, *args, as_of=None, chunk_size=None, **options):
        day = parse_date(as_of)
        kwargs = {"chunk_size": chunk_size} if chunk_size else {}
        outcomes = nightly_catch_up(until=day, **kwargs)
        if not outcomes:
            self.stdout.write(f"{day} already done: nothing to run.")
        for outcome in outcomes:
            counts = json.dumps(outcome.counts, ensure_ascii=False, sort_keys=True)
            self.stdout.write(f"{outcome.as_of} {outcome.outcome} {counts}")
