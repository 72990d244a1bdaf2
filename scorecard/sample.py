"""The sample data generator: realistic customers, orders, referrals and costs, made inside DuckDB.

Everything random comes from hashes of (seed, key, salt) — see sql/sample/macros/random.sql — so a seed
always gives the same bytes, at any size and thread count.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path

from .engines.duckdb import DuckDBEngine
from .errors import OutputError, UsageError
from .models import ModelRunner
from .outputs import os_errors_explained
from .resources import resource_path
from .source import sql_string

DEFAULT_CUSTOMERS = 4000
DEFAULT_SEED = 7
DEFAULT_START = date(2022, 1, 1)
DEFAULT_END = date(2025, 12, 31)
FORMATS = ("csv", "parquet")
# Written beside the files: a folder holding it is a sample of ours, which a new sample may overwrite.
SAMPLE_MARKER = ".scorecard-sample"
# Above this many customers, orders (and costs) are made in chunks of order dates, one chunk per this many
# customers (~10 orders each), so memory stays that of one chunk: 10M customers fit in a few GB.
CHUNK_CUSTOMERS = 1_000_000
# One chunk's tables take ~1–2 GB; DuckDB spills what goes beyond this, so even 10M customers stay far under
# 8 GB of memory (SCORECARD_MEMORY_LIMIT, when set, decides instead).
MEMORY_LIMIT = 3 * 2**30

# output table → (generator model, columns written, sort order)
OUTPUTS = {
    "customers": ("sample_customers", "customer_id, name, segment, signup_date as created_at, closed_at, closed_reason", "customer_id"),
    "orders": ("sample_orders", "order_id, customer_id, order_date, amount, margin, status", "order_id"),
    "referrals": ("sample_referrals", "referral_id, referrer_id, referred_customer_id, referred_at, note", "referral_id"),
    "costs": ("sample_costs", "customer_id, cost_date, amount, kind", "customer_id, cost_date, kind, amount"),
}


def years_before(end: date, years: int) -> date:
    """The first day of a span of `years` whole years ending on `end` (2025-12-31 → 2022-01-01)."""
    day = end + timedelta(days=1)
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def generate(
    out: Path,
    *,
    customers: int = DEFAULT_CUSTOMERS,
    seed: int = DEFAULT_SEED,
    segments: int = 5,
    start: date = DEFAULT_START,
    end: date = DEFAULT_END,
    file_format: str = "csv",
    costs: bool = True,
    force: bool = False,
    chunk_customers: int | None = None,
) -> dict[str, int]:
    """Write customers, orders, referrals (and costs) into `out`; return the row count of each. A
    folder that holds other files and no sample of ours is refused unless `force`: it may be real data."""
    if customers < 10:
        raise UsageError("--customers must be at least 10")
    if not 1 <= segments <= 12:
        raise UsageError("--segments must be between 1 and 12")
    if file_format not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}")
    if (end - start).days < 365:
        raise UsageError("the sample needs at least a year between start and end")
    with os_errors_explained(out):
        _check_out(out, force)
        out.mkdir(parents=True, exist_ok=True)
        return _generate(out, customers, seed, segments, start, end, file_format, costs, chunk_customers)


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} is a file; --out must name a folder")
    entries = sorted(os.listdir(out)) if out.is_dir() else []
    if entries and SAMPLE_MARKER not in entries and not force:
        shown = ", ".join(entries[:3]) + (f" and {len(entries) - 3} more" if len(entries) > 3 else "")
        raise OutputError(
            f"{out} is not empty and holds no sample written by scorecard ({shown}); choose a new or empty folder, "
            "or pass --force to overwrite its customers, orders, referrals and costs files"
        )


def _date_chunks(start: date, end: date, chunks: int) -> list[tuple[date, date]]:
    """[start, end] cut into `chunks` consecutive spans of (nearly) equal length."""
    days = (end - start).days + 1
    cuts = [start + timedelta(days=days * index // chunks) for index in range(chunks + 1)]
    return [(cuts[index], cuts[index + 1] - timedelta(days=1)) for index in range(chunks) if cuts[index] < cuts[index + 1]]


def _generate(out, customers, seed, segments, start, end, file_format, costs, chunk_customers=None) -> dict[str, int]:
    con = DuckDBEngine()  # DuckDB itself, not any engine: the generator's SQL writes the files
    con.cap_memory(MEMORY_LIMIT)
    chunks = _date_chunks(start, end, -(-customers // (chunk_customers or CHUNK_CUSTOMERS)))
    con.execute(
        "create table sample_settings as select ?::bigint as seed, ?::bigint as customers, ?::integer as segments, "
        "?::date as start_date, ?::date as end_date, ?::date as chunk_from, ?::date as chunk_to, 0::bigint as order_offset, "
        "true as customer_costs",
        [seed, customers, segments, start, end, *chunks[0]],
    )
    runner = ModelRunner(con, resource_path("sql") / "sample", inputs=frozenset({"sample_settings"}))
    counts = {}
    options = "(format csv, header true)" if file_format == "csv" else "(format parquet, compression zstd)"
    # Write into a private folder first so a failed run never leaves half a sample behind.
    staging = Path(tempfile.mkdtemp(prefix=".sample-", dir=out))
    try:
        parts: dict[str, list[Path]] = {"orders": [], "costs": []}
        for index, (chunk_from, chunk_to) in enumerate(chunks):
            if index:
                con.execute(
                    "update sample_settings set chunk_from = ?, chunk_to = ?, customer_costs = false, "
                    "order_offset = order_offset + (select count(*) from sample_orders where order_id not like '%-R')",
                    [chunk_from, chunk_to],
                )
                runner.done -= {"sample_orders", "sample_costs"}
            runner.run(available={"sample_settings"})
            for table, (model, columns, order) in OUTPUTS.items():
                if (table == "costs" and not costs) or (index and table not in parts):
                    continue
                chunked = len(chunks) > 1 and table in parts  # chunks go to Parquet parts, joined at the end
                target = staging / (f"{table}.{index}.parquet" if chunked else f"{table}.{file_format}")
                copy_options = "(format parquet, compression zstd)" if chunked else options
                con.execute(f"copy (select {columns} from {model} order by {order}) to {sql_string(str(target))} {copy_options}")
                counts[table] = counts.get(table, 0) + con.execute(f"select count(*) from {model}").fetchone()[0]
                if chunked:
                    parts[table].append(target)
        con.execute("drop table if exists sample_orders")
        con.execute("drop table if exists sample_costs")
        for table, written in parts.items():
            if written:
                _join_parts(con, written, staging / f"{table}.{file_format}", file_format, None if table == "orders" else OUTPUTS[table][2])
        for table in OUTPUTS:
            for suffix in FORMATS:
                stale = out / f"{table}.{suffix}"
                if os.path.lexists(stale):
                    stale.unlink()
        (staging / SAMPLE_MARKER).write_text("A sample written by `scorecard sample`; it may overwrite this folder.\n")
        for written in staging.iterdir():
            os.replace(written, out / written.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        con.close()
    return counts


def _join_parts(con, parts: list[Path], target: Path, file_format: str, order: str | None) -> None:
    """One file from the chunks' files: in chunk order (orders: numbered by date across chunks), or sorted
    by `order` (costs: by customer, as a one-chunk sample is). DuckDB streams the copy and spills a sort."""
    reader = "read_parquet([" + ", ".join(sql_string(str(part)) for part in parts) + "])"
    options = "(format csv, header true)" if file_format == "csv" else "(format parquet, compression zstd)"
    con.execute("set preserve_insertion_order = true")
    con.execute(f"copy (select * from {reader}{' order by ' + order if order else ''}) to {sql_string(str(target))} {options}")
    for part in parts:
        part.unlink()
