"""The DuckDB engine (the default): a private in-memory database per run, speaking the models' own SQL."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from ..errors import ScorecardError, UsageError, excerpt
from ..source import load_source


def spill_folder() -> Path:
    """Where DuckDB spills what does not fit its memory limit: $SCORECARD_TEMP_DIR, else the system's temp
    folder ($TMPDIR), in a folder of this process's own."""
    return Path(os.environ.get("SCORECARD_TEMP_DIR") or tempfile.gettempdir()).resolve() / f"scorecard-duckdb-{os.getpid()}"


DEFAULT_MEMORY_LIMIT = 8 * 2**30  # at most; and at most half of what DuckDB sees (RAM, or the cgroup's limit)
_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def _bytes(size: str) -> int | None:
    """'18.7 GiB' (DuckDB's way of writing a size) → bytes."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([KMGT]?i?B)\s*", size, re.IGNORECASE)
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()]) if match else None


class DuckDBEngine:
    """A private in-memory database; spills go to an absolute temp folder (cron has no sensible cwd).
    DuckDB may use half the memory it sees (80 % is its own default), at most 8 GiB, so one build never
    starves a shared machine; beyond that it spills to disk, or stops with a clear error.
    $SCORECARD_THREADS and $SCORECARD_MEMORY_LIMIT (e.g. 4GB) override the defaults (all cores, that limit);
    $SCORECARD_TEMP_DIR moves the spill folder, $SCORECARD_MAX_SPILL (e.g. 50GB) caps it (default: 90 % of
    the free space on its disk, DuckDB's own)."""

    name = "duckdb"

    def __init__(self) -> None:
        if os.environ.get("SCORECARD_TEMP_DIR") and not Path(os.environ["SCORECARD_TEMP_DIR"]).is_dir():
            raise UsageError(
                f"SCORECARD_TEMP_DIR {excerpt(os.environ['SCORECARD_TEMP_DIR'])} is not a folder; create it or point it at one"
            )
        con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
        con.execute("set temp_directory = ?", [str(spill_folder())])
        con.execute("set TimeZone = 'UTC'")
        con.execute("set enable_progress_bar = false")
        try:
            if os.environ.get("SCORECARD_THREADS"):
                con.execute("set threads = ?", [int(os.environ["SCORECARD_THREADS"])])
            if os.environ.get("SCORECARD_MAX_SPILL"):
                con.execute("set max_temp_directory_size = ?", [os.environ["SCORECARD_MAX_SPILL"]])
            if os.environ.get("SCORECARD_MEMORY_LIMIT"):
                con.execute("set memory_limit = ?", [os.environ["SCORECARD_MEMORY_LIMIT"]])
            else:
                [(duckdb_default,)] = con.execute("select current_setting('memory_limit')").fetchall()
                seen = _bytes(duckdb_default)
                limit = min(DEFAULT_MEMORY_LIMIT, int(seen / 0.8 / 2)) if seen else DEFAULT_MEMORY_LIMIT
                con.execute("set memory_limit = ?", [f"{limit // 2**20}MiB"])
        except (ValueError, duckdb.Error):
            con.close()
            raise UsageError(
                "SCORECARD_THREADS must be a whole number, SCORECARD_MEMORY_LIMIT and SCORECARD_MAX_SPILL sizes like 4GB"
            ) from None
        self.con = con

    def load(self, source, segment_by: str) -> None:
        load_source(self.con, source, segment_by)
        # Row order mattered only while reading files (CSV row numbers); the models never rely on it, and
        # DuckDB materialises faster and leaner without keeping it.
        self.con.execute("set preserve_insertion_order = false")

    @contextlib.contextmanager
    def within_limits(self):
        """DuckDB running out of its memory limit, or of disk for what it spills beyond that, becomes a one-line
        error saying what to do."""
        try:
            yield
        except (duckdb.OutOfMemoryException, duckdb.IOException) as error:
            message = str(error)
            if "max_temp_directory_size" in message or "No space left on device" in message:
                raise ScorecardError(
                    f"the disk holding the spill folder {spill_folder()} ran out of space for the data DuckDB spills beyond its "
                    "memory limit; free space there, or point SCORECARD_TEMP_DIR at a folder on a larger disk"
                ) from None
            if isinstance(error, duckdb.IOException):
                raise
            raise ScorecardError(
                f"the data needs more memory than the limit of {self._memory_limit()} (SCORECARD_MEMORY_LIMIT); raise it, "
                "e.g. SCORECARD_MEMORY_LIMIT=16GB, or use fewer threads (SCORECARD_THREADS=1)"
            ) from None

    def cap_memory(self, limit: int) -> None:
        """Lower DuckDB's memory limit to at most `limit` bytes, unless SCORECARD_MEMORY_LIMIT chose one."""
        if os.environ.get("SCORECARD_MEMORY_LIMIT"):
            return
        current = _bytes(self._memory_limit())
        if current is None or current > limit:
            self.con.execute("set memory_limit = ?", [f"{limit // 2**20}MiB"])

    def _memory_limit(self) -> str:
        try:
            return self.con.execute("select current_setting('memory_limit')").fetchall()[0][0]
        except duckdb.Error:
            return "DuckDB's memory limit"

    def lock_down(self, source) -> None:
        """From here on, SQL can read only what the source's loader still needs (files read in place) and
        write only the spill folder: no other file, no network, no extension, and no way to change that back."""
        folders = {str(path) + os.sep for path in source.loader.readable_paths(source)} | {str(spill_folder()) + os.sep}
        self.con.execute("set allowed_directories = ?", [sorted(folders)])
        self.con.execute("set enable_external_access = false")
        self.con.execute("set lock_configuration = true")

    def known_time_zone(self, name: str) -> bool:
        return bool(self.con.execute("select count(*) from pg_timezone_names() where name = ?", [name]).fetchone()[0])

    def create_table(self, name: str, columns: Sequence[tuple[str, str]], rows: Sequence[tuple]) -> None:
        self.con.execute(f"create table {name} ({', '.join(f'{column} {kind}' for column, kind in columns)})")
        if rows:
            self.con.executemany(f"insert into {name} values ({', '.join('?' for _ in columns)})", [list(row) for row in rows])

    def create_macros(self, sql: str) -> None:
        self.con.execute(sql)

    def run_model(self, name: str, sql: str, materialized: str, sorted_by: str | None = None) -> None:
        if sorted_by and materialized == "table":
            # Stored in that order, the rows later grouped by those columns arrive together, and the hash
            # tables grouping them stay small and in cache (int_orders: 11–17 % off `metrics` at 100M orders).
            sql = f"select * from ({sql}) order by {sorted_by}"
        self.con.execute(f"create or replace {materialized} {name} as {sql}")

    def drop(self, name: str, materialized: str) -> None:
        self.con.execute(f"drop {materialized} if exists {name}")

    def may_repeat(self, table: str, column: str) -> bool:
        # The hashes sorted and each compared with the one before it: at 100M orders 8 s where grouping them
        # took 18–32 s (a hash table of every key outgrows the caches); ~0.3 s less at 10M.
        neighbours_equal = f"""
            select count(*) from (
                select key_hash = lag(key_hash) over (order by key_hash) as repeats
                from (select hash({column}) as key_hash from {table} where {column} is not null)
            ) where repeats
        """
        return self.con.execute(neighbours_equal).fetchone()[0] > 0

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> duckdb.DuckDBPyConnection:
        return self.con.execute(sql, list(parameters)) if parameters else self.con.execute(sql)

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "version": duckdb.__version__}

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> DuckDBEngine:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
