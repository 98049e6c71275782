from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from clients.models import Segment
from reactivation.management.commands._dates import parse_date
from reactivation.services.modelfit import fit_groups, model_apply, model_fit


class Command(BaseCommand):
    help = (
        "Fit the MBG/NBD parameters (r, alpha in days, a, b) of each segment (or one) and of the "
        "clients without a segment by maximum likelihood on purchases up to --until, print them, "
        "and store them with --apply (the fitted cycle prior then applies to one-time buyers)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--segment",
            help="segment code (default: every segment and the clients without one)",
        )
        parser.add_argument("--until", help="YYYY-MM-DD (default: today in the business timezone)")
        parser.add_argument("--json", action="store_true", help="one JSON object per segment")
        parser.add_argument(
            "--apply", action="store_true", help="store the fitted parameters and use them"
        )

    def handle(self, *args, segment=None, until=None, json=False, apply=False, **options):
        day = parse_date(until, option="--until")
        if segment:
            groups = list(Segment.objects.filter(code=segment))
            if not groups:
                raise CommandError(f"No segment with code {segment!r}.")
        else:
            groups = fit_groups()
        if not groups:
            raise CommandError("There are no clients to fit.")
        for item in groups:
            fit = model_fit(segment=item, until=day)
            if apply and fit.ok:
                model_apply(segment=item, fit=fit)
            name = fit.segment if fit.segment is not None else "(no segment)"
            if json:
                payload = {
                    "segment": fit.segment,
                    "r": fit.r,
                    "alpha": fit.alpha,
                    "a": fit.a,
                    "b": fit.b,
                    "clients": fit.clients,
                }
                if not fit.ok:
                    payload["note"] = fit.note
                self.stdout.write(_json_dumps(payload))
            elif fit.ok:
                self.stdout.write(
                    f"{name}: r={fit.r:.4f} alpha={fit.alpha:.2f} days a={fit.a:.4f} b={fit.b:.4f} "
                    f"(typical gap alpha/r {fit.default_cycle_days:.1f} days; {fit.clients} "
                    f"clients, until {fit.until}){' applied' if apply else ''}"
                )
            else:
                self.stdout.write(
                    f"{name}: not enough data ({fit.note}); the status rule alone applies"
                )


def _json_dumps(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False)
