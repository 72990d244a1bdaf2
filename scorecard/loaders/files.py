"""A folder of files: customers.csv / orders.csv / … or the same tables as .parquet."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb

from ..errors import DataError, excerpt
from ..outputs import sha256_file
from ..source import OPTIONAL_TABLES, ROW_NUMBER, TABLES, InputTable, Loader, Source, quote_identifier, sql_string

FILE_SUFFIXES = (".csv", ".parquet")


class FolderLoader(Loader):
    name = "files"

    def claims(self, path: Path) -> bool:
        return path.is_dir()

    def load(self, con: duckdb.DuckDBPyConnection, source: Source) -> None:
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
            raise DataError([f"{source.location}: no {table}.csv or {table}.parquet; the {table} table is required" for table in missing])

    def readable_paths(self, source: Source) -> list[Path]:
        """Parquet files stay views read in place: their folder (and, for a symlinked file, the folder it
        really lives in) must stay readable."""
        return [source.location] + [Path(table.location).resolve().parent for table in source.tables.values()]


def _find_file(folder: Path, table: str) -> Path | None:
    found = [folder / f"{table}{suffix}" for suffix in FILE_SUFFIXES if (folder / f"{table}{suffix}").is_file()]
    if len(found) > 1:
        raise DataError(f"{folder}: both {found[0].name} and {found[1].name} exist; keep one {table} file so it is clear which to read")
    return found[0] if found else None


def csv_header(path: Path) -> list[str]:
    """The column names of a CSV file, or a DataError saying why it is not a comma-separated UTF-8 CSV."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text CSV file; export it as CSV (UTF-8) with a header line") from None
    except csv.Error:  # e.g. a header field longer than the csv module's limit (128 KB)
        raise DataError(f"{path}: the header line cannot be read (a column name is longer than 128 KB?); fix the header line") from None
    return checked_header(str(path), header)


def checked_header(location: str, header: list[str] | None) -> list[str]:
    if not header or not any(column.strip() for column in header):
        raise DataError(f"{location}: the file is empty; it needs a header line naming the columns")
    if len(header) == 1:
        for separator, name in ((";", "';'"), ("\t", "tabs"), ("|", "'|'")):
            if separator in header[0]:
                raise DataError(f"{location}: the columns are separated by {name}, not commas; export it as a comma-separated CSV")
    if len(set(header)) != len(header):
        duplicated = sorted({column for column in header if header.count(column) > 1})
        raise DataError(f"{location}: column {excerpt(duplicated[0])} appears twice in the header; give each column one name")
    return header


def _load_csv(con: duckdb.DuckDBPyConnection, table: str, path: Path) -> None:
    header = csv_header(path)
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
    if "Maximum line size" in message:
        return f"{where} is longer than 2,000,000 bytes; check for a stray double quote, or shorten the values on it"
    if "unterminated quote" in message:
        return f"{where}: a quoted value is never closed; check for a stray double quote"
    # Otherwise DuckDB's own sentence: the paragraph just before its list of "Possible fixes".
    paragraphs = [p.strip() for p in message.split("Possible fixes")[0].split("\n\n") if p.strip()]
    reason = paragraphs[-1].splitlines()[-1] if len(paragraphs) > 1 else ""
    return f"{where}: {reason[:160]}" if reason else where


def _load_parquet(con: duckdb.DuckDBPyConnection, table: str, path: Path) -> None:
    # A view, not a copy: Parquet is typed and columnar already, and the staging models read it once.
    # (A view cannot take a bound parameter, hence the quoted path.) Its rows are numbered by DuckDB's
    # file_row_number, renamed to ROW_NUMBER; a file with a column of either name is copied instead, and
    # numbered by insertion order like a CSV file, so no column name can clash.
    try:
        columns = [row[0] for row in con.execute("describe select * from read_parquet(?)", [str(path)]).fetchall()]
        if "file_row_number" in columns or ROW_NUMBER in columns:
            con.execute(f"create table src_{table} as select * from read_parquet(?)", [str(path)])
        else:
            con.execute(
                f"create view src_{table} as select * rename (file_row_number as {quote_identifier(ROW_NUMBER)}) "
                f"from read_parquet({sql_string(str(path))}, file_row_number=true)"
            )
    except duckdb.Error:
        raise DataError(f"{path}: not a readable Parquet file; re-export it as Parquet or CSV") from None
