"""Benchmark `scorecard metrics` and `scorecard build` at 100k, 1M, 10M and 100M orders.

    python bench/run.py --sizes 100k,1m,10m   # the everyday sizes (the 10M data takes ~30 s to generate, once)
    python bench/run.py --sizes 100m --only "metrics (parquet)" --repeat 1   # 10M customers: ~1 GB of Parquet
    python bench/run.py --plot-only           # redraw bench/results/scaling.png from results.json
    python bench/run.py --sizes 100k --out /tmp/bench-results   # the CI smoke test
    python bench/run.py --sizes 10m --only parquet,postgres --repeat 3   # PostgreSQL against Parquet

Data is generated with `scorecard sample` (12 segments, 4 years, ~10 orders per customer, no costs)
as Parquet and as CSV, and cached under bench/data/. Every command runs in its own process; wall time,
CPU time (user + system, children included) and peak RSS (of the largest single process) come from
os.wait4. Results go to bench/results/results.json and results.md: a run replaces the rows of the sizes and
commands it measured and keeps the others, each row naming the commit it measured and the load average
while it ran (the machine may be shared). Commands are run `--repeat` times and the fastest kept, except
those whose first run takes over a minute. scaling.png plots time and peak memory of `metrics (Parquet)`
against orders: a straight line through the origin is linear scaling.

Where PostgreSQL is installed (initdb, pg_ctl) with the postgres extra, the same data is also loaded
into typed tables of a local server (started for the run on 127.0.0.1, its data folder cached under
bench/data/; the first load of 10M orders takes a few minutes) and read from there: `metrics
(PostgreSQL)` is the whole command, and the transfer alone (one snapshot of all tables into DuckDB) is
timed in this process and given in rows per second. The server's own CPU time is not in the CPU column.
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
SIZES = {"100k": 10_000, "1m": 100_000, "10m": 1_000_000, "100m": 10_000_000}  # label (orders) → customers
REPEAT_UNDER_S = 60  # a command slower than this on its first run is not repeated
SCORECARD = [sys.executable, "-m", "scorecard"]


def commit() -> str:
    """The commit measured (with "+changes" when the work tree differs from it)."""

    def git(*args):
        return subprocess.run(["git", *args], cwd=HERE.parent, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+changes" if git("status", "--porcelain", "--untracked-files=no", "--", "scorecard", "sql") else "")


def measure(command: list[str]) -> dict:
    """Run a command to completion; wall seconds, CPU seconds and peak RSS (MiB) of its process tree, and
    the 1-minute load average at its end."""
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
        "load_avg": round(os.getloadavg()[0], 1),
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
        marker.write_text(json.dumps(result | {"commit": commit()}))
    return folder


def orders_in(folder: Path) -> int:
    import duckdb

    source = next(folder.glob("orders.*"))
    reader = "read_parquet" if source.suffix == ".parquet" else "read_csv"
    return duckdb.connect().execute(f"select count(*) from {reader}(?)", [str(source)]).fetchone()[0]


# Column types of the generated tables in PostgreSQL (all others text), as an application would have them.
POSTGRES_TYPES = {
    "customers": {"created_at": "date", "closed_at": "date"},
    "orders": {"order_date": "date", "amount": "numeric(18,2)", "margin": "numeric(5,3)"},
    "referrals": {"referred_at": "date"},
}


def postgres_server(label: str, parquet: Path, data_root: Path):
    """A local PostgreSQL server holding the Parquet data set in typed tables (database `bench`), started;
    None (with the reason printed) when PostgreSQL or the driver is missing."""
    sys.path.insert(0, str(HERE.parent / "tests"))
    from postgres_server import Server, driver_installed, find_bindir

    bindir = find_bindir()
    if bindir is None or not driver_installed():
        print("PostgreSQL skipped: needs initdb/pg_ctl (Debian's postgresql) and pip install '.[postgres]'", flush=True)
        return None
    import duckdb

    folder = data_root / f"{label}-postgres"
    if not (folder / ".complete").exists():
        shutil.rmtree(folder, ignore_errors=True)
    server = Server(bindir, folder=folder.resolve(), settings={"max_wal_size": "4GB"}).start()
    if not (folder / ".complete").exists():
        print(f"loading {label} into PostgreSQL…", flush=True)
        started = time.perf_counter()
        server.psql("create database bench")
        with tempfile.TemporaryDirectory() as scratch:
            for source in sorted(parquet.glob("*.parquet")):
                table, csv_file = source.stem, Path(scratch) / f"{source.stem}.csv"
                duckdb.execute(f"copy (select * from read_parquet('{source}')) to '{csv_file}' (header)")
                server.load_csv("bench", f"public.{table}", csv_file, POSTGRES_TYPES.get(table))
                csv_file.unlink()
        server.psql("vacuum analyze", "bench")
        (folder / ".complete").write_text(json.dumps({"load_s": round(time.perf_counter() - started, 1)}))
    return server


def _server_cpu_seconds(server) -> float:
    """CPU time of the server so far: the postmaster and every backend it has reaped (a backend ends
    with its connection, so the transfer's is counted once the loader has closed it)."""
    pid = int((server.data / "postmaster.pid").read_text().split()[0])
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime, stime, cutime, cstime


def measure_transfer(server, url: str, repeat: int) -> dict:
    """The loader alone: every table of one snapshot into DuckDB. The best run's wall seconds, rows per
    second, and the CPU seconds of this process (driver and DuckDB) and of the server."""
    from scorecard import engine
    from scorecard.source import resolve_source

    best = None
    for _ in range(repeat):
        source = resolve_source(url)
        with engine.connect() as con:
            server_cpu, client_cpu, started = _server_cpu_seconds(server), time.process_time(), time.perf_counter()
            source.loader.load(con, source)
            seconds, client_cpu = time.perf_counter() - started, time.process_time() - client_cpu
            time.sleep(0.5)  # let the postmaster reap the backend
            server_cpu = _server_cpu_seconds(server) - server_cpu
            rows = sum(con.execute(f"select count(*) from src_{table}").fetchone()[0] for table in source.tables)
        if best is None or seconds < best["transfer_s"]:
            best = {"rows": rows, "transfer_s": round(seconds, 2), "rows_per_s": round(rows / seconds),
                    "client_cpu_s": round(client_cpu, 2), "server_cpu_s": round(server_cpu, 2)}  # fmt: skip
    return best


def run(sizes: list[str], data_root: Path, repeat: int, only: list[str] | None = None) -> list[dict]:
    def wanted(command_name: str) -> bool:
        return not only or any(token in command_name.lower() for token in only)

    rows = []
    for label in sizes:
        parquet = dataset(label, "parquet", data_root)
        csv = dataset(label, "csv", data_root) if wanted("metrics (CSV)") else None  # made only when a command reads it
        generated = json.loads((parquet / ".complete").read_text())
        server = postgres_server(label, parquet, data_root) if not only or any("postgres" in token for token in only) else None
        url = server.url("bench") if server else None
        for name, command in (
            ("metrics (Parquet)", SCORECARD + ["metrics", "--period", "Q3", "--data", str(parquet), "--format", "json"]),
            ("metrics (CSV)", SCORECARD + ["metrics", "--period", "Q3", "--data", str(csv), "--format", "json"]),
            ("metrics (PostgreSQL)", SCORECARD + ["metrics", "--period", "Q3", "--data", str(url), "--format", "json"]),
            ("build (Parquet)", None),
        ):
            if not wanted(name) or ("PostgreSQL" in name and not server):
                continue
            best, runs = None, 0
            while runs < repeat and (best is None or best["wall_s"] < REPEAT_UNDER_S):
                with tempfile.TemporaryDirectory() as out:
                    actual = command or SCORECARD + ["build", "--period", "Q3", "--data", str(parquet), "--out", out, "--force", "--quiet"]
                    result = measure(actual)
                best = result if best is None or result["wall_s"] < best["wall_s"] else best
                runs += 1
            row = {"size": label, "orders": orders_in(parquet), "customers": SIZES[label], "command": name, "runs": runs,
                   "commit": commit(), **best}  # fmt: skip
            print(f"{label:>5} {name:<20} {best['wall_s']:7.2f} s wall {best['cpu_s']:7.2f} s CPU {best['peak_rss_mib']:6} MiB", flush=True)
            rows.append(row)
        if server:
            transfer = measure_transfer(server, url, repeat)
            rows.append(
                {"size": label, "orders": orders_in(parquet), "customers": SIZES[label], "command": "PostgreSQL transfer", **transfer}
            )
            print(
                f"{label:>5} PostgreSQL transfer  {transfer['rows']:,} rows in {transfer['transfer_s']:.2f} s: {transfer['rows_per_s']:,} rows/s"
            )
            server.stop(remove=False)
        if not only or any("sample" in token for token in only):
            rows.append(
                {"size": label, "orders": orders_in(parquet), "customers": SIZES[label], "command": "sample (Parquet)", "runs": 1,
                 **generated}
            )  # fmt: skip
    return rows


def machine() -> dict:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = {name: metadata.version(name) for name in ("scorecard", "duckdb", "typst")}
    return {"cpus": os.cpu_count(), "memory_gib": round(memory, 1), "python": platform.python_version(),
            "platform": platform.platform(), "versions": versions}  # fmt: skip


def write(rows: list[dict], out: Path) -> None:
    """Merge `rows` into out/results.json (replacing rows of the same size and command), then write
    results.md and scaling.png from the whole file."""
    out.mkdir(parents=True, exist_ok=True)
    info = machine()
    kept = []
    if (out / "results.json").exists():
        measured = {(row["size"], row["command"]) for row in rows}
        kept = [row for row in json.loads((out / "results.json").read_text())["results"] if (row["size"], row["command"]) not in measured]
    order = list(SIZES)
    rows = sorted(kept + rows, key=lambda row: (order.index(row["size"]) if row["size"] in order else len(order), row["command"]))
    document = {"run_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": info, "results": rows}
    (out / "results.json").write_text(json.dumps(document, indent=2) + "\n")
    lines = [
        f"Benchmark written {document['run_at']} on {info['cpus']} cores, {info['memory_gib']} GiB, Python {info['python']}, "
        f"DuckDB {info['versions']['duckdb']}, Typst (Python package) {info['versions']['typst']}. Wall: the fastest of `runs` runs "
        "(one when the first took over a minute); CPU: user + system of that run; load: the machine's 1-minute load "
        "average as it ended (2 cores: above 2, others were competing for them).",
        "",
        "| data | orders | customers | command | wall (s) | CPU (s) | peak RSS (MiB) | runs | load | commit |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        if "transfer_s" in row:
            continue
        lines.append(
            f"| {row['size']} | {row['orders']:,} | {row['customers']:,} | {row['command']} | {row['wall_s']:.2f} | "
            f"{row['cpu_s']:.2f} | {row['peak_rss_mib']:,} | {row.get('runs', '')} | {row.get('load_avg', '')} | {row.get('commit', 'earlier run')} |"
        )
    transfers = [row for row in rows if "transfer_s" in row]
    if transfers:
        lines += ["", "PostgreSQL → DuckDB transfer (every table, one snapshot; best run):", "",
                  "| data | rows | wall (s) | rows per second | CPU here (s) | CPU server (s) |", "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
        lines += [
            f"| {row['size']} | {row['rows']:,} | {row['transfer_s']:.2f} | {row['rows_per_s']:,} | {row['client_cpu_s']:.2f} | {row['server_cpu_s']:.2f} |"
            for row in transfers
        ]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    plot(rows, out / "scaling.png")
    print(f"wrote {out / 'results.md'}, results.json and scaling.png")


def plot(rows: list[dict], target: Path) -> None:
    """Time (wall and CPU) and peak memory of `metrics (Parquet)` against orders, on log-log axes, each with
    the line of proportional growth through the largest size (dashed): linear scaling keeps every point on
    or above it (a fixed start-up cost lifts the small sizes)."""
    import vl_convert

    points = [row for row in rows if row["command"] == "metrics (Parquet)" and "wall_s" in row]
    if len(points) < 2:
        return
    largest = max(points, key=lambda row: row["orders"])
    values = []
    for row in points:
        for panel, series, key in (
            ("time (s)", "wall time", "wall_s"), ("time (s)", "CPU time (user + system)", "cpu_s"),
            ("peak memory (MiB)", "peak RSS", "peak_rss_mib"),
        ):  # fmt: skip
            proportional = round(largest[key] * row["orders"] / largest["orders"], 3)
            values.append({"panel": panel, "series": series, "orders": row["orders"], "value": row[key], "kind": "measured"})
            values.append({"panel": panel, "series": series, "orders": row["orders"], "value": proportional, "kind": "proportional"})
    x = {"field": "orders", "type": "quantitative", "scale": {"type": "log"}, "title": "orders", "axis": {"format": "~s"}}
    y = {"field": "value", "type": "quantitative", "scale": {"type": "log"}, "title": None}
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": {"values": values},
        "facet": {"column": {"field": "panel", "type": "nominal", "title": None, "sort": ["time (s)", "peak memory (MiB)"]}},
        "resolve": {"scale": {"y": "independent"}},
        "spec": {
            "width": 300, "height": 240,
            "mark": {"type": "line", "point": True},
            "encoding": {
                "x": x, "y": y,
                "color": {"field": "series", "title": None, "legend": {"orient": "bottom", "symbolType": "stroke"}},
                "strokeDash": {"field": "kind", "title": None, "legend": {"orient": "bottom", "symbolType": "stroke", "symbolStrokeWidth": 2, "encode": {"symbols": {"update": {"stroke": {"value": "#555"}}}}}},
                "detail": {"field": "kind"},
            },
        },
        "title": {"text": "scorecard metrics (Parquet) against orders",
                  "subtitle": f"dashed: proportional to orders through the largest size; commit {largest.get('commit', '?')}"},
        "config": {"font": "DejaVu Sans"},
    }  # fmt: skip
    target.write_bytes(vl_convert.vegalite_to_png(spec, scale=2, allowed_base_urls=[]))


def chosen(text: str, allowed, what: str) -> list[str]:
    """The comma-separated names in `text` (lower case), all of them among `allowed`, else a usage error."""
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise SystemExit(f"unknown {what} {unknown[0]!r}; choose from {', '.join(allowed)}")
    return names


def add_folder_arguments(parser: argparse.ArgumentParser) -> None:
    """--data and --out, as every benchmark script takes them."""
    parser.add_argument("--data", type=Path, default=HERE / "data", help="where generated data is cached")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="where results are written")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(SIZES), help="comma-separated: " + ", ".join(SIZES))
    add_folder_arguments(parser)
    parser.add_argument("--repeat", type=int, default=1, help="runs per command; the fastest is kept")
    parser.add_argument("--plot-only", action="store_true", help="only redraw scaling.png from the results.json in --out")
    parser.add_argument(
        "--only", default="", help="comma-separated words: run only the commands whose name holds one (parquet, csv, postgres, build…)"
    )
    args = parser.parse_args()
    if args.plot_only:
        plot(json.loads((args.out / "results.json").read_text())["results"], args.out / "scaling.png")
        return
    sizes = chosen(args.sizes, SIZES, "size")
    only = [token.strip().lower() for token in args.only.split(",") if token.strip()] or None
    write(run(sizes, args.data, args.repeat, only), args.out)


if __name__ == "__main__":
    main()
