"""Benchmark `scorecard metrics` on DuckDB and on Spark (local mode), at 1M and 10M orders.

    python bench/spark.py                        # 1m and 10m; writes bench/results/spark.md and spark.json
    python bench/spark.py --sizes 1m --repeat 3  # a subset, best of three
    python bench/spark.py --engines duckdb       # one engine: its rows are replaced, the others kept

The data is bench/run.py's (generated once and cached under bench/data/): the same tables as CSV and as
Parquet. Each command runs in its own process, as a user would run it, so Spark's times include starting
its JVM. CPU time and peak memory cover the whole process tree (Spark's JVM is a child process that
Python does not wait for, so os.wait4 would miss it): /proc is sampled every 0.2 s. Spark runs with `--spark-master local[2]` and SCORECARD_MEMORY_LIMIT (its driver memory in local
mode, default 8GB here); DuckDB with its defaults. One machine is not where Spark pays off: the point is
that the same models run unchanged where the data is too large for one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import SCORECARD, SIZES, add_folder_arguments, chosen, commit, dataset, orders_in

ENGINES = {  # --engines name → (label in the results, arguments)
    "duckdb": ("DuckDB", []),
    "spark": ("Spark local[2]", ["--engine", "spark", "--spark-master", "local[2]"]),
}


TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _tree(root: int) -> dict[int, tuple[float, int]]:
    """(CPU seconds, RSS bytes) of `root` and every process descended from it, from /proc."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # after the command: state, ppid, …; utime and stime are fields 14 and 15, rss field 24 of stat(5)
            stats[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS, int(fields[21]) * PAGE)
    tree, frontier = {}, {root}
    while frontier:
        tree |= {pid: stats[pid][1:] for pid in frontier if pid in stats}
        frontier = {pid for pid, (parent, *_) in stats.items() if parent in frontier and pid not in tree}
    return tree


def measure(command: list[str]) -> dict:
    """Wall seconds, CPU seconds and peak RSS (MiB, summed over the tree) of a command's process tree."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    cpu, peak = {}, 0
    while process.poll() is None:
        tree = _tree(process.pid)
        cpu |= {pid: seconds for pid, (seconds, _) in tree.items()}
        peak = max(peak, sum(rss for _, rss in tree.values()))
        time.sleep(0.2)
    wall = time.perf_counter() - started
    errors = process.stderr.read().decode(errors="replace")
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{errors}")
    return {"wall_s": round(wall, 2), "cpu_s": round(sum(cpu.values()), 2), "peak_rss_mib": round(peak / 2**20)}


def run(sizes: list[str], engines: list[str], data_root: Path, repeat: int, memory: str) -> list[dict]:
    rows = []
    for label in sizes:
        folders = {"Parquet": dataset(label, "parquet", data_root), "CSV": dataset(label, "csv", data_root)}
        for engine, engine_args in (ENGINES[name] for name in engines):
            if engine_args:  # Spark's driver memory; DuckDB keeps its default limit
                os.environ["SCORECARD_MEMORY_LIMIT"] = memory
            else:
                os.environ.pop("SCORECARD_MEMORY_LIMIT", None)
            for file_format, folder in folders.items():
                command = SCORECARD + ["metrics", "--period", "Q3", "--data", str(folder), "--format", "json", *engine_args]
                results = [measure(command) for _ in range(repeat)]
                best = min(results, key=lambda result: result["wall_s"])
                walls = sorted(result["wall_s"] for result in results)
                row = {"size": label, "orders": orders_in(folders["Parquet"]), "customers": SIZES[label], "engine": engine,
                       "input": file_format, **best, "wall_runs_s": walls, "load_avg": round(os.getloadavg()[0], 1),
                       "commit": commit()}  # fmt: skip
                print(f"{label:>4} {engine:<15} {file_format:<8} {best['wall_s']:8.2f} s wall {best['cpu_s']:8.2f} s CPU "
                      f"{best['peak_rss_mib']:6} MiB   runs: {walls}", flush=True)  # fmt: skip
                rows.append(row)
    return rows


def write(rows: list[dict], out: Path, memory: str) -> None:
    """Merge `rows` into out/spark.json (replacing rows of the same size, engine and input), then write spark.md."""
    out.mkdir(parents=True, exist_ok=True)
    measured = {(row["size"], row["engine"], row["input"]) for row in rows}
    if (out / "spark.json").exists():
        kept = json.loads((out / "spark.json").read_text())["results"]
        rows = [row for row in kept if (row["size"], row["engine"], row["input"]) not in measured] + rows
    rows.sort(key=lambda row: (list(SIZES).index(row["size"]), row["engine"], row["input"] != "Parquet"))
    versions = {name: metadata.version(name) for name in ("scorecard", "duckdb", "pyspark", "sqlglot")}
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    document = {
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gib": round(memory_gib, 1),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "versions": versions,
            "spark_driver_memory": memory,
        },  # fmt: skip
        "results": rows,
    }
    (out / "spark.json").write_text(json.dumps(document, indent=2) + "\n")
    lines = [
        f"Benchmark run {document['run_at']} on {os.cpu_count()} cores, {memory_gib:.1f} GiB, Python {platform.python_version()}, "
        f"DuckDB {versions['duckdb']}, PySpark {versions['pyspark']} (local[2], driver memory {memory}), SQLGlot {versions['sqlglot']}.",
        "`scorecard metrics --period Q3 --format json`, one process per run (Spark's include starting its JVM); best of the runs. "
        "CPU and peak RSS cover the process tree (sampled every 0.2 s, so CPU misses up to 0.2 s per process).",
        "",
        "Load: the machine's 1-minute load average as the run ended (2 cores: above 2, something was competing; Spark's own "
        "JVM threads bring its runs to ~3 on an otherwise idle machine).",
        "",
        "| data | orders | customers | engine | input | wall (s) | CPU (s) | peak RSS (MiB) | all runs, wall (s) | load | commit |",
        "|---|---:|---:|---|---|---:|---:|---:|---|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['size']} | {row['orders']:,} | {row['customers']:,} | {row['engine']} | {row['input']} | {row['wall_s']:.2f} | "
            f"{row['cpu_s']:.2f} | {row['peak_rss_mib']:,} | {', '.join(f'{w:.1f}' for w in row['wall_runs_s'])} | "
            f"{row.get('load_avg', '')} | {row.get('commit', 'earlier run')} |"
        )
    (out / "spark.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'spark.md'} and spark.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1m,10m", help="comma-separated: " + ", ".join(SIZES))
    add_folder_arguments(parser)
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated: " + ", ".join(ENGINES))
    parser.add_argument("--repeat", type=int, default=1, help="runs per command; the fastest is kept, all are listed")
    parser.add_argument("--memory", default="8GB", help="Spark driver memory in local mode (SCORECARD_MEMORY_LIMIT)")
    args = parser.parse_args()
    sizes = chosen(args.sizes, SIZES, "size")
    engines = chosen(args.engines, ENGINES, "engine")
    write(run(sizes, engines, args.data, args.repeat, args.memory), args.out, args.memory)


if __name__ == "__main__":
    main()
