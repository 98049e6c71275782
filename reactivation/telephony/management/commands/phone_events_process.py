"""``manage.py phone_events_process``: process the stored phone events that were not processed
(a worker that was down, a failure since fixed), oldest first. Running it twice does nothing
more."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand

from reactivation.telephony.services import event_process, events_pending


class Command(BaseCommand):
    help = "Process stored phone-system events that were not processed yet."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than", type=int, default=60, help="seconds since receipt (default 60)"
        )

    def handle(self, *args, older_than: int, **options):
        done = 0
        pending = events_pending(older_than=dt.timedelta(seconds=older_than))
        for event_id in pending:
            if event_process(event_id=event_id) is not None:
                done += 1
        self.stdout.write(f"events processed: {done} of {len(pending)}")
