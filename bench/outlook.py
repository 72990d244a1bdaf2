"""What the outlook page (at risk with its backtest, cohorts, why customers left) adds to `scorecard metrics`.

    python bench/outlook.py                  # 1M customers / ~10M orders (Parquet), 5 runs
    python bench/outlook.py --size 100k --repeat 3

Runs the metric engine `--repeat` times, each time in a new process as `scorecard metrics` does, and reads
the engine's own timings: the wall time of each SQL model that exists only for the outlook page, the time the
engine waited for the two BG/NBD fits (at the period's end, and at its start for the backtest) after its
other models were done, and the fits' own time and CPU time in the thread they run in beside the SQL.
While the fits run, the SQL has one core less for as long as they take, so on two cores they delay it by
at most half their CPU time: that bound is what they are counted at.

    added = outlook models + waiting for the fits + fits' CPU / 2

The run with the smallest total is kept (the machine may be shared), with the median of all runs beside
it. Results go to bench/results/outlook.json and outlook.md, with the commit measured.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import SIZES, add_folder_arguments, commit, dataset, machine, orders_in

# The models that exist only for the outlook page (every other model serves the rest of the scorecard).
OUTLOOK_MODELS = (
    "int_purchase_histories", "int_customer_risk", "int_at_risk_listed", "mart_at_risk", "mart_at_risk_customers",
    "mart_lapsed_signals", "int_segment_numbers", "int_customer_cohorts", "mart_cohorts", "mart_loss_reasons",
)  # fmt: skip
TARGET_S = 2.0


def one_run(data: Path) -> dict:
    """One run in a new process (a process that has run the engine before is not what a user starts)."""
    code = f"import json, outlook; print(json.dumps(outlook.run_here({str(data)!r})))"
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.splitlines()[-1])


def run_here(data: str) -> dict:
    from scorecard import engine
    from scorecard.settings import Settings
    from scorecard.source import resolve_source

    started = time.perf_counter()
    timings = engine.compute(resolve_source(data), "Q3", Settings()).timings
    total = time.perf_counter() - started
    models = {name: timings["model_" + name] for name in OUTLOOK_MODELS if "model_" + name in timings}
    missing = set(OUTLOOK_MODELS) - set(models)
    if missing:
        raise SystemExit(f"the engine ran no model named {', '.join(sorted(missing))}: update OUTLOOK_MODELS")
    run = {
        "metrics_s": total,
        "models_s": models,
        "outlook_models_s": sum(models.values()),
        "fits_wait_s": timings["risk_fits_wait"],
        "fits_s": timings["risk_fits"],
        "fits_cpu_s": timings["risk_fits_cpu"],
    }
    run["added_s"] = run["outlook_models_s"] + run["fits_wait_s"] + run["fits_cpu_s"] / 2
    return run


def rounded(value):
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    return round(value, 3) if isinstance(value, float) else value


def write(document: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "outlook.json").write_text(json.dumps(document, indent=2) + "\n")
    best, median, info = document["best"], document["median"], document["machine"]
    lines = [
        f"What the outlook page adds to `scorecard metrics`, run {document['run_at']} at commit {document['commit']} on "
        f"{info['cpus']} cores, {info['memory_gib']} GiB, DuckDB {info['versions']['duckdb']}: {document['orders']:,} orders "
        f"({document['size']}, Parquet), {document['repeat']} runs; the run with the smallest total, and the median of all runs.",
        "",
        "| | best run (s) | median (s) |",
        "|---|---:|---:|",
    ]
    for name in OUTLOOK_MODELS:
        lines.append(f"| `{name}` | {best['models_s'][name]:.3f} | {median['models_s'][name]:.3f} |")
    lines += [
        f"| **outlook models** | **{best['outlook_models_s']:.2f}** | {median['outlook_models_s']:.2f} |",
        f"| waiting for the fits | {best['fits_wait_s']:.2f} | {median['fits_wait_s']:.2f} |",
        f"| the fits, beside the SQL: wall | {best['fits_s']:.2f} | {median['fits_s']:.2f} |",
        f"| the fits, beside the SQL: CPU (counted at half) | {best['fits_cpu_s']:.2f} | {median['fits_cpu_s']:.2f} |",
        f"| **added to `metrics`** (target ≤ {TARGET_S:g} s) | **{best['added_s']:.2f}** | **{median['added_s']:.2f}** |",
        f"| the whole of `metrics`, in process | {best['metrics_s']:.2f} | {median['metrics_s']:.2f} |",
        "",
    ]
    (out / "outlook.md").write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="10m", choices=list(SIZES), help="which generated data set")
    parser.add_argument("--repeat", type=int, default=5, help="runs; the one with the smallest total is kept")
    add_folder_arguments(parser)
    args = parser.parse_args()
    data = dataset(args.size, "parquet", args.data)
    runs = []
    for _ in range(args.repeat):
        runs.append(one_run(data))
        last = runs[-1]
        print(
            f"outlook models {last['outlook_models_s']:.2f} s + waiting for the fits {last['fits_wait_s']:.2f} s + "
            f"fits' CPU {last['fits_cpu_s']:.2f} s / 2 = {last['added_s']:.2f} s added (metrics {last['metrics_s']:.2f} s)",
            flush=True,
        )
    best = min(runs, key=lambda run: run["added_s"])
    median = {
        key: {name: statistics.median(run[key][name] for run in runs) for name in best[key]}
        if isinstance(best[key], dict)
        else statistics.median(run[key] for run in runs)
        for key in best
    }
    document = {"run_at": datetime.now(UTC).isoformat(timespec="seconds"), "commit": commit(), "size": args.size,
                "orders": orders_in(data), "repeat": args.repeat, "target_s": TARGET_S, "machine": machine(),
                "best": rounded(best), "median": rounded(median), "runs": [rounded(run) for run in runs]}  # fmt: skip
    write(document, args.out)
    print(f"best: {best['added_s']:.2f} s added; median {median['added_s']:.2f} s → {args.out / 'outlook.md'}")


if __name__ == "__main__":
    main()
