"""The broken-input corpus (tests/broken/, one defect per case): each gives its exit code and a message
naming the problem, never a traceback, and no file in the output folder."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from scorecard.cli import app

CORPUS = Path(__file__).parent / "broken"
CASES = json.loads((CORPUS / "cases.json").read_text())
runner = CliRunner()


def test_the_corpus_is_large_enough():
    assert len([c for c in CASES if c["exit_code"] != 0]) >= 25
    assert sorted(c["case"] for c in CASES) == sorted(p.name for p in CORPUS.iterdir() if p.is_dir())


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_validate_reports_each_defect(case):
    result = runner.invoke(app, ["validate", "--data", str(CORPUS / case["case"])] + case["args"])
    assert result.exit_code == case["exit_code"], result.output
    assert case["message"] in result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    if case["exit_code"]:
        lines = result.output.strip().splitlines()
        assert all(line.startswith("Error: ") for line in lines), lines
        assert all(str(CORPUS / case["case"]) in line or "--segment-by" in line or "period" in line for line in lines), lines


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_build_stops_before_writing_anything(case, tmp_path):
    out = tmp_path / "out"
    args = ["build", "--period", "2025-Q3", "--data", str(CORPUS / case["case"]), "--out", str(out), "--jobs", "1"]
    if case["exit_code"] == 0:
        return  # usable data: covered by the build tests; here only the failures matter
    result = runner.invoke(app, args + case["args"])
    assert result.exit_code == case["exit_code"], result.output
    assert case["message"] in result.output
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


def test_exclusions_reach_metrics_json():
    case = CORPUS / "31-one-order-for-an-unknown-customer-is-excluded"
    document = json.loads(runner.invoke(app, ["metrics", "-p", "2025-Q3", "--data", str(case), "-f", "json"]).stdout)
    assert document["data_quality"]["excluded"] == [
        {"table": "orders", "reason": "order for a customer not in customers", "rows": 1, "amount": 12.5}
    ]
    assert document["data_quality"]["rows_read"]["orders"] == 40


BASE = CORPUS / "31-one-order-for-an-unknown-customer-is-excluded"
COLUMNS = (
    [("customers.csv", column) for column in ("customer_id", "name", "segment", "closed_at")]
    + [("orders.csv", column) for column in ("order_id", "customer_id", "order_date", "amount", "status")]
    + [("referrals.csv", column) for column in ("referral_id", "referrer_id", "referred_customer_id", "referred_at", "note")]
)
junk = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["", " ", "NULL", "nan", "-0", "1e400", "9" * 40, "2025-02-30", "0000-01-01", "2025-08-01T25:00", "\u0000", '"', "\n", ",,,"]
    ),
)


@pytest.mark.parametrize("table, column", COLUMNS, ids=[f"{t}:{c}" for t, c in COLUMNS])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=junk, row=st.integers(0, 3))
def test_random_junk_in_any_column_gives_a_clean_outcome(tmp_path, table, column, value, row):
    folder = tmp_path / "junk"
    folder.mkdir(exist_ok=True)
    for path in BASE.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    rows = list(csv.reader(io.StringIO((BASE / table).read_text())))
    rows[1 + row % (len(rows) - 1)][rows[0].index(column)] = value
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    (folder / table).write_text(buffer.getvalue())
    result = runner.invoke(app, ["metrics", "-p", "2025-Q3", "--data", str(folder), "--max-excluded", "0.5", "-f", "json"])
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 1:
        assert result.output.startswith("Error: ") and "internal error" not in result.output, result.output
    else:
        assert json.loads(result.stdout)["schema_version"] == 1


# --- The same junk in Parquet files, timestamps in every zone form, and Parquet numbers of every kind --------


def _junk_folder(tmp_path, table: str, column: str, value: str, row: int):
    folder = tmp_path / "junk"
    folder.mkdir(exist_ok=True)
    for path in BASE.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    rows = list(csv.reader(io.StringIO((BASE / table).read_text())))
    rows[1 + row % (len(rows) - 1)][rows[0].index(column)] = value
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    (folder / table).write_text(buffer.getvalue())
    return folder


def _as_parquet(folder, typed: bool = False):
    """Every table of `folder` as Parquet: text columns, or (typed) order dates and amounts as a warehouse
    would type them (TIMESTAMPTZ, DOUBLE; values that do not convert become NULL)."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    for path in sorted(folder.glob("*.csv")):
        header, *rows = list(csv.reader(io.StringIO(path.read_text(), newline="")))
        table = pa.table({name: [row[index] if index < len(row) else None for row in rows] for index, name in enumerate(header)})
        pq.write_table(table, path.with_suffix(".parquet"))
        path.unlink()
        if typed and path.stem == "orders":
            target = path.with_suffix(".parquet")
            con = duckdb.connect()
            con.execute(
                f"create table t as select * replace (try_cast(order_date as timestamptz) as order_date, try_cast(amount as double) as amount) from '{target}'"
            )
            con.execute(f"copy t to '{target}' (format parquet)")
            con.close()
    return folder


def _clean_outcome(folder, *args):
    result = runner.invoke(app, ["metrics", "-p", "2025-Q3", "--data", str(folder), "--max-excluded", "0.5", "-f", "json", *args])
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 1:
        assert result.output.startswith("Error: ") and "internal error" not in result.output, result.output
    else:
        assert json.loads(result.stdout)["schema_version"] == 1
    return result


@pytest.mark.parametrize("table, column", COLUMNS, ids=[f"{t}:{c}" for t, c in COLUMNS])
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=junk, row=st.integers(0, 3))
def test_random_junk_in_any_parquet_column_gives_a_clean_outcome(tmp_path, table, column, value, row):
    _clean_outcome(_as_parquet(_junk_folder(tmp_path, table, column, value, row)))


READABLE_ZONES = ["Z", "z", " Z", "+00:00", "-04:00", "+0530", "-05", "+14:00", " +02:00", " UTC", " GMT", " utc",
                  " America/New_York", " Europe/Berlin", " Asia/Kolkata", " Etc/GMT+5", " CET", ""]  # fmt: skip
UNKNOWN_ZONES = [" EDT", " Mars/Olympus", " Local", " +2"]
moments = st.builds(
    lambda day, hour, minute, fraction, separator: f"{day.isoformat()}{separator}{hour:02d}:{minute:02d}:00{fraction}",
    st.dates(min_value=date(2023, 1, 1), max_value=date(2025, 9, 30)),
    st.integers(0, 23),
    st.integers(0, 59),
    st.sampled_from(["", ".5", ".123456"]),
    st.sampled_from(["T", " "]),
)
DATE_COLUMNS = [("orders.csv", "order_date"), ("customers.csv", "closed_at"), ("referrals.csv", "referred_at")]


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
@pytest.mark.parametrize("table, column", DATE_COLUMNS, ids=[f"{t}:{c}" for t, c in DATE_COLUMNS])
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    moment=moments,
    zone=st.sampled_from(READABLE_ZONES + UNKNOWN_ZONES),
    row=st.integers(0, 3),
    time_zone=st.sampled_from(["UTC", "America/New_York", "Asia/Tokyo"]),
)
def test_timestamps_in_any_zone_form_give_a_clean_outcome(tmp_path, file_format, table, column, moment, zone, row, time_zone):
    folder = _junk_folder(tmp_path, table, column, moment + zone, row)
    if file_format == "parquet":
        _as_parquet(folder)
    result = _clean_outcome(folder, "--time-zone", time_zone)
    if zone in UNKNOWN_ZONES:  # a zone DuckDB cannot read is never silently ignored
        assert result.exit_code == 1 and f"column {column}: 1 value cannot be read" in result.output, result.output
    else:  # every readable form is read (the run may still stop for other reasons, e.g. a date in the future)
        assert f"column {column}: 1 value cannot be read" not in result.output, result.output


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amount=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e17, -1e17, 1e16, 9.999e15, 1e-9, 0.005, 2.675])))
def test_any_double_amount_in_parquet_gives_a_clean_outcome(tmp_path, amount):
    import duckdb

    folder = _as_parquet(_junk_folder(tmp_path, "orders.csv", "amount", "1", 0), typed=True)
    con = duckdb.connect()
    con.execute(f"create table t as select * from '{folder / 'orders.parquet'}'")
    con.execute("update t set amount = ? where order_id = (select min(order_id) from t)", [amount])
    con.execute(f"copy t to '{folder / 'orders.parquet'}' (format parquet)")
    con.close()
    result = _clean_outcome(folder)
    if amount != amount or abs(amount) >= 1e16:  # NaN, infinities, beyond DECIMAL(18, 2): unreadable, as in CSV
        assert result.exit_code == 1 and "column amount" in result.output, result.output
