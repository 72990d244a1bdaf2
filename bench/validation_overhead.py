"""How much do the input checks add to a `metrics` run? Times engine.compute on a data source with and
without validation.check_structure (the row-level exclusion flags live in the SQL models and always run).

    python bench/validation_overhead.py [DATA] [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import time

from scorecard import engine, validation
from scorecard.settings import Settings
from scorecard.source import resolve_source


def timed(data, period, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        engine.compute(resolve_source(data), period, Settings())
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data", nargs="?")
    parser.add_argument("--period", default="Q3")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    timed(args.data, args.period, 1)  # warm up imports and caches
    with_checks = timed(args.data, args.period, args.repeat)
    original = validation.check_structure
    validation.check_structure = lambda con, source: None
    try:
        without_checks = timed(args.data, args.period, args.repeat)
    finally:
        validation.check_structure = original
    overhead = with_checks / without_checks - 1
    print(f"metrics with checks {with_checks:.3f} s, without {without_checks:.3f} s: checks add {overhead:.1%}")


if __name__ == "__main__":
    main()
