"""The input tables (the contract) and how a data source is found and loaded into DuckDB.

A *loader* (scorecard/loaders/) knows one kind of source — a folder of CSV/Parquet files, a DuckDB
database file — and turns it into `src_<table>` relations. Everything after that is shared: every table
lands as `raw_<table>` with the contract's columns under their contract names (absent optional columns
as NULL), all other columns kept, and `_row`, the 1-based row number used in error messages. Typing and
checking happen in the SQL staging models and in validation.py, never here.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from .errors import DataError, UsageError
from .resources import resource_path

REQUIRED_COLUMNS = {
    "customers": ("customer_id",),
    "orders": ("order_id", "customer_id", "order_date", "amount"),
    "referrals": ("referrer_id", "referred_at"),
    "costs": ("customer_id", "cost_date", "amount"),
}
OPTIONAL_COLUMNS = {
    "customers": ("name", "created_at", "closed_at"),
    "orders": ("status", "currency", "margin"),
    "referrals": ("referral_id", "referred_customer_id", "note"),
    "costs": ("kind",),
}
TABLES = tuple(REQUIRED_COLUMNS)
OPTIONAL_TABLES = ("referrals", "costs")

# Columns with a type of their own. A natively typed source column (Parquet, DuckDB) arrives ready in
# `<column>_value`, skipping a round trip through text; text (CSV) arrives in `<column>` for the staging
# models to parse. Either way the other one is NULL.
TYPED_COLUMNS = {
    ("customers", "created_at"): "date",
    ("customers", "closed_at"): "date",
    ("orders", "order_date"): "date",
    ("orders", "amount"): "money",
    ("orders", "margin"): "fraction",
    ("referrals", "referred_at"): "date",
    ("costs", "cost_date"): "date",
    ("costs", "amount"): "money",
}
_TARGET_TYPE = {"date": "date", "money": "decimal(18, 2)", "fraction": "decimal(9, 6)"}
_NUMERIC = ("DECIMAL", "DOUBLE", "FLOAT", "REAL", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER")


@dataclass
class InputTable:
    name: str
    location: str  # what the messages name: a file path, "database.duckdb:table", …
    format: str  # csv, parquet, duckdb…
    sha256: str | None = None
    rows: int = 0
    columns: list[str] = field(default_factory=list)


@dataclass
class Source:
    """Where the data comes from, the loader that reads it, and what was found there. The location is a
    local path, or a URL (s3a://…, hdfs://…) that only an engine like Spark can read; a URL has no loader."""

    location: Path | str
    is_sample: bool
    loader: Loader | None = None
    tables: dict[str, InputTable] = field(default_factory=dict)

    @property
    def default_company_name(self) -> str:
        if self.is_sample:
            return "Sample Co."
        return self.location.stem if isinstance(self.location, Path) else Path(self.location.rstrip("/").rsplit("/", 1)[-1]).stem

    @property
    def description(self) -> str:
        return "bundled SAMPLE DATA" if self.is_sample else str(self.location)


class Loader:
    """One kind of data source. `claims` says whether a --data value is of this kind; `load` creates a
    relation `src_<table>` per table found (and records it in `source.tables`); `readable_paths` lists the
    folders SQL must still read once the database is locked down (lazily read files), if any."""

    name = "source"

    def claims(self, path: Path) -> bool:
        raise NotImplementedError

    def load(self, con: duckdb.DuckDBPyConnection, source: Source) -> None:
        raise NotImplementedError

    def readable_paths(self, source: Source) -> list[Path]:
        return []


def loaders() -> tuple[Loader, ...]:
    """Every known loader, most specific first. A new kind of source is one module here."""
    from .loaders.duckdb_file import DuckDBFileLoader
    from .loaders.files import FolderLoader

    return (FolderLoader(), DuckDBFileLoader())


def resolve_source(data: str | os.PathLike | None) -> Source:
    """--data, else $SCORECARD_DATA, else the bundled sample; with the loader that will read it."""
    if data is None and os.environ.get("SCORECARD_DATA"):
        data = os.environ["SCORECARD_DATA"]
    if data is None:
        return _with_loader(Source(location=resource_path("sample_data"), is_sample=True))
    if is_url(str(data)):
        return Source(location=str(data), is_sample=False)
    path = Path(data).expanduser()
    if not path.exists():
        raise UsageError(f"data source {path} does not exist; pass a folder of CSV/Parquet files or a DuckDB file")
    return _with_loader(Source(location=path.resolve(), is_sample=False))


def _with_loader(source: Source) -> Source:
    source.loader = next((loader for loader in loaders() if loader.claims(source.location)), None)
    if source.loader is None:
        raise DataError(
            f"{source.location}: not a data source; pass a folder holding customers.csv and orders.csv "
            "(or .parquet files), or a DuckDB database file"
        )
    return source


def is_url(text: str) -> bool:
    """s3a://bucket/exports, hdfs://…, file:///…: a location for an engine that reads URLs (Spark)."""
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text) is not None


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_string(text: str) -> str:
    """A file path as a SQL string literal, for the few statements that cannot bind a parameter."""
    return "'" + text.replace("'", "''") + "'"


def load_source(con: duckdb.DuckDBPyConnection, source: Source, segment_by: str) -> None:
    """Read every input table into `raw_<table>`; stop on anything structurally missing."""
    if source.loader is None:
        raise DataError(f"{source.location}: a URL is read only by the Spark engine (--engine spark); DuckDB reads local files")
    source.loader.load(con, source)
    problems = []
    for table in TABLES:
        if table in source.tables:
            problems += _standardise(con, source.tables[table], segment_by)
        else:
            _create_empty(con, table)
    if problems:
        raise DataError(problems)


def _typed_value(source_type: str | None, kind: str, column: str) -> str | None:
    """SQL for the ready value of a natively typed column, or None when it must be parsed from text.
    Zoned timestamps go the text way, which converts them to the report time zone."""
    quoted = quote_identifier(column)
    if kind == "date" and source_type == "DATE":
        return quoted
    if kind == "date" and source_type in ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"):
        return f"cast({quoted} as date)"
    if kind in ("money", "fraction") and source_type and source_type.startswith(_NUMERIC):
        return f"try_cast({quoted} as {_TARGET_TYPE[kind]})"
    return None


def _standardise(con: duckdb.DuckDBPyConnection, table: InputTable, segment_by: str) -> list[str]:
    """Create raw_<table>: contract columns under contract names, then the rest, plus _row."""
    described = con.execute(f"describe src_{table.name}").fetchall()
    types = {row[0]: row[1] for row in described}
    columns = [row[0] for row in described]
    # Parquet views number their rows themselves; tables (CSV, DuckDB) use the insertion order.
    row_number = "file_row_number + 1" if "file_row_number" in columns else "rowid + 1"
    table.columns = [c for c in columns if c != "file_row_number"]
    table.rows = con.execute(f"select count(*) from src_{table.name}").fetchone()[0]
    selected, problems = standard_columns(table, types, segment_by)
    if problems:
        return problems
    con.execute(f"create view raw_{table.name} as select {row_number} as _row, {', '.join(selected)} from src_{table.name}")
    return []


def standard_columns(table: InputTable, types: dict[str, str], segment_by: str) -> tuple[list[str], list[str]]:
    """The select list of raw_<table> (DuckDB SQL) over a table with `table.columns` of `types` (DuckDB
    type names), or the problems that stop the run: missing required columns, an unknown segment column."""
    columns = table.columns
    problems = []
    for column in REQUIRED_COLUMNS[table.name]:
        if column not in columns:
            hint = next((c for c in columns if c.strip().lower() == column), None)
            fix = f"rename column {hint!r} to {column!r}" if hint else f"add a {column!r} column"
            problems.append(f"{table.location}: required column {column!r} is missing; {fix}")
    selected = []
    for column in REQUIRED_COLUMNS[table.name] + OPTIONAL_COLUMNS[table.name]:
        kind = TYPED_COLUMNS.get((table.name, column))
        ready = _typed_value(types.get(column), kind, column) if kind and column in columns else None
        if ready:
            selected += [f"null::varchar as {column}", f"{ready} as {column}_value"]
        else:
            selected.append(f"{quote_identifier(column)} as {column}" if column in columns else f"null::varchar as {column}")
            if kind:
                selected.append(f"null::{_TARGET_TYPE[kind]} as {column}_value")
    if table.name == "customers":
        if segment_by in columns:
            selected.append(f"{quote_identifier(segment_by)} as segment_value")
        elif segment_by == "segment":
            selected.append("null::varchar as segment_value")  # no segments: everyone is "Unassigned"
        else:
            choices = ", ".join(c for c in columns if c not in REQUIRED_COLUMNS["customers"])
            problems.append(
                f"{table.location}: --segment-by column {segment_by!r} does not exist; choose one of: {choices or '(no other columns)'}"
            )
    return selected, problems


def _create_empty(con: duckdb.DuckDBPyConnection, table: str) -> None:
    con.execute(f"create view raw_{table} as {empty_table(table)}")


def empty_table(table: str) -> str:
    """A select (DuckDB SQL) of no rows shaped like raw_<table>, for an optional table that is absent."""
    columns = ["0::bigint as _row"] + [f"null::varchar as {c}" for c in REQUIRED_COLUMNS[table] + OPTIONAL_COLUMNS[table]]
    columns += [f"null::{_TARGET_TYPE[kind]} as {c}_value" for (name, c), kind in TYPED_COLUMNS.items() if name == table]
    return f"select {', '.join(columns)} where false"
