from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from reactivation.management.commands._dates import parse_date
from reactivation.services.backlog import backlog_count, backlog_queue


class Command(BaseCommand):
    help = (
        "Judge the clients who were already lost when their history was imported (no case and "
        "no exclusion yet) as the nightly run judges the newly lost: open their cases or record "
        "why not."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="YYYY-MM-DD (default: today in the business timezone)")
        parser.add_argument(
            "--dry-run", action="store_true", help="only count the clients in the backlog"
        )

    def handle(self, *args, as_of=None, dry_run=False, **options):
        day = parse_date(as_of)
        if dry_run:
            self.stdout.write(f"{backlog_count()} lost clients have never been judged.")
            return
        judged, result = backlog_queue(as_of=day)
        excluded = json.dumps(result.excluded, ensure_ascii=False, sort_keys=True)
        self.stdout.write(
            self.style.SUCCESS(
                f"{judged} clients judged on {day}: {result.opened} cases opened, "
                f"{result.control} held out as control, excluded {excluded}."
            )
        )
