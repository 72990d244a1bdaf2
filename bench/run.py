"""Benchmark `scorecard metrics` and `scorecard build` at 100k, 1M and 10M orders.

    python bench/run.py                    # all sizes (the 10M data takes ~30 s to generate, once)
    python bench/run.py --sizes 100k,1m    # a subset
    python bench/run.py --sizes 100k --out /tmp/bench-results   # the CI smoke test

Data is generated with `scorecard sample` (12 segments, 4 years, ~10 orders per customer, no costs)
as Parquet and as CSV, and cached under bench/data/. Every command runs in its own process; wall time,
CPU time (user + system, children included) and peak RSS (of the largest single process) come from
os.wait4. Results go to bench/results/results.json and results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZES = {"100k": 10_000, "1m": 100_000, "10m": 1_000_000}  # label (orders) → customers
SCORECARD = [sys.executable, "-m", "scorecard"]


def measure(command: list[str]) -> dict:
    """Run a command to completion; wall seconds, CPU seconds and peak RSS (MiB) of its process tree."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    errors = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{errors}")
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),
    }


def dataset(label: str, file_format: str, root: Path) -> Path:
    folder = root / f"{label}-{file_format}"
    marker = folder / ".complete"
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        customers = SIZES[label]
        print(f"generating {label} orders ({customers:,} customers) as {file_format}…", flush=True)
        result = measure(SCORECARD + ["sample", "--out", str(folder), "--customers", str(customers), "--segments", "12",
                                      "--format", file_format, "--no-costs"])  # fmt: skip
        marker.write_text(json.dumps(result))
    return folder


def orders_in(folder: Path) -> int:
    import duckdb

    source = next(folder.glob("orders.*"))
    reader = "read_parquet" if source.suffix == ".parquet" else "read_csv"
    return duckdb.connect().execute(f"select count(*) from {reader}(?)", [str(source)]).fetchone()[0]


def run(sizes: list[str], data_root: Path, repeat: int) -> list[dict]:
    rows = []
    for label in sizes:
        parquet, csv = dataset(label, "parquet", data_root), dataset(label, "csv", data_root)
        generated = json.loads((parquet / ".complete").read_text())
        for name, command in (
            ("metrics (Parquet)", SCORECARD + ["metrics", "--period", "Q3", "--data", str(parquet), "--format", "json"]),
            ("metrics (CSV)", SCORECARD + ["metrics", "--period", "Q3", "--data", str(csv), "--format", "json"]),
            ("build (Parquet)", None),
        ):
            best = None
            for _ in range(repeat):
                with tempfile.TemporaryDirectory() as out:
                    actual = command or SCORECARD + ["build", "--period", "Q3", "--data", str(parquet), "--out", out, "--force", "--quiet"]
                    result = measure(actual)
                best = result if best is None or result["wall_s"] < best["wall_s"] else best
            row = {"size": label, "orders": orders_in(parquet), "customers": SIZES[label], "command": name, **best}
            print(f"{label:>5} {name:<18} {best['wall_s']:7.2f} s wall {best['cpu_s']:7.2f} s CPU {best['peak_rss_mib']:6} MiB", flush=True)
            rows.append(row)
        rows.append({"size": label, "orders": orders_in(parquet), "customers": SIZES[label], "command": "sample (Parquet)", **generated})
    return rows


def machine() -> dict:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = {name: metadata.version(name) for name in ("scorecard", "duckdb", "weasyprint", "vl-convert-python")}
    return {"cpus": os.cpu_count(), "memory_gib": round(memory, 1), "python": platform.python_version(),
            "platform": platform.platform(), "versions": versions}  # fmt: skip


def write(rows: list[dict], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    info = machine()
    document = {"run_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": info, "results": rows}
    (out / "results.json").write_text(json.dumps(document, indent=2) + "\n")
    lines = [
        f"Benchmark run {document['run_at']} on {info['cpus']} cores, {info['memory_gib']} GiB, Python {info['python']}, "
        f"DuckDB {info['versions']['duckdb']}, WeasyPrint {info['versions']['weasyprint']}.",
        "",
        "| data | orders | customers | command | wall (s) | CPU (s) | peak RSS (MiB) |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['size']} | {row['orders']:,} | {row['customers']:,} | {row['command']} | {row['wall_s']:.2f} | "
            f"{row['cpu_s']:.2f} | {row['peak_rss_mib']:,} |"
        )
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'results.md'} and results.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(SIZES), help="comma-separated: " + ", ".join(SIZES))
    parser.add_argument("--data", type=Path, default=HERE / "data", help="where generated data is cached")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="where results are written")
    parser.add_argument("--repeat", type=int, default=1, help="runs per command; the fastest is kept")
    args = parser.parse_args()
    sizes = [size.strip().lower() for size in args.sizes.split(",") if size.strip()]
    unknown = [size for size in sizes if size not in SIZES]
    if unknown:
        raise SystemExit(f"unknown size {unknown[0]!r}; choose from {', '.join(SIZES)}")
    write(run(sizes, args.data, args.repeat), args.out)


if __name__ == "__main__":
    main()
