"""The broken-input corpus (tests/broken/, one defect per case): each gives its exit code and a message
naming the problem, never a traceback, and no file in the output folder."""

from __future__ import annotations

import csv
import io
import json
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
