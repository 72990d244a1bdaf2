"""A DuckDB database file holding the tables customers, orders (and optional referrals, costs).

A DuckDB file is code as well as data: its views and macros run when selected from, and with file
access on they could read any file on the machine (`create view customers as select * from
read_csv('/etc/passwd')`). So the file is attached in a separate connection that can reach no other
file — external access off, only this file allowed, configuration locked — *before* anything in it is
read; only base tables are read, and a contract table that is a view or a macro is refused. The tables
are copied into the run's own database as Arrow record batches.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import duckdb

from ..errors import DataError
from ..outputs import sha256_file
from ..source import OPTIONAL_TABLES, TABLES, InputTable, Loader, Source, capped_text, quote_identifier

DATABASE_SUFFIXES = (".duckdb", ".db", ".ddb")
BATCH_ROWS = 500_000


class DuckDBFileLoader(Loader):
    name = "duckdb"

    def claims(self, path: Path) -> bool:
        return path.is_file() and path.suffix.lower() in DATABASE_SUFFIXES

    def load(self, con: duckdb.DuckDBPyConnection, source: Source) -> None:
        with _locked_reader(con, source.location) as reader:
            kinds = _objects(reader)
            problems = []
            for table in TABLES:
                kind = kinds.get(table)
                if kind in ("view", "macro"):
                    problems.append(
                        f"{source.location}: {table} is a {kind}, not a table; scorecard reads only tables from a DuckDB file "
                        f"(views and macros can run code). Store it as a table (create table {table} as select …) and try again"
                    )
                elif kind is None and table not in OPTIONAL_TABLES:
                    problems.append(f"{source.location}: no table named {table}; the {table} table is required")
            if problems:
                raise DataError(problems)
            digest = sha256_file(source.location)
            for table in TABLES:
                if kinds.get(table) == "table":
                    _copy_table(reader, con, table, source)
                    source.tables[table] = InputTable(table, f"{source.location}:{table}", "duckdb", sha256=digest)


@contextlib.contextmanager
def _locked_reader(con: duckdb.DuckDBPyConnection, path: Path):
    """A private connection, locked down before the file is attached: it can read this file (and its
    write-ahead log) and nothing else, with the run's memory limit and threads."""
    [(memory_limit, threads)] = con.execute("select current_setting('memory_limit'), current_setting('threads')").fetchall()
    reader = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        try:
            reader.execute("set memory_limit = ?", [memory_limit])
            reader.execute("set threads = ?", [threads])
            reader.execute("set allowed_paths = ?", [[str(path), f"{path}.wal"]])
            reader.execute("set enable_external_access = false")
            reader.execute("set lock_configuration = true")
            reader.execute("attach ? as source_db (read_only)", [str(path)])
        except duckdb.Error:
            raise DataError(f"{path}: not a readable DuckDB database file (or one written by another DuckDB version)") from None
        yield reader
    finally:
        reader.close()


def _objects(reader: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """What each name in the file's main schema is: a table, a view or a macro (a table wins)."""
    rows = reader.execute(
        """
        select table_name, 'table' from duckdb_tables() where database_name = 'source_db' and schema_name = 'main'
        union all
        select view_name, 'view' from duckdb_views() where database_name = 'source_db' and schema_name = 'main' and not internal
        union all
        select function_name, 'macro' from duckdb_functions()
        where database_name = 'source_db' and schema_name = 'main' and function_type in ('macro', 'table_macro')
        """
    ).fetchall()
    kinds: dict[str, str] = {}
    for name, kind in rows:
        if kinds.get(name) != "table":
            kinds[name] = kind
    return kinds


def _copy_table(reader: duckdb.DuckDBPyConnection, con: duckdb.DuckDBPyConnection, table: str, source: Source) -> None:
    """Stream one base table into `src_<table>` of the run's database, in Arrow record batches."""
    try:
        name = f"source_db.main.{quote_identifier(table)}"
        columns = [
            f"{capped_text(column, column_type)} as {quote_identifier(column)}"
            for column, column_type, *_ in reader.execute(f"describe {name}").fetchall()
        ]
        batches = reader.sql(f"select {', '.join(columns)} from {name}").to_arrow_reader(BATCH_ROWS)
        con.register(f"arrow_{table}", batches)
        try:
            con.execute(f"create table src_{table} as select * from arrow_{table}")
        finally:
            con.unregister(f"arrow_{table}")
    except duckdb.Error as error:
        reason = str(error).splitlines()[0][:200]
        raise DataError(f"{source.location}: table {table} cannot be read ({reason}); export it again as plain columns") from None
