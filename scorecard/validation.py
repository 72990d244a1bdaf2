"""Checks of the input against the input contract, run on the staging models before any metric is computed.

Structural problems (a column that cannot be read as its type, duplicate keys, an empty orders table,
mixed currencies) raise DataError with one line per problem. Row-level problems (unknown customers,
future-dated orders, missing amounts…) are excluded by the SQL models and summarised here; beyond the
tolerance they stop the run too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

from .engines import Engine
from .errors import DataError, excerpt, listing
from .formatting import is_currency_code, plural, plural_phrase
from .source import MAX_TEXT, Source

SHOWN_ROWS = 3

# (table, column, what the column must hold); staging has the typed column and `<column>_given`.
TYPED_COLUMNS = (
    ("customers", "created_at", "a date (YYYY-MM-DD)"),
    ("customers", "closed_at", "a date (YYYY-MM-DD)"),
    (
        "orders",
        "order_date",
        "a date or ISO timestamp (YYYY-MM-DD[THH:MM:SS], with a zone DuckDB knows such as Z, +02:00 or Europe/Berlin)",
    ),
    ("orders", "amount", "a decimal number like 1234.50 (finite, below 10^16; no currency sign or thousands separator)"),
    ("orders", "margin", "a fraction like 0.35"),
    ("referrals", "referred_at", "a date (YYYY-MM-DD)"),
    ("costs", "cost_date", "a date (YYYY-MM-DD)"),
    ("costs", "amount", "a decimal number like 12.50 (finite, below 10^16)"),
)

UNIQUE_KEYS = (("customers", "customer_id"), ("orders", "order_id"), ("referrals", "referral_id"))

# Text columns kept by staging; a value longer than source.MAX_TEXT characters stops the run.
TEXT_COLUMNS = (
    ("customers", ("customer_id", "name", "segment")),
    ("orders", ("order_id", "customer_id", "currency")),
    ("referrals", ("referral_id", "referrer_id", "referred_customer_id", "note")),
    ("costs", ("customer_id", "kind")),
)


@dataclass
class Exclusion:
    table: str
    reason: str
    kind: str  # "excluded", "ignored" or "rounded" (amounts with more than two decimals)
    rows: int
    amount: Decimal | None


@dataclass
class DataQuality:
    rows_read: dict[str, int] = field(default_factory=dict)
    exclusions: list[Exclusion] = field(default_factory=list)
    currency: str | None = None  # the orders' `currency` column, when it names one currency

    def excluded_rows(self, table: str) -> int:
        return sum(e.rows for e in self.exclusions if e.table == table and e.kind == "excluded")


def _rows_list(rows: list[tuple]) -> str:
    return ", ".join(f"row {row} ({excerpt(value)})" if value is not None else f"row {row}" for row, value in rows)


def _location(source: Source, table: str) -> str:
    return source.tables[table].location


def check_structure(con: Engine, source: Source) -> None:
    """Raise DataError listing every structural problem; return quietly when there is none."""
    problems: list[str] = []
    present = set(source.tables)

    if con.execute("select count(*) from raw_orders").fetchone()[0] == 0:
        problems.append(f"{_location(source, 'orders')}: the orders table has no rows; export the orders and try again")

    for table, column, expected in TYPED_COLUMNS:
        if table not in present:
            continue
        bad_rows = [
            row
            for (row,) in con.execute(f"select _row from stg_{table} where {column}_given and {column} is null order by _row").fetchall()
        ]
        # The offending values, for the message: only the few rows shown are looked up.
        values = (
            dict(
                con.execute(
                    f"""
                    with shown as (
                        select _row from stg_{table} where {column}_given and {column} is null order by _row limit {SHOWN_ROWS}
                    )
                    select raw._row, cast(raw.{column} as varchar) from raw_{table} as raw join shown on shown._row = raw._row
                    """
                ).fetchall()
            )
            if bad_rows
            else {}
        )
        bad = [(row, values.get(row)) for row in bad_rows]
        if bad:
            shown = _rows_list(bad[:SHOWN_ROWS])
            more = f" and {len(bad) - SHOWN_ROWS:,} more" if len(bad) > SHOWN_ROWS else ""
            problems.append(
                f"{_location(source, table)}, column {column}: {plural(len(bad), 'value')} cannot be read as {expected}: "
                f"{shown}{more}; correct {'it' if len(bad) == 1 else 'them'} or re-export the column in that format"
            )

    for table, columns in TEXT_COLUMNS:
        if table not in present:
            continue
        for column in columns:
            too_long = [
                row
                for (row,) in con.execute(
                    f"select _row from stg_{table} where strlen({column}) > ? and length({column}) > ? order by _row", [MAX_TEXT, MAX_TEXT]
                ).fetchall()
            ]
            if too_long:
                shown = ", ".join(f"row {row}" for row in too_long[:SHOWN_ROWS])
                more = f" and {len(too_long) - SHOWN_ROWS:,} more" if len(too_long) > SHOWN_ROWS else ""
                problems.append(
                    f"{_location(source, table)}, column {column}: {plural(len(too_long), 'value')} longer than {MAX_TEXT:,} characters "
                    f"({shown}{more}); shorten {'it' if len(too_long) == 1 else 'them'}, or check that the column holds what it should"
                )

    for table, column in UNIQUE_KEYS:
        # The engine proves most key columns unique cheaply, by their 64-bit hashes; only when two hashes
        # are equal are the keys grouped (by hash first, far cheaper than by text), then compared themselves.
        if table not in present or not con.may_repeat(f"stg_{table}", column):
            continue
        duplicated = [
            key
            for (key,) in con.execute(
                f"""
                with colliding as (
                    select hash({column}) as key_hash from stg_{table} where {column} is not null
                    group by key_hash having count(*) > 1
                )
                select {column} from stg_{table}
                where {column} is not null and hash({column}) in (select key_hash from colliding)
                group by {column} having count(*) > 1
                """
            ).fetchall()
        ]
        if duplicated:
            # The first few duplicated values (by the row they first appear in), each with its rows.
            rows = con.execute(
                f"""
                with duplicated as (
                    select {column} as key, min(_row) as first_row from stg_{table}
                    where {column} is not null group by {column} having count(*) > 1
                ),
                shown as (select key, first_row from duplicated order by first_row limit {SHOWN_ROWS})
                select shown.key, staged._row from stg_{table} as staged join shown on shown.key = staged.{column}
                order by shown.first_row, staged._row
                """
            ).fetchall()
            rows_of: dict[str, list[int]] = {}
            for key, row in rows:
                rows_of.setdefault(key, []).append(row)
            shown = "; ".join(f"{excerpt(key)} in rows {', '.join(map(str, keys_rows[:5]))}" for key, keys_rows in rows_of.items())
            problems.append(
                f"{_location(source, table)}, column {column}: {plural(len(duplicated), 'value')} "
                f"{'appears' if len(duplicated) == 1 else 'appear'} more than once ({shown}); "
                f"each {column} must be unique — remove the duplicate rows"
            )

    if "orders" in present:
        currencies = [
            row[0]
            for row in con.execute(
                "select distinct upper(currency) from stg_orders where currency is not null and not is_cancelled order by 1"
            ).fetchall()
        ]
        if len(currencies) > 1:
            problems.append(
                f"{_location(source, 'orders')}, column currency: orders are in {len(currencies)} currencies "
                f"({listing(currencies, 5)}); convert amounts to one reporting currency first"
            )

    if problems:
        raise DataError(problems)


def summarise(con: Engine, source: Source) -> DataQuality:
    quality = DataQuality()
    for table in ("customers", "orders", "referrals", "costs"):
        if table in source.tables:
            quality.rows_read[table] = source.tables[table].rows
    for table, reason, kind, rows, amount in con.execute(
        "select input_table, reason, kind, rows, amount from mart_data_quality order by input_table, kind, rows desc, reason"
    ).fetchall():
        quality.exclusions.append(Exclusion(table, reason, kind, rows, amount))
    if "orders" in source.tables:
        found = con.execute("select min(upper(currency)) from stg_orders where currency is not null and not is_cancelled").fetchone()[0]
        quality.currency = found  # one at most: check_structure stops mixed currencies
    return quality


def reporting_currency(quality: DataQuality, source: Source, configured: str | None) -> str | None:
    """The currency amounts are in: the setting (option or config) or the orders' currency column, which
    must agree when both are given; None when neither says (amounts are then shown without a symbol)."""
    found = quality.currency
    if found is None:
        return configured.upper() if configured else None
    where = f"{_location(source, 'orders')}, column currency"
    if not is_currency_code(found):
        raise DataError(f"{where}: {found!r} is not an ISO 4217 currency code like EUR, USD or GBP; correct the column")
    if configured and configured.upper() != found:
        raise DataError(
            f"{where}: the orders are in {found} but the currency setting (--currency or [report] currency) says "
            f"{configured.upper()}; drop the setting, or convert the amounts to {configured.upper()}"
        )
    return found


def check_tolerance(quality: DataQuality, source: Source, max_excluded: Decimal) -> None:
    """Stop when any table loses more than the tolerated share of its rows."""
    problems = []
    for table, rows in quality.rows_read.items():
        excluded = quality.excluded_rows(table)
        if rows and excluded and Decimal(excluded) / rows > max_excluded:
            reasons = "; ".join(plural_phrase(e.rows, e.reason) for e in quality.exclusions if e.table == table and e.kind == "excluded")
            problems.append(
                f"{_location(source, table)}: {excluded:,} of {plural(rows, 'row')} ({excluded / rows:.1%}) would be excluded "
                f"({reasons}), more than the {float(max_excluded):.0%} tolerated; fix the data, or pass "
                f"--max-excluded {_suggest(excluded / rows)} to build with them excluded"
            )
    if problems:
        raise DataError(problems)


def _suggest(share: float) -> str:
    """The next multiple of 5 % that lets `share` through (0.093 → 0.10)."""
    return f"{math.ceil(share * 20) / 20:.2f}"
