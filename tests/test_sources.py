"""SPEC §2 sources: CSV folders, Parquet folders and DuckDB files give the same figures."""

from __future__ import annotations

import duckdb

from conftest import compute, make_data
from scorecard.resources import resource_path


def test_parquet_and_duckdb_sources_match_csv(tmp_path):
    sample = resource_path("sample_data")
    parquet = tmp_path / "parquet"
    parquet.mkdir()
    database = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(database))
    for table in ("customers", "orders", "referrals", "costs"):
        # Typed columns, as a warehouse export would have them.
        con.execute(f"create table {table} as select * from read_csv('{sample / (table + '.csv')}')")
        con.execute(f"copy {table} to '{parquet / (table + '.parquet')}' (format parquet)")
    con.close()
    expected = compute(None, "2025-Q3")["scorecards"]
    assert compute(parquet, "2025-Q3")["scorecards"] == expected
    assert compute(database, "2025-Q3")["scorecards"] == expected


def test_referrals_and_costs_are_optional(data_dir):
    make_data(data_dir, [("A", "X")], [("A", "2025-08-01", "5")])
    document = compute(data_dir)
    assert document["scorecards"][0]["referrals"]["made"] == 0
    assert document["data_quality"]["rows_read"] == {"customers": 1, "orders": 1}


def test_segment_by_another_column(data_dir):
    customers = [{"customer_id": "A", "segment": "S1", "region": "North"}, {"customer_id": "B", "segment": "S1", "region": None}]
    make_data(data_dir, customers, [("A", "2025-08-01", "5"), ("B", "2025-08-01", "5")])
    document = compute(data_dir, segment_by="region")
    assert [c["segment"] for c in document["scorecards"]] == [None, "North", "Unassigned"]


def test_sql_can_read_only_the_data_source_once_loaded(data_dir):
    from datetime import date

    import duckdb
    import pytest

    from scorecard import engine
    from scorecard.settings import Settings
    from scorecard.source import resolve_source

    make_data(data_dir, [("A", "X")], [("A", "2025-08-01", "5")])
    with engine.connect() as con:
        engine.prepare(con, resolve_source(data_dir), Settings(), date(2026, 1, 1))
        assert con.execute("select count(*) from read_csv(?)", [str(data_dir / "orders.csv")]).fetchone() == (1,)
        with pytest.raises(duckdb.PermissionException):
            con.execute("select * from read_csv('/etc/passwd')")
        with pytest.raises(duckdb.Error, match="locked"):
            con.execute("set enable_external_access = true")
