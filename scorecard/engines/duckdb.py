"""The DuckDB engine (the default): a private in-memory database per run, speaking the models' own SQL."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from ..errors import UsageError
from ..source import load_source


def spill_folder() -> Path:
    return Path(tempfile.gettempdir()) / f"scorecard-duckdb-{os.getpid()}"


class DuckDBEngine:
    """A private in-memory database; spills go to an absolute temp folder (cron has no sensible cwd).
    $SCORECARD_THREADS and $SCORECARD_MEMORY_LIMIT (e.g. 4GB) override DuckDB's defaults (all cores,
    80 % of RAM) on shared machines."""

    name = "duckdb"

    def __init__(self) -> None:
        con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
        con.execute("set temp_directory = ?", [str(spill_folder())])
        con.execute("set TimeZone = 'UTC'")
        con.execute("set enable_progress_bar = false")
        try:
            if os.environ.get("SCORECARD_THREADS"):
                con.execute("set threads = ?", [int(os.environ["SCORECARD_THREADS"])])
            if os.environ.get("SCORECARD_MEMORY_LIMIT"):
                con.execute("set memory_limit = ?", [os.environ["SCORECARD_MEMORY_LIMIT"]])
        except (ValueError, duckdb.Error):
            con.close()
            raise UsageError("SCORECARD_THREADS must be a whole number and SCORECARD_MEMORY_LIMIT a size like 4GB") from None
        self.con = con

    def load(self, source, segment_by: str) -> None:
        load_source(self.con, source, segment_by)
        # Row order mattered only while reading files (CSV row numbers); the models never rely on it, and
        # DuckDB materialises faster and leaner without keeping it.
        self.con.execute("set preserve_insertion_order = false")

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

    def run_model(self, name: str, sql: str, materialized: str) -> None:
        self.con.execute(f"create or replace {materialized} {name} as {sql}")

    def drop(self, name: str, materialized: str) -> None:
        self.con.execute(f"drop {materialized} if exists {name}")

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
