"""A DuckDB database file holding the tables customers, orders (and optional referrals, costs)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from ..errors import DataError
from ..outputs import sha256_file
from ..source import OPTIONAL_TABLES, TABLES, InputTable, Loader, Source

DATABASE_SUFFIXES = (".duckdb", ".db", ".ddb")


class DuckDBFileLoader(Loader):
    name = "duckdb"

    def claims(self, path: Path) -> bool:
        return path.is_file() and path.suffix.lower() in DATABASE_SUFFIXES

    def load(self, con: duckdb.DuckDBPyConnection, source: Source) -> None:
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
            raise DataError([f"{source.location}: no table named {table}; the {table} table is required" for table in missing])
        digest = sha256_file(source.location)
        for table in TABLES:
            if table in present:
                con.execute(f"create table src_{table} as select * from source_db.{table}")
                source.tables[table] = InputTable(table, f"{source.location}:{table}", "duckdb", sha256=digest)
        con.execute("detach source_db")
