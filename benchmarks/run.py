#!/usr/bin/env python
"""Run one benchmark and print one JSON object per measurement.

    .venv/bin/python benchmarks/run.py NAME [--clients N] [--transactions M] [--json]

NAME is one of the modules ``benchmarks/<name>_bench.py`` (import, engine, pages, dashboard,
backtest, metrics, api).
Each measures the product's figure and a baseline in the same run and reports their ratio;
recorded results live in ``benchmarks/results/`` with the machine and the date.
Benchmarks need PostgreSQL: DATABASE_URL must point at a database they may fill (they create
their own tables and rows; never point it at production).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMES = ["import", "engine", "pages", "dashboard", "backtest", "metrics", "api"]


def machine() -> dict:
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=NAMES)
    parser.add_argument("--clients", type=int, default=None, help="clients in the synthetic base")
    parser.add_argument("--transactions", type=int, default=None, help="transactions in the synthetic base")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions per measurement (medians are reported)")
    parser.add_argument("--json", action="store_true", help="JSON lines only (no progress on stderr)")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reactivation.settings")
    import django

    django.setup()
    module = importlib.import_module(f"benchmarks.{args.name}_bench")
    for result in module.main(args):
        result.setdefault("benchmark", args.name)
        result.setdefault("machine", machine())
        print(json.dumps(result, ensure_ascii=False, default=str), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
