"""The input tables (the contract) and how a data source is found and loaded into DuckDB.

A *loader* (scorecard/loaders/) knows one kind of source — a folder of CSV/Parquet files, a DuckDB
database file, a PostgreSQL database — and turns it into `src_<table>` relations. Everything after that is shared: every table
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

from .errors import DataError, UsageError, excerpt, listing
from .formatting import article
from .resources import resource_path
from .urls import is_url, without_password

REQUIRED_COLUMNS = {
    "customers": ("customer_id",),
    "orders": ("order_id", "customer_id", "order_date", "amount"),
    "referrals": ("referrer_id", "referred_at"),
    "costs": ("customer_id", "cost_date", "amount"),
}
OPTIONAL_COLUMNS = {
    "customers": ("name", "created_at", "closed_at", "closed_reason"),
    "orders": ("status", "currency", "margin"),
    "referrals": ("referral_id", "referred_customer_id", "note"),
    "costs": ("kind",),
}
TABLES = tuple(REQUIRED_COLUMNS)
OPTIONAL_TABLES = ("referrals", "costs")
# The 0-based row number a loader that reads lazily (a view, not a table) adds to its `src_<table>`.
ROW_NUMBER = "row number (added by scorecard)"
# The longest text value read: longer ones are cut to MAX_TEXT + 1 characters as they are read, and
# validation names them. Compressed files (Parquet dictionaries, DuckDB) can hold one long value for
# thousands of rows in a few KB; copied row by row it once took a 76 KB file to 9 GB of memory.
MAX_TEXT = 16_384

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


@dataclass
class InputTable:
    name: str
    location: str  # what the messages name: a file path, "database.duckdb:table", "table crm.orders"…
    format: str  # csv, parquet, duckdb…
    sha256: str | None = None
    rows: int = 0
    columns: list[str] = field(default_factory=list)


@dataclass
class Source:
    """Where the data comes from, the loader that reads it, and what was found there. A URL that no
    loader claims (s3a://…, hdfs://…) has no loader: only an engine that reads URLs itself (Spark) can read it."""

    location: Path | str  # a folder or file; for a database, its URL without the password (safe to print)
    is_sample: bool
    loader: Loader | None = None
    tables: dict[str, InputTable] = field(default_factory=dict)
    # For a database: what the loader connects with (the URL, password included: never printed), the
    # name for the default company name, and the table per contract table from [data.tables].
    connection: str | None = field(default=None, repr=False)
    name: str | None = None
    table_names: dict[str, str] = field(default_factory=dict)

    @property
    def default_company_name(self) -> str:
        return "Sample Co." if self.is_sample else self.name or Path(self.location).stem

    @property
    def description(self) -> str:
        return "bundled SAMPLE DATA" if self.is_sample else str(self.location)


class Loader:
    """One kind of data source. `claims` says whether a --data path is of this kind (`source_for` does
    the same for a --data value that is not a path, such as a database URL); `load` creates a relation
    `src_<table>` per table found (and records it in `source.tables`); `readable_paths` lists the folders
    SQL must still read once the database is locked down (lazily read files), if any."""

    name = "source"

    def claims(self, path: Path) -> bool:
        raise NotImplementedError

    def source_for(self, data: str, table_names: dict[str, str]) -> Source | None:
        """The Source a --data URL names, or None when it is not this loader's kind. Asked before the
        value is taken as a path."""
        return None

    def load(self, con: duckdb.DuckDBPyConnection, source: Source) -> None:
        raise NotImplementedError

    def readable_paths(self, source: Source) -> list[Path]:
        return []


def loaders() -> tuple[Loader, ...]:
    """Every known loader, most specific first. A new kind of source is one module here."""
    from .loaders.duckdb_file import DuckDBFileLoader
    from .loaders.files import FolderLoader
    from .loaders.postgres import PostgresLoader

    return (FolderLoader(), DuckDBFileLoader(), PostgresLoader())


def resolve_source(data: str | os.PathLike | None, table_names: dict[str, str] | None = None) -> Source:
    """--data, else $SCORECARD_DATA, else the bundled sample; with the loader that will read it.
    `table_names` ([data.tables]) names the database table of each contract table."""
    if data is None and os.environ.get("SCORECARD_DATA"):
        data = os.environ["SCORECARD_DATA"]
    if data is not None and is_url(str(data)):
        for loader in loaders():
            source = loader.source_for(str(data).strip(), dict(table_names or {}))
            if source is not None:
                source.loader = loader
                return source
        if table_names:
            raise UsageError("[data.tables] names tables in a database; it applies only when the data source is a postgresql:// URL")
        # A folder in a lake (s3a://, hdfs://…): read by the Spark engine; the DuckDB engine refuses it (load_source).
        return Source(location=without_password(str(data).strip()), is_sample=False)
    if table_names:
        raise UsageError("[data.tables] names tables in a database; it applies only when the data source is a postgresql:// URL")
    if data is None:
        return _with_loader(Source(location=resource_path("sample_data"), is_sample=True))
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


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_string(text: str) -> str:
    """A file path as a SQL string literal, for the few statements that cannot bind a parameter."""
    return "'" + text.replace("'", "''") + "'"


def load_source(con: duckdb.DuckDBPyConnection, source: Source, segment_by: str) -> None:
    """Read every input table into `raw_<table>`; stop on anything structurally missing."""
    if source.loader is None:
        scheme = str(source.location).split("://", 1)[0]
        raise UsageError(
            f"no loader reads {scheme}:// sources ({source.location}); use a postgresql:// URL, a folder or a DuckDB file "
            "(a folder at a URL like s3a:// or hdfs:// is read only by the Spark engine, --engine spark)"
        )
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
    An instant (a zoned timestamp) is dated in the report time zone, as its text would be. Numbers take the
    typed way only when the conversion can neither round nor overflow; any other number (a DOUBLE — NaN,
    Inf, 1e17 —, a BIGINT or HUGEINT, a DECIMAL with more digits) goes the text way, where it is read,
    rounded and reported exactly like the same value in a CSV file."""
    quoted = quote_identifier(column)
    if kind == "date" and source_type == "DATE":
        return quoted
    if kind == "date" and source_type == "TIMESTAMP WITH TIME ZONE":
        return f"cast(timezone((select time_zone from run_settings), {quoted}) as date)"
    if kind == "date" and source_type in ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"):
        return f"cast({quoted} as date)"
    if kind in ("money", "fraction") and source_type and _converts_exactly(source_type, kind):
        return f"cast({quoted} as {_TARGET_TYPE[kind]})"
    return None


# (integer digits, decimals) of each numeric target type, and the digits of the small integer types.
_TARGET_DIGITS = {"money": (16, 2), "fraction": (3, 6)}
_INTEGER_DIGITS = {"TINYINT": 3, "UTINYINT": 3, "SMALLINT": 5, "USMALLINT": 5, "INTEGER": 10, "UINTEGER": 10}


def _converts_exactly(source_type: str, kind: str) -> bool:
    integer_digits, decimals = _TARGET_DIGITS[kind]
    if match := re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", source_type):
        precision, scale = int(match.group(1)), int(match.group(2))
        return scale <= decimals and precision - scale <= integer_digits
    return _INTEGER_DIGITS.get(source_type, integer_digits + 1) <= integer_digits


def _standardise(con: duckdb.DuckDBPyConnection, table: InputTable, segment_by: str) -> list[str]:
    """Create raw_<table>: contract columns under contract names, then the rest, plus _row."""
    described = con.execute(f"describe src_{table.name}").fetchall()
    types = {row[0]: row[1] for row in described}
    columns = [row[0] for row in described]
    # Lazily read sources (Parquet views) carry their row numbers as ROW_NUMBER; tables (CSV, DuckDB)
    # use the insertion order, rowid — after moving aside a column of the file's own named rowid, which
    # would hide it. Any other column name is harmless: only the contract's columns are selected by name.
    renamed = {}
    if ROW_NUMBER in columns:
        row_number = f"{quote_identifier(ROW_NUMBER)} + 1"
        columns.remove(ROW_NUMBER)
    else:
        row_number = "rowid + 1"
        for column in [c for c in columns if c.lower() == "rowid"]:
            renamed[column] = f"{column} (moved aside by scorecard)"
            con.execute(f"alter table src_{table.name} rename column {quote_identifier(column)} to {quote_identifier(renamed[column])}")
    table.columns = columns
    table.rows = con.execute(f"select count(*) from src_{table.name}").fetchone()[0]
    selected, problems = standard_columns(table, types, segment_by, renamed)
    if problems:
        return problems
    con.execute(f"create view raw_{table.name} as select {row_number} as _row, {', '.join(selected)} from src_{table.name}")
    return []


def standard_columns(
    table: InputTable, types: dict[str, str], segment_by: str, renamed: dict[str, str] | None = None
) -> tuple[list[str], list[str]]:
    """The select list of raw_<table> (DuckDB SQL) over a table with `table.columns` of `types` (DuckDB
    type names), or the problems that stop the run (missing required columns). `renamed`: columns moved
    aside under another name. An unknown segment column is a usage error."""
    columns, renamed = table.columns, renamed or {}
    problems = []
    for column in REQUIRED_COLUMNS[table.name]:
        if column not in columns:
            hint = next((c for c in columns if c.strip().lower() == column), None)
            fix = f"rename column {excerpt(hint)} to {column!r}" if hint else f"add {article(column)} {column!r} column"
            problems.append(f"{table.location}: required column {column!r} is missing; {fix}")
    selected = []
    for column in REQUIRED_COLUMNS[table.name] + OPTIONAL_COLUMNS[table.name]:
        kind = TYPED_COLUMNS.get((table.name, column))
        ready = _typed_value(types.get(column), kind, column) if kind and column in columns else None
        if ready:
            selected += [f"null::varchar as {column}", f"{ready} as {column}_value"]
        else:
            selected.append(f"{capped_text(column, types.get(column))} as {column}" if column in columns else f"null::varchar as {column}")
            if kind:
                selected.append(f"null::{_TARGET_TYPE[kind]} as {column}_value")
    if table.name == "customers":
        if segment_by in columns:
            selected.append(f"{capped_text(renamed.get(segment_by, segment_by), types.get(segment_by))} as segment_value")
        elif segment_by == "segment":
            selected.append("null::varchar as segment_value")  # no segments: everyone is "Unassigned"
        else:  # the option names a column that is not there: a usage error (exit 2)
            choices = listing(c for c in columns if c not in REQUIRED_COLUMNS["customers"])
            raise UsageError(
                f"{table.location}: --segment-by column {excerpt(segment_by)} does not exist; choose one of: {choices or '(no other columns)'}"
            )
    return selected, problems


def capped_text(column: str, source_type: str | None) -> str:
    """SQL for a column, a text one cut to MAX_TEXT + 1 characters (strlen is cheap: most values skip the
    cut). Loaders that copy a source use it too, so a long value is never copied whole."""
    quoted = quote_identifier(column)
    if source_type != "VARCHAR":
        return quoted
    return f"case when strlen({quoted}) > {MAX_TEXT} then left({quoted}, {MAX_TEXT + 1}) else {quoted} end"


def _create_empty(con: duckdb.DuckDBPyConnection, table: str) -> None:
    con.execute(f"create view raw_{table} as {empty_table(table)}")


def empty_table(table: str) -> str:
    """A select (DuckDB SQL) of no rows shaped like raw_<table>, for an optional table that is absent."""
    columns = ["0::bigint as _row"] + [f"null::varchar as {c}" for c in REQUIRED_COLUMNS[table] + OPTIONAL_COLUMNS[table]]
    columns += [f"null::{_TARGET_TYPE[kind]} as {c}_value" for (name, c), kind in TYPED_COLUMNS.items() if name == table]
    return f"select {', '.join(columns)} where false"
