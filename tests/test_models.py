"""The SQL model runner: what a model file's header lines tell it, and what the engine does with them."""

from __future__ import annotations

from conftest import record_queries
from scorecard.engines.duckdb import DuckDBEngine
from scorecard.models import ModelRunner, discover
from scorecard.resources import resource_path


def _write_models(folder, **texts):
    folder.mkdir()
    for name, text in texts.items():
        (folder / f"{name}.sql").write_text(text)
    return folder


def test_a_sorted_by_line_names_columns_only(tmp_path):
    folder = _write_models(
        tmp_path / "sql",
        listed="-- sorted by: customer_key, order_date\nselect 1 as customer_key, 2 as order_date\n",
        expression="-- sorted by: customer_key; drop table raw_x\nselect 1 as customer_key\n",
        unsorted="select 1 as customer_key\n",
    )
    found = discover(folder)
    assert found["listed"].sorted_by == "customer_key, order_date"
    assert found["expression"].sorted_by is None  # never SQL text reaching the engine
    assert found["unsorted"].sorted_by is None


def test_duckdb_stores_a_sorted_by_table_in_that_order(tmp_path):
    # 300,000 rows, more than two of DuckDB's row groups, scrambled: inserted in parallel they would not
    # come back in order unless the engine sorted them.
    folder = _write_models(tmp_path / "sql", ordered="-- sorted by: k, i\nselect k, i from raw_x\n", plain="select k, i from raw_x\n")
    with DuckDBEngine() as con:
        con.execute("set preserve_insertion_order = false")  # as after loading a source
        con.execute("create table raw_x as select (i * 7919) % 1000 as k, i from range(300000) as t(i)")
        ModelRunner(con, folder, inputs=frozenset({"raw_x"})).run(available={"raw_x"})
        con.execute("set threads = 1")  # a plain scan then returns the rows as stored
        stored = con.execute("select k, i from ordered").fetchall()
        assert stored == sorted(stored)
        assert sorted(con.execute("select k, i from plain").fetchall()) == stored  # the same rows either way


def test_the_orders_are_stored_by_customer_for_the_models_that_group_them():
    assert discover(resource_path("sql"))["int_orders"].sorted_by == "customer_key, order_date"


def test_the_largest_tables_keep_keys_and_counts_in_32_bits():
    # Every kept order row carries customer_key, and the run-rates table holds millions of rows at 10M
    # orders: 64-bit keys and counts there cost 170–260 MiB of peak memory at that size (~2,430 against 2,170–2,270 MiB).
    from datetime import date

    from scorecard import engine
    from scorecard.settings import Settings
    from scorecard.source import resolve_source

    with engine.connect() as con:
        engine._compute(con, resolve_source(None), "2025-Q3", Settings(), date(2030, 1, 1), None, None)
        types = dict(
            con.execute(
                "select table_name || '.' || column_name, data_type from duckdb_columns() "
                "where table_name in ('int_customers', 'int_orders', 'int_customer_period_states', 'int_customer_periods')"
            ).fetchall()
        )
    assert types["int_customers.customer_key"] == "INTEGER"
    assert types["int_orders.customer_key"] == "INTEGER"
    assert types["int_customer_period_states.window_purchases_end"] == "INTEGER"
    assert types["int_customer_period_states.period_purchases"] == "INTEGER"
    assert types["int_customer_periods.purchases_in_period"] == "INTEGER"


def test_duckdb_proves_a_key_column_unique_by_its_sorted_hashes():
    with DuckDBEngine() as con:
        con.execute("create table keys as select * from (values ('a'), ('b'), (null), (null), ('c')) as t(k)")
        assert not con.may_repeat("keys", "k")  # NULLs are missing keys, not repeated ones
        con.execute("insert into keys values ('b')")
        assert con.may_repeat("keys", "k")
        con.execute("create table no_keys (k varchar)")
        assert not con.may_repeat("no_keys", "k")
        # Generated columns: repeats wherever they are in the table, or none.
        for size, repeats in ((1_000, 0), (50_000, 0), (50_000, 1), (50_000, 3)):
            con.execute(f"create or replace table ids as select 'o' || i as k from range({size}) as t(i)")
            con.execute(f"insert into ids select 'o' || (i * 7919 % {size}) from range({repeats}) as t(i)")
            assert con.may_repeat("ids", "k") == (repeats > 0), (size, repeats)


def test_unique_keys_are_proved_without_grouping_them(monkeypatch):
    """Grouping every key (by hash, then by value) is only for naming duplicates: on unique keys the
    engine's proof is all that runs."""
    from datetime import date

    from scorecard import engine
    from scorecard.settings import Settings
    from scorecard.source import resolve_source

    queries = record_queries(monkeypatch)
    engine.check(resolve_source(None), Settings(), as_of=date(2026, 1, 1))
    assert queries and not any("having count(*) > 1" in sql for sql in queries)
