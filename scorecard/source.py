"""Finding and loading the input tables (SPEC §2) into DuckDB.

Every table lands as `raw_<table>`: the contract's columns under their contract names (absent optional
columns as NULL), all other columns kept, and `_row`, the 1-based row number used in error messages.
Typing and checking happen in the SQL staging models and in validation.py, never here.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from .errors import DataError, UsageError
from .outputs import sha256_file
from .resources import resource_path

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


def _typed_value(source_type: str | None, kind: str, column: str) -> str | None:
    """SQL for the ready value of a natively typed column, or None when it must be parsed from text.
    Zoned timestamps go the text way, which converts them to the report time zone."""
    quoted = _quote_identifier(column)
    if kind == "date" and source_type == "DATE":
        return quoted
    if kind == "date" and source_type in ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"):
        return f"cast({quoted} as date)"
    if kind in ("money", "fraction") and source_type and source_type.startswith(_NUMERIC):
        return f"try_cast({quoted} as {_TARGET_TYPE[kind]})"
    return None


TABLES = tuple(REQUIRED_COLUMNS)
FILE_SUFFIXES = (".csv", ".parquet")
DATABASE_SUFFIXES = (".duckdb", ".db", ".ddb")


@dataclass
class InputTable:
    name: str
    location: str  # file path, or "database.duckdb:table"
    format: str  # csv, parquet or duckdb
    sha256: str | None = None
    rows: int = 0
    columns: list[str] = field(default_factory=list)


@dataclass
class Source:
    """Where the data comes from, and what was found there."""

    location: Path
    is_sample: bool
    tables: dict[str, InputTable] = field(default_factory=dict)

    @property
    def default_company_name(self) -> str:
        return "Sample Co." if self.is_sample else self.location.stem

    @property
    def description(self) -> str:
        return "bundled SAMPLE DATA" if self.is_sample else str(self.location)


def resolve_source(data: str | os.PathLike | None) -> Source:
    """--data, else $SCORECARD_DATA, else the bundled sample."""
    if data is None and os.environ.get("SCORECARD_DATA"):
        data = os.environ["SCORECARD_DATA"]
    if data is None:
        return Source(location=resource_path("sample_data"), is_sample=True)
    path = Path(data).expanduser()
    if not path.exists():
        raise UsageError(f"data source {path} does not exist; pass a folder of CSV/Parquet files or a DuckDB file")
    return Source(location=path.resolve(), is_sample=False)


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _find_file(folder: Path, table: str) -> Path | None:
    found = [folder / f"{table}{suffix}" for suffix in FILE_SUFFIXES if (folder / f"{table}{suffix}").is_file()]
    if len(found) > 1:
        raise DataError(f"{folder}: both {found[0].name} and {found[1].name} exist; keep one {table} file so it is clear which to read")
    return found[0] if found else None


def _csv_header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text CSV file; export it as CSV (UTF-8) with a header line") from None
    if not header or not any(column.strip() for column in header):
        raise DataError(f"{path}: the file is empty; it needs a header line naming the columns (SPEC §2)")
    if len(header) == 1:
        for separator, name in ((";", "';'"), ("\t", "tabs"), ("|", "'|'")):
            if separator in header[0]:
                raise DataError(f"{path}: the columns are separated by {name}, not commas; export it as a comma-separated CSV")
    return header


def _load_csv(con: duckdb.DuckDBPyConnection, table: str, path: Path) -> None:
    header = _csv_header(path)
    if len(set(header)) != len(header):
        duplicated = sorted({column for column in header if header.count(column) > 1})
        raise DataError(f"{path}: column {duplicated[0]!r} appears twice in the header; give each column one name")
    # We own the contract, so nothing is sniffed: delimiter, quoting, header and types are explicit and
    # every column is read as text, to be typed (with row-level error messages) by the staging models.
    columns = {name: "VARCHAR" for name in header}
    try:
        con.execute(
            f"create table src_{table} as select * from read_csv(?, header=true, auto_detect=false, "
            "delim=',', quote='\"', escape='\"', columns=?, strict_mode=true, null_padding=false)",
            [str(path), columns],
        )
    except duckdb.Error as error:
        raise DataError(
            f"{path}: cannot be read as a comma-separated CSV file ({_csv_problem(str(error))}); fix the file or re-export it"
        ) from None


def _csv_problem(message: str) -> str:
    """DuckDB's CSV error, cut to what a person needs: the line and what is wrong with it."""
    line = re.search(r"CSV Error on Line: (\d+)", message)
    counts = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
    where = f"line {line.group(1)}" if line else "a line"
    if counts:
        return f"{where} has {counts.group(2)} fields where the header has {counts.group(1)}; check for unbalanced quotes or stray commas"
    if "unterminated quote" in message:
        return f"{where}: a quoted value is never closed; check for a stray double quote"
    # Otherwise DuckDB's own sentence: the paragraph just before its list of "Possible fixes".
    paragraphs = [p.strip() for p in message.split("Possible fixes")[0].split("\n\n") if p.strip()]
    reason = paragraphs[-1].splitlines()[-1] if len(paragraphs) > 1 else ""
    return f"{where}: {reason[:160]}" if reason else where


def sql_string(text: str) -> str:
    """A file path as a SQL string literal, for the few statements that cannot bind a parameter."""
    return "'" + text.replace("'", "''") + "'"


def _load_parquet(con: duckdb.DuckDBPyConnection, table: str, path: Path) -> None:
    # A view, not a copy: Parquet is typed and columnar already, and the staging models read it once.
    # (A view cannot take a bound parameter, hence the quoted path.)
    try:
        con.execute("select * from read_parquet(?) limit 0", [str(path)])
        con.execute(f"create view src_{table} as select * from read_parquet({sql_string(str(path))}, file_row_number=true)")
    except duckdb.Error:
        raise DataError(f"{path}: not a readable Parquet file; re-export it as Parquet or CSV") from None


def load_source(con: duckdb.DuckDBPyConnection, source: Source, segment_by: str) -> None:
    """Read every input table into `raw_<table>`; stop on anything structurally missing."""
    if source.location.is_dir():
        _load_folder(con, source)
    elif source.location.suffix.lower() in DATABASE_SUFFIXES:
        _load_database(con, source)
    else:
        raise DataError(
            f"{source.location}: not a data source; pass a folder holding customers.csv and orders.csv "
            "(or .parquet files), or a DuckDB database file"
        )
    problems = []
    for table in TABLES:
        if table in source.tables:
            problems += _standardise(con, source.tables[table], segment_by)
        else:
            _create_empty(con, table)
    if problems:
        raise DataError(problems)


def _load_folder(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    missing = []
    for table in TABLES:
        path = _find_file(source.location, table)
        if path is None:
            if table not in OPTIONAL_TABLES:
                missing.append(table)
            continue
        if path.suffix == ".csv":
            _load_csv(con, table, path)
        else:
            _load_parquet(con, table, path)
        source.tables[table] = InputTable(table, str(path), path.suffix.lstrip("."), sha256=sha256_file(path))
    if missing:
        raise DataError(
            [f"{source.location}: no {table}.csv or {table}.parquet; the {table} table is required (SPEC §2)" for table in missing]
        )


def _load_database(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    try:
        con.execute("attach ? as source_db (read_only)", [str(source.location)])
    except duckdb.Error:
        raise DataError(f"{source.location}: not a readable DuckDB database file") from None
    present = {
        row[0]
        for row in con.execute(
            "select table_name from duckdb_tables() where database_name = 'source_db' "
            "union select view_name from duckdb_views() where database_name = 'source_db'"
        ).fetchall()
    }
    missing = [table for table in TABLES if table not in present and table not in OPTIONAL_TABLES]
    if missing:
        raise DataError([f"{source.location}: no table named {table}; the {table} table is required (SPEC §2)" for table in missing])
    digest = sha256_file(source.location)
    for table in TABLES:
        if table in present:
            con.execute(f"create table src_{table} as select * from source_db.{table}")
            source.tables[table] = InputTable(table, f"{source.location}:{table}", "duckdb", sha256=digest)
    con.execute("detach source_db")


def _standardise(con: duckdb.DuckDBPyConnection, table: InputTable, segment_by: str) -> list[str]:
    """Create raw_<table>: contract columns under contract names, then the rest, plus _row."""
    described = con.execute(f"describe src_{table.name}").fetchall()
    types = {row[0]: row[1] for row in described}
    columns = [row[0] for row in described]
    # Parquet views number their rows themselves; tables (CSV, DuckDB) use the insertion order.
    row_number = "file_row_number + 1" if "file_row_number" in columns else "rowid + 1"
    columns = [c for c in columns if c != "file_row_number"]
    table.columns = columns
    table.rows = con.execute(f"select count(*) from src_{table.name}").fetchone()[0]
    problems = []
    for column in REQUIRED_COLUMNS[table.name]:
        if column not in columns:
            hint = next((c for c in columns if c.strip().lower() == column), None)
            fix = f"rename column {hint!r} to {column!r}" if hint else f"add a {column!r} column"
            problems.append(f"{table.location}: required column {column!r} is missing; {fix} (SPEC §2)")
    selected = []
    for column in REQUIRED_COLUMNS[table.name] + OPTIONAL_COLUMNS[table.name]:
        kind = TYPED_COLUMNS.get((table.name, column))
        ready = _typed_value(types.get(column), kind, column) if kind and column in columns else None
        if ready:
            selected += [f"null::varchar as {column}", f"{ready} as {column}_value"]
        else:
            selected.append(f"{_quote_identifier(column)} as {column}" if column in columns else f"null::varchar as {column}")
            if kind:
                selected.append(f"null::{_TARGET_TYPE[kind]} as {column}_value")
    if table.name == "customers":
        if segment_by in columns:
            selected.append(f"{_quote_identifier(segment_by)} as segment_value")
        elif segment_by == "segment":
            selected.append("null::varchar as segment_value")  # no segments: everyone is "Unassigned"
        else:
            choices = ", ".join(c for c in columns if c not in REQUIRED_COLUMNS["customers"])
            problems.append(
                f"{table.location}: --segment-by column {segment_by!r} does not exist; choose one of: {choices or '(no other columns)'}"
            )
    if problems:
        return problems
    con.execute(f"create view raw_{table.name} as select {row_number} as _row, {', '.join(selected)} from src_{table.name}")
    return []


def _create_empty(con: duckdb.DuckDBPyConnection, table: str) -> None:
    columns = ["0::bigint as _row"] + [f"null::varchar as {c}" for c in REQUIRED_COLUMNS[table] + OPTIONAL_COLUMNS[table]]
    columns += [f"null::{_TARGET_TYPE[kind]} as {c}_value" for (name, c), kind in TYPED_COLUMNS.items() if name == table]
    con.execute(f"create view raw_{table} as select {', '.join(columns)} where false")
