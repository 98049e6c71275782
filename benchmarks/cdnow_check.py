"""The dashboard's figures against what really happened, on the public CDNOW purchase log.

    .venv/bin/python benchmarks/cdnow_check.py PATH/TO/CDNOW_master.txt [--json]

CDNOW_master.txt is the full CDNOW log (23,570 clients who first bought in the first quarter of
1997, their purchases to the end of June 1998), as distributed with the ``lifetimes`` package; it
is not shipped here. The script loads it the way a new user would, into a fresh database named by
DATABASE_URL (default: a temporary SQLite file): converted to a 1C-style file (semicolons,
decimal commas), ``import_transactions``, ``rebuild_stats``, then ``manage.py metrics``. Beside
each figure it prints the same quantity computed straight from the raw log in plain Python, with
the status rule written out again here (docs/metrics.md), and what then really happened:

- customers at both ends of the year to 1998-06-30, kept, returned and new, and retention;
- purchases per year of the customers at the year's start, and their revenue;
- the forecast of purchase days for the 39 weeks after 1997-09-30, from the model fitted on
  the purchases up to then, against the purchase days the clients really made in those weeks.

Results are recorded in benchmarks/results/cdnow.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
YEAR = (dt.date(1997, 7, 1), dt.date(1998, 6, 30))
CALIBRATION_END = dt.date(1997, 9, 30)
HOLDOUT = (dt.date(1997, 10, 1), dt.date(1998, 6, 30))
# The default policy (reactivation.models.Policy): active within one cycle, lost after three;
# cycles clamped to 1..3650 days. The prior (strength r, typical gap) is the one the product
# fitted and applied on the load (rebuild_stats fits a segment with no fit), read back from it.
SLEEPING_AFTER, FLAG_AFTER, MIN_CYCLE, MAX_CYCLE = 1.0, 3.0, 1, 3650
MAX_FITTED_PRIOR_STRENGTH = 10.0  # reactivation.rules
PRIOR_SQL = (
    "import json; from reactivation.models import Policy; p = Policy.objects.get(segment=None); "
    "print(json.dumps([p.model_r, p.model_alpha, p.default_cycle_days, p.prior_strength]))"
)


def read_log(path: Path) -> dict[str, dict[dt.date, float]]:
    """Net amount per client and day."""
    days: dict[str, dict[dt.date, float]] = defaultdict(lambda: defaultdict(float))
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) < 4 or not parts[0].isdigit():
            continue
        stamp = parts[1]
        day = dt.date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:]))
        days[parts[0]][day] += float(parts[3])
    return days


def write_import_file(days: dict[str, dict[dt.date, float]], target: Path) -> None:
    with target.open("w", encoding="cp1251") as out:
        out.write("Контрагент;Дата;Сумма\n")
        for client, amounts in days.items():
            for day, amount in sorted(amounts.items()):
                money = f"{amount:.2f}".replace(".", ",")
                out.write(f"{client};{day:%d.%m.%Y};{money}\n")


def prior(model_r, model_alpha, typed_cycle, typed_strength) -> tuple[float, float]:
    """(strength, typical gap) as reactivation.rules.prior_in_use has them."""
    if model_r and model_alpha:
        return min(model_r, MAX_FITTED_PRIOR_STRENGTH), model_alpha / model_r
    return typed_strength, typed_cycle


def is_customer(purchases: list[dt.date], on: dt.date, strength: float, gap: float) -> bool:
    """Bought by ``on`` and not lost on it, by the rule of docs/engine.md."""
    before = [d for d in purchases if d <= on]
    if not before:
        return False
    n = len(before)
    span = (before[-1] - before[0]).days
    cycle = (gap * strength + span) / (strength + n - 1)
    cycle = min(MAX_CYCLE, max(MIN_CYCLE, cycle))
    return (on - before[-1]).days <= FLAG_AFTER * cycle


def truth(days: dict[str, dict[dt.date, float]], strength: float, gap: float) -> dict:
    purchases = {
        c: sorted(d for d, amount in amounts.items() if amount > 0) for c, amounts in days.items()
    }
    start, end = YEAR[0] - dt.timedelta(days=1), YEAR[1]
    at_start = {c for c, p in purchases.items() if is_customer(p, start, strength, gap)}
    at_end = {c for c, p in purchases.items() if is_customer(p, end, strength, gap)}
    new = {c for c in at_end if purchases[c] and YEAR[0] <= purchases[c][0] <= YEAR[1]}
    retained = at_start & at_end
    in_year = [d for c in at_start for d in purchases[c] if YEAR[0] <= d <= YEAR[1]]
    revenue_next_year = sum(
        amount for c in at_start for d, amount in days[c].items() if YEAR[0] <= d <= YEAR[1]
    )
    holdout = sum(1 for p in purchases.values() for d in p if HOLDOUT[0] <= d <= HOLDOUT[1])
    return {
        "customers": {
            "start": len(at_start),
            "end": len(at_end),
            "retained": len(retained),
            "returned": len(at_end - retained - new),
            "new": len(new),
        },
        "retention_rate": len(retained) / len(at_start),
        "purchases_per_year": len(in_year) / len(at_start),
        "revenue_per_start_customer_next_year": revenue_next_year / len(at_start),
        "holdout_purchase_days": holdout,
    }


def manage(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def product(days: dict[str, dict[dt.date, float]]) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ)
        env.setdefault("DATABASE_URL", f"sqlite:///{folder}/cdnow.sqlite3")
        env.setdefault("SECRET_KEY", "cdnow-check")
        env.setdefault("DJANGO_DEBUG", "1")
        source = Path(folder) / "cdnow.csv"
        write_import_file(days, source)
        manage("migrate", "--noinput", "-v", "0", env=env)
        manage("import_transactions", str(source), env=env)
        rebuilt = manage("rebuild_stats", "--as-of", "1998-07-01", env=env)
        fitted = json.loads(manage("shell", "-c", PRIOR_SQL, env=env).strip().splitlines()[-1])
        year = json.loads(
            manage("metrics", "--from", str(YEAR[0]), "--to", str(YEAR[1]), "--json", env=env)
        )
        forecast = json.loads(
            manage(
                "metrics",
                "--from",
                "1997-07-01",
                "--to",
                str(CALIBRATION_END),
                "--horizon",
                str((HOLDOUT[1] - CALIBRATION_END).days),
                "--json",
                env=env,
            )
        )
    return {
        "year": year,
        "forecast": forecast["forecast"],
        "prior": prior(*fitted),
        "rebuild": rebuilt.strip().splitlines(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path, help="CDNOW_master.txt")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    days = read_log(options.log)
    shown = product(days)
    strength, gap = shown["prior"]
    expected = truth(days, strength, gap)
    year = shown["year"]
    report = {
        "clients": len(days),
        "rebuild_stats": shown["rebuild"],
        "cycle_prior": {"strength": strength, "typical_gap_days": gap},
        "customers": {"product": year["customers"], "raw_log": expected["customers"]},
        "retention_rate": {
            "product": year["retention_rate"],
            "raw_log": expected["retention_rate"],
        },
        "purchases_per_year": {
            "product": year["ltv"]["purchases_per_year"],
            "raw_log_in_the_year": expected["purchases_per_year"],
        },
        "ltv": year["ltv"],
        "revenue_per_start_customer_next_year": expected["revenue_per_start_customer_next_year"],
        "revenue_left": year["revenue_left"],
        "forecast_39_weeks_after_1997_09_30": {
            "product": shown["forecast"]["expected_purchases"],
            "really_happened": expected["holdout_purchase_days"],
        },
    }
    print(json.dumps(report, indent=None if options.json else 2, ensure_ascii=False))


if __name__ == "__main__":
    main()
