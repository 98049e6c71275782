from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from clients.models import Segment
from reactivation.backtest import DEFAULT_WINDOW_DAYS, BacktestResult, backtest
from reactivation.management.commands._dates import parse_date
from reactivation.models import Policy


def _auc(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


class Command(BaseCommand):
    help = (
        "Replay the nightly runs of the --window days (default 7) up to --as-of: the clients who "
        "became lost then, how many of them bought again within --days on their own (no case or "
        "call in between) and how many did not, the clients not flagged who did not buy either, "
        "and how well the rule and the model rank who buys again (ROC AUC)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", required=True, help="YYYY-MM-DD")
        parser.add_argument(
            "--days", type=int, default=90, help="horizon for buying again, days (default 90)"
        )
        parser.add_argument(
            "--window",
            type=int,
            default=DEFAULT_WINDOW_DAYS,
            help=f"nights judged before --as-of, days (default {DEFAULT_WINDOW_DAYS})",
        )
        parser.add_argument("--segment", help="segment code (default: the whole base)")
        parser.add_argument(
            "--json", action="store_true", help="one JSON object with the figures of the base"
        )

    def handle(self, *args, as_of, days, window, segment=None, json=False, **options):
        day = parse_date(as_of)
        if days <= 0:
            raise CommandError("--days must be a positive number of days.")
        if window <= 0:
            raise CommandError("--window must be a positive number of days.")
        policies = Policy.objects.select_related("segment").order_by("segment__code")
        if segment:
            found = Segment.objects.filter(code=segment).first()
            if found is None:
                raise CommandError(f"No segment with code {segment!r}.")
            policy = policies.filter(segment=found).first()
            if policy is None:
                raise CommandError(f"Segment {segment!r} has no policy of its own.")
            result = backtest(policy=policy, as_of=day, days=days, window=window)
        else:
            result = backtest(as_of=day, days=days, window=window)
        if json:
            self.stdout.write(_json_dumps(result.as_json()))
            return
        self.stdout.write(
            f"Backtest as of {day}: lost in the {window} days up to it, "
            f"bought again within {days} days"
        )
        if not segment:
            for policy in policies:
                name = policy.segment.code if policy.segment_id else "default"
                self.stdout.write(
                    f"{name}: "
                    + _line(backtest(policy=policy, as_of=day, days=days, window=window), days)
                )
        self.stdout.write(f"{segment or 'all'}: " + _line(result, days))


def _line(result: BacktestResult, days: int) -> str:
    text = (
        f"clients {result.clients}, flagged {result.flagged}, bought again on their own "
        f"{result.bought_again_on_own} ({result.share:.1%}), after a case or call "
        f"{result.bought_again_after_contact}, later {result.returned_later}, "
        f"never came back {result.never_came_back} ({result.never_returned_share:.1%}), "
        f"missed {result.missed}; AUC rule {_auc(result.auc_rule)}, "
        f"model {_auc(result.auc_model)} (expected purchases {_auc(result.auc_expected)})"
    )
    if not result.window_complete:
        text += f" [data only until {result.observed_until}]"
    return text


def _json_dumps(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False)
