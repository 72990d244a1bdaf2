"""A PostgreSQL database (`postgresql://user@host:port/dbname`) holding the tables customers, orders and
the optional referrals and costs.

Every table is read in ONE read-only REPEATABLE READ transaction, so all of them come from the same
snapshot even while the application writes. Rows travel through the ADBC PostgreSQL driver (libpq) as
Arrow record batches streamed straight into DuckDB: no Python per row, no whole-table copy in between.

Tables live in the `public` schema, or in the one named by `?schema=crm`, or where [data.tables] says
(`customers = "crm.customer_master"`). The password comes the libpq ways (in the URL, PGPASSWORD,
~/.pgpass, a service file) and is never printed: the source shows as its URL without the password.
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote

import duckdb

from ..errors import SourceError, UsageError
from ..source import OPTIONAL_COLUMNS, OPTIONAL_TABLES, REQUIRED_COLUMNS, TABLES, InputTable, Loader, Source, quote_identifier
from ..urls import without_password

SCHEMES = ("postgresql", "postgres")
MISSING_DRIVER = (
    "reading from PostgreSQL needs the postgres extra: pip install 'scorecard[postgres]' (in a checkout: pip install '.[postgres]')"
)

# Column types DuckDB takes as they come from the driver. Any other column (numeric, uuid, money, enums,
# json…) is sent as PostgreSQL's own text and typed by the staging models exactly like a CSV value:
# numeric amounts stay exact (text → DECIMAL, never through float), and a value that is no amount
# (NaN) is reported with its row like any unreadable value.
NATIVE_TYPES = {"text", "varchar", "bpchar", "date", "timestamp", "timestamptz", "int2", "int4", "int8", "float4", "float8", "bool"}

CONNECT_TIMEOUT_SECONDS = 30  # unless the URL or PGCONNECT_TIMEOUT says otherwise
_IDENTIFIER = re.compile(r'\s*(?:"((?:[^"]|"")+)"|([^."\s]+))\s*')
_SHOWN_NAMES = 12


class PostgresLoader(Loader):
    name = "postgresql"

    def claims(self, path) -> bool:
        return False

    def source_for(self, data: str, table_names: dict[str, str]) -> Source | None:
        scheme, _, rest = data.partition("://")
        if scheme.lower() not in SCHEMES:
            return None
        _driver()  # fail before anything else when the extra is missing
        base, _, query = rest.partition("?")
        parameters = [item.partition("=") for item in query.split("&")] if query else []
        # ?schema= is ours, not libpq's: libpq gets the URL without it (and with its password).
        kept = "&".join(key + equals + value for key, equals, value in parameters if unquote(key) != "schema")
        if "connect_timeout" not in {unquote(key) for key, _, _ in parameters} and not os.environ.get("PGCONNECT_TIMEOUT"):
            # A server that never answers fails the run after a while instead of holding a cron job for minutes.
            kept = "&".join(filter(None, [kept, f"connect_timeout={CONNECT_TIMEOUT_SECONDS}"]))
        schema = _schema(data)
        for table, text in table_names.items():
            _qualified(text, schema, table)  # a malformed name is a usage error now, not after connecting
        dbname = next((unquote(value) for key, _, value in parameters if unquote(key) == "dbname"), None)
        return Source(
            location=without_password(data),
            is_sample=False,
            connection=f"{scheme}://{base}" + (f"?{kept}" if kept else ""),
            name=dbname or unquote(base.partition("/")[2]) or "PostgreSQL",
            table_names=dict(table_names),
        )

    def load(self, con: duckdb.DuckDBPyConnection, source: Source) -> None:
        dbapi = _driver()
        try:
            connection = dbapi.connect(source.connection, autocommit=True)
        except dbapi.Error as error:
            raise _connect_problem(str(error), source) from None
        try:
            cursor = connection.cursor()
            try:
                cursor.execute("begin transaction isolation level repeatable read, read only")
                # A REPEATABLE READ transaction takes its snapshot at its first query — this look-up of
                # the catalog — and reads every table below as of that same moment.
                relations = _find_tables(cursor, source)
            except dbapi.Error as error:
                raise _read_problem(str(error), source, None) from None
            for table in TABLES:
                if table in relations:
                    relation, columns = relations[table]
                    try:
                        _copy_table(cursor, con, table, relation, columns)
                    except (dbapi.Error, duckdb.Error, OSError) as error:
                        raise _read_problem(str(error), source, relation) from None
                    source.tables[table] = InputTable(table, f"table {_display(relation)}", "postgresql")
            cursor.execute("commit")  # read only: nothing to commit, but the transaction ends cleanly
        finally:
            connection.close()


def _driver():
    try:
        import adbc_driver_postgresql.dbapi as dbapi
    except ImportError:
        raise SourceError(MISSING_DRIVER) from None
    return dbapi


def _schema(url: str) -> str:
    """The schema named by ?schema= (default public)."""
    query = url.partition("?")[2]
    values = [unquote(value) for key, _, value in (item.partition("=") for item in query.split("&")) if unquote(key) == "schema"]
    if not values:
        return "public"
    names = _qualified_parts(values[-1], f"?schema={values[-1]}")
    if len(names) != 1:
        raise UsageError(f'?schema={values[-1]}: not a schema name; write crm, or a quoted name like "Sales CRM"')
    return names[0]


def _qualified(text: str, default_schema: str, table: str) -> tuple[str, str]:
    where = f"[data.tables] {table} = {text!r}"
    names = _qualified_parts(text, where)
    if len(names) > 2:
        raise UsageError(f'{where}: not a table name; write table, schema.table or "Quoted Schema"."Quoted Table"')
    return (default_schema, names[0]) if len(names) == 1 else (names[0], names[1])


def _qualified_parts(text: str, where: str) -> list[str]:
    """Names as SQL reads them: unquoted ones fold to lower case, "quoted" ones are kept as written."""
    names, position = [], 0
    while True:
        match = _IDENTIFIER.match(text, position)
        if not match:
            raise UsageError(f'{where}: not a table name; write table, schema.table or "Quoted Schema"."Quoted Table"')
        names.append(match.group(1).replace('""', '"') if match.group(1) is not None else match.group(2).lower())
        position = match.end()
        if position == len(text):
            return names
        if text[position] != ".":
            raise UsageError(f'{where}: not a table name; write table, schema.table or "Quoted Schema"."Quoted Table"')
        position += 1


def _display(relation: tuple[str, str]) -> str:
    return ".".join(name if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) else quote_identifier(name) for name in relation)


def _find_tables(cursor, source: Source) -> dict[str, tuple[tuple[str, str], list[tuple[str, bool]]]]:
    """Where each contract table is and which of its columns to read (name, read natively); stops with
    every missing schema, table, column or permission at once, naming what the database does have."""
    cursor.execute("select current_user, current_database()")
    user, database = cursor.fetchone()
    cursor.execute("select nspname from pg_catalog.pg_namespace where nspname !~ '^pg_' and nspname <> 'information_schema' order by 1")
    schemas = [row[0] for row in cursor.fetchall()]
    cursor.execute(
        """
        select n.nspname, c.relname, c.oid::bigint, pg_catalog.has_any_column_privilege(c.oid, 'select')
        from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'v', 'm', 'p', 'f') and n.nspname = any(string_to_array($1, chr(1)))
        order by 1, 2
        """,
        (chr(1).join(sorted({schema for schema, _ in _wanted(source).values()})),),
    )
    found = {(schema, name): (oid, readable) for schema, name, oid, readable in cursor.fetchall()}

    problems, chosen = [], {}
    for table, relation in _wanted(source).items():
        if relation not in found:
            if table in OPTIONAL_TABLES and table not in source.table_names:
                continue
            schema = relation[0]
            if schema not in schemas:
                problems.append(
                    f"database {database} has no schema {schema!r} (schemas: {_names(schemas)}); "
                    "check ?schema= in --data or the names in [data.tables]"
                )
            else:
                in_schema = [name for (other, name) in found if other == schema]
                hint = f'create it, or name your {table} table in [data.tables] ({table} = "schema.table")'
                problems.append(f"database {database} has no table {_display(relation)} (tables in {schema}: {_names(in_schema)}); {hint}")
            continue
        oid, readable = found[relation]
        if not readable:
            problems.append(
                f"permission denied: database user {user!r} cannot read table {_display(relation)}; "
                f"grant it with: grant select on {_display(relation)} to {quote_identifier(user)}"
            )
            continue
        chosen[table] = (relation, oid)
    if problems:
        raise SourceError("\n".join(dict.fromkeys(problems)))

    columns = {}
    if chosen:
        cursor.execute(
            """
            select a.attrelid::bigint, a.attname, t.typname, t.typtype = 'b'
            from pg_catalog.pg_attribute a join pg_catalog.pg_type t on t.oid = a.atttypid
            where a.attrelid = any(string_to_array($1, ',')::oid[]) and a.attnum > 0 and not a.attisdropped
            order by a.attrelid, a.attnum
            """,
            (",".join(str(oid) for _, oid in chosen.values()),),
        )
        for oid, name, type_name, is_base in cursor.fetchall():
            columns.setdefault(oid, []).append((name, is_base and type_name in NATIVE_TYPES))
    result = {}
    for table, (relation, oid) in chosen.items():
        present = columns.get(oid, [])
        names = [name for name, _ in present]
        missing = [column for column in REQUIRED_COLUMNS[table] if column not in names]
        if missing:
            problems.append(
                f"table {_display(relation)}: required column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} "
                f"{'are' if len(missing) > 1 else 'is'} missing (columns: {_names(names)}); rename {'them' if len(missing) > 1 else 'it'}, "
                "or point [data.tables] at a view with the expected column names"
            )
        # Customers keep every column (any may define segments); the other tables only the contract's.
        wanted = set(REQUIRED_COLUMNS[table] + OPTIONAL_COLUMNS[table])
        result[table] = (relation, [(name, native) for name, native in present if table == "customers" or name in wanted])
    if problems:
        raise SourceError("\n".join(problems))
    return result


def _wanted(source: Source) -> dict[str, tuple[str, str]]:
    """Where each contract table should be: as named in [data.tables], else under its own name in the schema."""
    schema = _schema(source.location)
    return {
        table: _qualified(source.table_names[table], schema, table) if table in source.table_names else (schema, table) for table in TABLES
    }


def _names(names: list[str]) -> str:
    if not names:
        return "none"
    shown = ", ".join(names[:_SHOWN_NAMES])
    return shown + (f" and {len(names) - _SHOWN_NAMES} more" if len(names) > _SHOWN_NAMES else "")


def _copy_table(cursor, con: duckdb.DuckDBPyConnection, table: str, relation: tuple[str, str], columns: list[tuple[str, bool]]) -> None:
    """Stream one table into DuckDB as `src_<table>`."""
    select = ", ".join(
        quote_identifier(name) if native else f"{quote_identifier(name)}::text as {quote_identifier(name)}" for name, native in columns
    )
    cursor.execute(f"select {select} from {quote_identifier(relation[0])}.{quote_identifier(relation[1])}")
    stream = cursor.fetch_record_batch()
    con.register("postgres_stream", stream)
    try:
        con.execute(f"create table src_{table} as select * from postgres_stream")
    finally:
        con.unregister("postgres_stream")


def _libpq_reason(text: str, source: Source) -> str:
    """libpq's own words, first line, without the driver's prefixes and never with a password."""
    text = re.sub(r"^.*?(Failed to connect|Execution error \[\w+\]|Failed to execute query): ?", "", text.strip(), flags=re.S)
    text = text.split("\n")[0]
    text = re.sub(r"^(connection to server .*? failed: |could not begin COPY: )", "", text)
    text = " ".join(text.replace("FATAL:", "").replace("ERROR:", "").split())
    return _scrub(text, source)


def _scrub(text: str, source: Source) -> str:
    for secret in _secrets(source):
        text = text.replace(secret, "***")
    return without_password(text)


def _secrets(source: Source) -> list[str]:
    found = []
    userinfo = source.connection.partition("://")[2].partition("/")[0].rpartition("@")[0]
    if ":" in userinfo:
        found.append(userinfo.partition(":")[2])
    found += re.findall(r"[?&]password=([^&]*)", source.connection)
    if os.environ.get("PGPASSWORD"):
        found.append(os.environ["PGPASSWORD"])
    return sorted({form for secret in found if secret for form in (secret, unquote(secret))}, key=len, reverse=True)


def _connect_problem(text: str, source: Source) -> Exception:
    where = re.search(r'connection to server (?:at "([^"]+)"(?: \([^)]*\))?, port (\d+)|on socket "([^"]+)")', text)
    server = (f"{where.group(1)}:{where.group(2)}" if where.group(1) else where.group(3)) if where else source.location
    reason = _libpq_reason(text, source)
    login = "check the user name and password (in the URL, PGPASSWORD, ~/.pgpass or the service file)"
    if re.search(r"password authentication failed|no password supplied|authentication failed|pg_hba\.conf|role .* does not exist", text):
        return SourceError(f"PostgreSQL at {server} refused the login ({reason}); {login}")
    missing_database = re.search(r'database "(.*)" does not exist', text)
    if missing_database:
        return SourceError(f"PostgreSQL at {server} has no database {missing_database.group(1)!r}; check the database name in --data")
    if re.search(
        r"invalid URI|invalid connection option|invalid percent-encoded|invalid integer value|service file|definition of service", text
    ):
        return UsageError(
            f"--data {source.location}: not a usable PostgreSQL URL ({reason}); see the README section on reading from PostgreSQL"
        )
    if re.search(
        r"Connection refused|could not translate host name|timeout expired|No route to host|Network is unreachable|No such file", text
    ):
        return SourceError(
            f"cannot reach the PostgreSQL server at {server} ({reason}); check the host and port in --data and that the server runs"
        )
    return SourceError(f"cannot connect to PostgreSQL at {server} ({reason})")


def _read_problem(text: str, source: Source, relation: tuple[str, str] | None) -> Exception:
    """A read that failed (relation None: while looking up the tables)."""
    what = f"table {_display(relation)}" if relation else f"looking up the tables in {source.location}"
    if "statement timeout" in text:
        return SourceError(
            f"{what}: the database cancelled the read at its statement timeout; raise statement_timeout for this user "
            "(alter role … set statement_timeout = '30min') or add ?options=-c%20statement_timeout%3D0 to the URL"
        )
    if "lock timeout" in text:
        return SourceError(f"{what}: the read waited too long for a lock (lock_timeout); run it when no schema change holds the table")
    reason = _libpq_reason(text, source)
    if "permission denied" in text or "SQLSTATE: 42501" in text:
        return SourceError(f"{what}: permission denied ({reason}); grant select on it to the scorecard's database user")
    return SourceError(f"{what}: the database stopped the read ({reason}); try again, or check the server's log")
