"""The Spark engine (`--engine spark`) against DuckDB: the same metrics.json figure for figure, the same
error messages, the same reading of text. Real Spark in local mode, one Spark context shared by every
test of the process (starting one takes seconds). Skipped without pyspark or Java, failed in CI."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from conftest import REALDATA, REPO, TODAY, make_data, require_component
from scorecard import engine, metrics
from scorecard.cli import app
from scorecard.engines import EngineChoice, connect
from scorecard.errors import DataError, UsageError
from scorecard.resources import resource_path
from scorecard.settings import Settings
from scorecard.source import resolve_source

SPARK = EngineChoice("spark", "local[2]")
CORPUS = REPO / "tests" / "broken"
CASES = json.loads((CORPUS / "cases.json").read_text())
runner = CliRunner()


def _spark_available() -> tuple[bool, str]:
    if importlib.util.find_spec("pyspark") is None or importlib.util.find_spec("sqlglot") is None:
        return False, "pyspark is not installed: pip install '.[spark]'"
    from scorecard.engines.spark import _java_version

    version = _java_version()
    if version is None or version < 17:
        return False, "Java 17 is not installed: apt-get install openjdk-17-jre-headless"
    return True, ""


@pytest.fixture
def spark_ready():
    require_component(*_spark_available())


def both(data, period="2025-Q3", **settings) -> tuple[str, str]:
    """metrics.json of one run on DuckDB and one on Spark, as the text the tool writes."""
    documents = [
        engine.compute(resolve_source(data), period, Settings(**settings), as_of=TODAY, engine=choice).document for choice in (None, SPARK)
    ]
    return metrics.to_json(documents[0]), metrics.to_json(documents[1])


# --- figure for figure ----------------------------------------------------------------------------


SAMPLE_RUNS = {
    "quarter, defaults": ("2025-Q3", {}),
    "month, short window, other thresholds, grouped segments": (
        "2025-07",
        {"window_days": 90, "change_threshold": Decimal("0.25"), "tier_quantiles": (Decimal("0.3"), Decimal("0.9")),
         "segments": ("Enterprise", "SMB"), "top_n": 5},
    ),
    "fiscal year, time zone, margin, small segments grouped": (
        "2025",
        {"fiscal_year_start": 4, "time_zone": "America/New_York", "gross_margin": Decimal("0.4"), "min_segment_customers": 600,
         "trend_periods": 4},
    ),
    "half year, long window, fixed tiers, redacted": (
        "2024-H2",
        {"window_days": 730, "tier_thresholds": (Decimal("1000"), Decimal("5000")), "redact": True},
    ),
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("run", SAMPLE_RUNS, ids=list(SAMPLE_RUNS))
def test_sample_figures_equal_duckdbs(spark_ready, run):
    period, settings = SAMPLE_RUNS[run]
    duckdb_json, spark_json = both(None, period, **settings)
    assert spark_json == duckdb_json


@pytest.mark.slow
def test_parquet_input_equals_duckdbs(spark_ready, tmp_path):
    """Typed columns (dates, decimals, zoned timestamps) take the typed path on both engines."""
    folder = tmp_path / "parquet"
    folder.mkdir()
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    sample = resource_path("sample_data")
    for table in ("customers", "orders", "referrals", "costs"):
        con.execute(f"create table {table} as select * from read_csv('{sample / (table + '.csv')}')")
    # Order times as instants (Parquet TIMESTAMP with isAdjustedToUTC), amounts as DECIMAL(12, 3).
    con.execute("create or replace table orders as select * replace (order_date::timestamptz + interval 22 hour as order_date, "
                "amount::decimal(12, 3) as amount) from orders")  # fmt: skip
    for table in ("customers", "orders", "referrals", "costs"):
        con.execute(f"copy {table} to '{folder / (table + '.parquet')}' (format parquet)")
    duckdb_json, spark_json = both(folder, "2025-Q3", time_zone="Asia/Kolkata", gross_margin=Decimal("0.3"))
    assert spark_json == duckdb_json


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in CASES if c["exit_code"] == 0], ids=[c["case"] for c in CASES if c["exit_code"] == 0])
def test_excluded_and_reported_inputs_equal_duckdbs(spark_ready, case):
    results = [
        runner.invoke(app, ["metrics", "-p", "2025-Q3", "--data", str(CORPUS / case["case"]), "-f", "json", *case["args"], *engine_args])
        for engine_args in ([], ["--engine", "spark", "--spark-master", SPARK.spark_master])
    ]
    assert [r.exit_code for r in results] == [0, 0], [r.output for r in results]
    assert results[1].stdout == results[0].stdout
    # The corpus's message is what `validate` says (the exclusion, the rounding, "Usable: yes.").
    checks = [
        runner.invoke(app, ["validate", "--data", str(CORPUS / case["case"]), *case["args"], *engine_args])
        for engine_args in ([], ["--engine", "spark", "--spark-master", SPARK.spark_master])
    ]
    assert [r.exit_code for r in checks] == [0, 0] and checks[1].output == checks[0].output, [r.output for r in checks]
    assert case["message"] in checks[1].output


@pytest.mark.slow
def test_real_online_retail_data_equals_duckdbs(spark_ready):
    duckdb_json, spark_json = both(REALDATA, "2011-Q3", max_excluded=Decimal("0.10"))
    assert spark_json == duckdb_json
    assert json.loads(spark_json)["data_quality"]["excluded"]  # guest checkouts, excluded and reported


# --- the same errors ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in CASES if c["exit_code"] != 0], ids=[c["case"] for c in CASES if c["exit_code"] != 0])
def test_broken_inputs_stop_with_duckdbs_message(spark_ready, case):
    results = [
        runner.invoke(app, ["validate", "--data", str(CORPUS / case["case"]), *case["args"], *engine_args])
        for engine_args in ([], ["--engine", "spark", "--spark-master", SPARK.spark_master])
    ]
    duckdb_result, spark_result = results
    spark_output = spark_result.output
    for java, written in JAVA_DOUBLE_SPELLING.items():  # the same value, echoed as the JVM writes a double
        spark_output = spark_output.replace(f"('{java}')", f"('{written}')")
    assert spark_result.exit_code == duckdb_result.exit_code == case["exit_code"], spark_output
    assert case["message"] in spark_output
    assert all(line.startswith("Error: ") for line in spark_output.strip().splitlines()), spark_output
    if case["case"] not in SPARK_OWN_CSV_MESSAGES:
        assert spark_output == duckdb_result.output


# A Parquet DOUBLE amount that is not a finite number below 10^16 is refused on both engines, naming the same
# file, column and row; the value is echoed as each engine writes a double.
JAVA_DOUBLE_SPELLING = {"NaN": "nan", "Infinity": "inf", "1.0E17": "1e+17"}

# CSV files that no CSV reader accepts: Spark's reader says why in its own words (the file, and that it is
# not a comma-separated CSV file, are the same).
SPARK_OWN_CSV_MESSAGES = {"15-unterminated-quote", "16-row-with-too-many-fields"}


@pytest.mark.slow
def test_duplicates_and_bad_values_are_named_by_row_in_part_files(spark_ready, tmp_path):
    """A table may be a folder of part files (as Spark writes them): rows are numbered across the files
    in name order, so messages still point at one row."""
    folder = make_data(tmp_path / "data", [("A", "X"), ("B", "X")], [("A", "2025-08-01", "5"), ("B", "2025-08-02", "6")])
    parts = folder / "orders.csv"
    rows = parts.read_text().splitlines()
    parts.unlink()
    parts.mkdir()
    (parts / "part-0.csv").write_text("\n".join(rows[:2]) + "\n")
    (parts / "part-1.csv").write_text("\n".join([rows[0], rows[2], rows[1].replace("2025-08-01", "someday")]) + "\n")
    with pytest.raises(DataError) as raised:
        engine.check(resolve_source(folder), Settings(), as_of=TODAY, engine=SPARK)
    assert "column order_id: 1 value appears more than once ('o1' in rows 1, 3)" in str(raised.value)
    message = str(raised.value)
    assert "column order_date: 1 value cannot be read as a date or ISO timestamp" in message and "row 3 ('someday')" in message


@pytest.mark.slow
def test_a_url_source_is_read_by_spark(spark_ready, tmp_path):
    folder = make_data(tmp_path / "data", [("A", "X"), ("B", "Y")], [("A", "2025-08-01", "5"), ("B", "2024-12-02", "6")])
    url = folder.as_uri()  # file:///…: the URL path, as for s3a:// or hdfs://
    local = engine.compute(resolve_source(folder), "2025-Q3", Settings(), as_of=TODAY).document
    remote = engine.compute(resolve_source(url), "2025-Q3", Settings(), as_of=TODAY, engine=SPARK).document
    assert remote["scorecards"] == local["scorecards"]
    assert remote["source"] == url
    with pytest.raises(DataError, match="no customers.csv or customers.parquet"):
        engine.compute(resolve_source(tmp_path.as_uri()), "2025-Q3", Settings(), as_of=TODAY, engine=SPARK)
    with pytest.raises(UsageError, match=r"no loader reads file:// sources .*read only by the Spark engine"):
        engine.compute(resolve_source(url), "2025-Q3", Settings(), as_of=TODAY)
    with pytest.raises(UsageError, match="unknown time zone 'Mars/Olympus'"):
        engine.compute(resolve_source(url), "2025-Q3", Settings(time_zone="Mars/Olympus"), as_of=TODAY, engine=SPARK)
    database = tmp_path / "shop.duckdb"
    duckdb.connect(str(database)).close()
    with pytest.raises(DataError, match="the Spark engine reads a folder of CSV or Parquet files"):
        engine.compute(resolve_source(database), "2025-Q3", Settings(), as_of=TODAY, engine=SPARK)


# --- text read the same way -----------------------------------------------------------------------

DATES = ["2025-07-01", "2025-7-1", "2025/07/01", "2025.07.01", "20250701", "2025", "2025-07", "2025-07-01T10:00", "2025-07-01 10:00:00.123456",
         "2025-07-01T23:30:00Z", "2025-07-01T23:30Z", "2025-07-01T23:30:00+02:00", "2025-07-01T01:30:00-0400", "2025-07-01T01:30:00-04",
         "2025-07-01 23:30:00 +02:00", " 2025-07-01 ", "0/1/1", "2025-02-30", "2025-13-01", "0000-01-01", "10000-01-01", "31/07/2025",
         "Jul 1 2025", "2025-07-01T25:00", "", "NULL", "2025-07-01T23:30:00 UTC", "2025-07-01T23:30:00 Europe/Berlin",
         "2025-07-01T10:00:00+25:00", "2025-07-01T24:00:00", "2025-07-01T23:30 UTC", "2025-07-01T23:30:00.5 America/New_York",
         "2025-07-01T23:30:00 Etc/GMT+5", "2025-07-01 23:30:00  GMT", "2025-07-01T23:30:00 utc", "2025-07-01T23:30:00 CET"]  # fmt: skip
# Text DuckDB reads and Spark refuses (the run stops on Spark, naming the rows; never a different date): zone
# names in another letter case, zone abbreviations (Java may read them as other zones), out-of-range times.
SPARK_REFUSES = {"2025-07-01T23:30:00 utc", "2025-07-01T23:30:00 CET", "2025-07-01T10:00:00+25:00", "2025-07-01T24:00:00"}
AMOUNTS = ["12.50", "-12.5", "+5", ".5", "5.", "1e3", "1E-2", "1.005", "-1.005", "2.675", "12.345", "1,000.00", "€12.00", "0x10", "NaN",
           "Infinity", "  7  ", "9" * 17, "12.5.1", "1.2e400", "- 5", "(5)", "1_000"]  # fmt: skip
SPARK_REFUSES_AMOUNTS = {"1_000"}


def _read_on(choice, query: str, table: str, columns, rows) -> dict:
    with connect(choice) as con:
        con.create_macros((resource_path("sql") / "macros" / "parse.sql").read_text())
        con.create_table(table, columns, rows)
        return {tuple(row[:-1]): row[-1] for row in con.execute(query).fetchall()}


@pytest.mark.slow
def test_dates_and_timestamps_read_as_duckdb_reads_them_or_are_refused(spark_ready):
    rows = [(value, zone) for value in DATES for zone in ("UTC", "America/New_York", "Asia/Kolkata")]
    query = "select value, zone, in_calendar(to_report_date(clean_text(value), zone)) from t"
    duckdb_dates, spark_dates = (_read_on(c, query, "t", [("value", "varchar"), ("zone", "varchar")], rows) for c in (None, SPARK))
    for key, expected in duckdb_dates.items():
        if key[0] in SPARK_REFUSES:
            assert expected is not None and spark_dates[key] is None, key
        else:
            assert spark_dates[key] == expected, key
    assert duckdb_dates[("2025-07-01T23:30:00+02:00", "Asia/Kolkata")] == date(2025, 7, 2)  # converted, not cut


@pytest.mark.slow
def test_amounts_read_as_duckdb_reads_them_or_are_refused(spark_ready):
    query = "select value, try_cast(clean_text(value) as decimal(18, 2)) from t"
    duckdb_amounts, spark_amounts = (_read_on(c, query, "t", [("value", "varchar")], [(a,) for a in AMOUNTS]) for c in (None, SPARK))
    for (value,), expected in duckdb_amounts.items():
        assert spark_amounts[(value,)] == (None if value in SPARK_REFUSES_AMOUNTS else expected), value


TEXTS = ["a", " a", "a ", "  a b  ", " ", "   ", "", "a\t", "\ta", "%", " %_ ", "a  b"]


def test_text_is_trimmed_of_spaces_only():
    cleaned = _read_on(None, "select value, clean_text(value) from t", "t", [("value", "varchar")], [(v,) for v in TEXTS])
    expected = {"a": "a", " a": "a", "a ": "a", "  a b  ": "a b", " ": None, "   ": None, "": None, "a\t": "a\t", "\ta": "\ta", "%": "%",
                " %_ ": "%_", "a  b": "a  b"}  # fmt: skip
    assert cleaned == {(value,): text for value, text in expected.items()}


@pytest.mark.slow
def test_text_is_cleaned_as_duckdb_cleans_it(spark_ready):
    query = "select value, clean_text(value) from t"
    duckdb_texts, spark_texts = (_read_on(c, query, "t", [("value", "varchar")], [(v,) for v in TEXTS]) for c in (None, SPARK))
    assert spark_texts == duckdb_texts


# --- Spark Connect ---------------------------------------------------------------------------------


@pytest.fixture
def connect_server(spark_ready, tmp_path):
    """A Spark Connect server on this machine (PySpark ships it), for the length of one test."""
    connect_client = all(importlib.util.find_spec(m) for m in ("grpc", "pandas", "pyarrow"))
    require_component(connect_client, "Spark Connect's client is not installed: pip install '.[spark]'")
    import pyspark

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    spark_home = Path(pyspark.__file__).parent
    command = [str(spark_home / "bin" / "spark-submit"), "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
               "--master", "local[2]", "--conf", f"spark.connect.grpc.binding.port={port}", "--conf", "spark.ui.enabled=false"]  # fmt: skip
    log = (tmp_path / "connect-server.log").open("wb")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "SPARK_HOME": str(spark_home)},
                              start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and server.poll() is None:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(1)
        else:
            pytest.fail(f"the Spark Connect server did not start: {(tmp_path / 'connect-server.log').read_text()[-2000:]}")
        yield f"sc://127.0.0.1:{port}"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        log.close()


# Run in its own process: once a process has made a Spark Connect session, PySpark builds only Connect
# sessions in it (the command line runs one engine per process; the other tests share a local one).
CONNECT_RUN = """
import json, sys
from datetime import date
from decimal import Decimal
from scorecard import engine, metrics
from scorecard.engines import EngineChoice
from scorecard.settings import Settings
from scorecard.source import resolve_source
result = engine.compute(resolve_source(sys.argv[1]), "2025-Q3", Settings(max_excluded=Decimal("0.5")),
                        as_of=date.fromisoformat(sys.argv[2]), engine=EngineChoice("spark", sys.argv[3]))
print(json.dumps({"document": metrics.to_json(result.document), "master": result.engine["master"]}))
"""


@pytest.mark.slow
def test_spark_connect_gives_the_same_figures(connect_server):
    case = CORPUS / "33-referral-to-unknown-customer-excluded-with-tolerance"
    expected = engine.compute(resolve_source(case), "2025-Q3", Settings(max_excluded=Decimal("0.5")), as_of=TODAY).document
    run = subprocess.run(
        [sys.executable, "-c", CONNECT_RUN, str(case), TODAY.isoformat(), connect_server], capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["document"] == metrics.to_json(expected)
    assert result["master"] == connect_server


# --- the command line -----------------------------------------------------------------------------


@pytest.mark.slow
def test_build_on_spark_writes_the_same_metrics_and_says_which_engine(spark_ready, tmp_path):
    data = make_data(
        tmp_path / "data", [("A", "X"), ("B", "Y")], [("A", "2024-09-01", "120"), ("A", "2025-08-01", "30"), ("B", "2025-08-02", "6")]
    )
    outputs = {}
    for name, engine_args in (("duckdb", []), ("spark", ["--engine", "spark", "--spark-master", SPARK.spark_master])):
        out = tmp_path / name
        result = runner.invoke(
            app, ["build", "-p", "2025-Q3", "--data", str(data), "--out", str(out), "--jobs", "1", "--quiet", *engine_args]
        )
        assert result.exit_code == 0, result.output
        outputs[name] = out / "2025-Q3"
    assert (outputs["spark"] / "metrics.json").read_text() == (outputs["duckdb"] / "metrics.json").read_text()
    manifest = json.loads((outputs["spark"] / "manifest.json").read_text())
    assert manifest["engine"]["name"] == "spark" and manifest["engine"]["master"] == SPARK.spark_master


def _run_without(env_changes: dict, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_changes}
    return subprocess.run([sys.executable, "-m", "scorecard", *args], capture_output=True, text=True, env=env, timeout=120)


def test_missing_java_is_a_one_line_error(tmp_path):
    require_component(importlib.util.find_spec("pyspark") is not None, "pyspark is not installed: pip install '.[spark]'")
    result = _run_without({"JAVA_HOME": str(tmp_path / "no-java")}, "metrics", "-p", "2025-Q3", "--engine", "spark")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: --engine spark needs Java, which was not found: install Java 17 or newer "
        "(Debian/Ubuntu: apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
    ]


def test_missing_pyspark_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text("import sys\nsys.modules['pyspark'] = None\n")  # as if pyspark were not installed
    result = _run_without({"PYTHONPATH": str(tmp_path)}, "metrics", "-p", "2025-Q3", "--engine", "spark")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: --engine spark needs pyspark and sqlglot: pip install '.[spark]' in the scorecard checkout (or pip install 'scorecard[spark]')"
    ]


def test_an_unknown_engine_is_a_usage_error():
    result = runner.invoke(app, ["metrics", "-p", "2025-Q3", "--engine", "oracle"])
    assert result.exit_code == 2
    assert "Error: --engine must be one of duckdb, spark, got 'oracle'" in result.output


def test_the_engine_comes_from_the_config_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("scorecard.toml").write_text('[engine]\nname = "spark"\nspark_master = "local[3]"\n')
    result = runner.invoke(app, ["config"])
    rows = {line.split()[1]: line.split()[2] for line in result.output.splitlines() if line.strip().startswith("[engine]")}
    assert rows == {"name": "spark", "spark_master": "local[3]"}
