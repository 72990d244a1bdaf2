"""Benchmark `scorecard build`: the bundled sample's quick start, 100k orders and 10M orders.

    python bench/builds.py                         # all three rows, best of 3
    python bench/builds.py --rows sample,100k      # a subset
    python bench/builds.py --repeat 1 --out /tmp/build-bench

Rows (the build rows of the performance targets in the README):
  sample  `scorecard build --period Q3` on the bundled sample (6 scorecards and the board pack)
  100k    10,000 customers / ~100k orders, 12 segments, Parquet (13 scorecards and the board pack)
  10m     1,000,000 customers / ~10M orders, 12 segments, Parquet (13 scorecards and the board pack)

The generated data is made and cached under bench/data/ as bench/run.py does. Each build runs in its own
process with --force into an empty folder; wall time, CPU time (user + system)
and peak RSS (of the largest single process) come from os.wait4, and the metrics part of the wall time
from the build's manifest. The fastest run (by wall time) is kept, with the machine's load average just
before it: on a shared machine, compare CPU times rather than wall times. Results go to
bench/results/builds.json and builds.md, with the commit measured.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import SCORECARD, add_folder_arguments, chosen, commit, dataset, machine, measure, orders_in

ROWS = {
    "sample": ("bundled sample", None),
    "100k": ("100k orders (Parquet)", "100k"),
    "10m": ("10M orders (Parquet)", "10m"),
}
TARGETS = {"sample": 4.0, "100k": 5.0, "10m": 15.0}  # seconds of wall time on a quiet 2-core machine


def measure_build(data: Path | None, repeat: int) -> dict:
    best = None
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as out:
            command = SCORECARD + ["build", "--period", "Q3", "--out", out, "--force", "--quiet"]
            command += ["--data", str(data)] if data else []
            load = os.getloadavg()[0]
            result = measure(command)
            manifest = json.loads(next(Path(out).glob("*/manifest.json")).read_text())
        result |= {"metrics_s": round(manifest["timings_seconds"]["metrics"], 2), "load_before": round(load, 2)}
        best = result if best is None or result["wall_s"] < best["wall_s"] else best
    return best


def run(rows: list[str], data_root: Path, repeat: int) -> list[dict]:
    results = []
    for row in rows:
        label, size = ROWS[row]
        data = dataset(size, "parquet", data_root) if size else None
        best = measure_build(data, repeat)
        orders = orders_in(data) if data else None
        results.append({"row": row, "data": label, "orders": orders, "target_s": TARGETS[row], **best})
        print(
            f"{row:>6} {best['wall_s']:7.2f} s wall {best['cpu_s']:7.2f} s CPU {best['metrics_s']:6.2f} s metrics "
            f"{best['peak_rss_mib']:6} MiB (load before {best['load_before']})",
            flush=True,
        )
    return results


def write(results: list[dict], repeat: int, out: Path, measured: str | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    info = machine()
    document = {"run_at": datetime.now(UTC).isoformat(timespec="seconds"), "commit": measured or commit(), "repeat": repeat, "machine": info,
                "results": results}  # fmt: skip
    (out / "builds.json").write_text(json.dumps(document, indent=2) + "\n")
    lines = [
        f"`scorecard build` benchmark, run {document['run_at']} at commit {document['commit']} on {info['cpus']} cores, "
        f"{info['memory_gib']} GiB, Python {info['python']}, Typst (Python package) {info['versions']['typst']}; "
        f"best of {repeat} by wall time.",
        "",
        "| build | orders | wall (s) | CPU (s) | of which metrics, wall (s) | peak RSS (MiB) | load average before | target wall (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results:
        orders = f"{row['orders']:,}" if row["orders"] else "–"
        lines.append(
            f"| {row['data']} | {orders} | {row['wall_s']:.2f} | {row['cpu_s']:.2f} | {row['metrics_s']:.2f} | "
            f"{row['peak_rss_mib']:,} | {row['load_before']:.2f} | ≤ {row['target_s']:.0f} |"
        )
    (out / "builds.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'builds.md'} and builds.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated: " + ", ".join(ROWS))
    add_folder_arguments(parser)
    parser.add_argument("--repeat", type=int, default=3, help="runs per build; the fastest is kept")
    args = parser.parse_args()
    rows = chosen(args.rows, ROWS, "row")
    write(run(rows, args.data, args.repeat), args.repeat, args.out)


if __name__ == "__main__":
    main()
