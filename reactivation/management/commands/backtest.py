from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from clients.models import Segment
from reactivation.backtest import backtest
from reactivation.management.commands._dates import parse_date
from reactivation.models import Policy


class Command(BaseCommand):
    help = (
        "Replay each policy on a past date: who would have been lost on --as-of, and how many "
        "of them bought again on their own within --days (default 90)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", required=True, help="YYYY-MM-DD")
        parser.add_argument(
            "--days", type=int, default=90, help="window for buying again (default 90)"
        )
        parser.add_argument("--segment", help="segment code (default: every policy)")

    def handle(self, *args, as_of, days, segment=None, **options):
        day = parse_date(as_of)
        if days <= 0:
            raise CommandError("--days must be a positive number of days.")
        policies = Policy.objects.select_related("segment").order_by("segment__code")
        if segment:
            if not Segment.objects.filter(code=segment).exists():
                raise CommandError(f"No segment with code {segment!r}.")
            policies = policies.filter(segment__code=segment)
        self.stdout.write(f"Backtest as of {day}, bought again within {days} days")
        for policy in policies:
            result = backtest(policy=policy, as_of=day, days=days)
            name = policy.segment.code if policy.segment_id else "default"
            self.stdout.write(
                f"{name}: clients {result.clients}, flagged {result.flagged}, "
                f"bought again within {days} days {result.bought_again_within} ({result.share:.1%}), "
                f"later {result.returned_later}, never returned {result.never_returned} "
                f"({result.never_returned_share:.1%})"
                + ("" if result.window_complete else f" [data only until {result.observed_until}]")
            )
