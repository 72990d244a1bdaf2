"""DuckDB SQL → Spark SQL (scorecard/engines/spark_sql.py), without Spark: every model and every query
the pipeline runs translates, and anything whose Spark translation is not verified is refused by name.
That Spark then computes the same figures is tests/test_spark_engine.py's job."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

import pytest

from conftest import REPO, record_queries, require_component
from scorecard import engine
from scorecard.errors import DataError
from scorecard.models import discover
from scorecard.resources import resource_path
from scorecard.settings import Settings
from scorecard.source import resolve_source

require_component(importlib.util.find_spec("sqlglot") is not None, "sqlglot is not installed: pip install '.[spark]'")

from scorecard.engines.spark_sql import Translator, UnportableSQL  # noqa: E402

CORPUS = REPO / "tests" / "broken"


@pytest.fixture(scope="module")
def translate() -> Translator:
    translator = Translator()
    for path in sorted((resource_path("sql") / "macros").glob("*.sql")):
        translator.add_macros(path.read_text())
    return translator


@pytest.mark.parametrize("name", sorted(discover(resource_path("sql"))))
def test_every_model_translates(translate, name):
    model = discover(resource_path("sql"))[name]
    spark_sql = translate(model.body, name)
    assert spark_sql.lower().startswith(("select", "with"))
    assert " exclude (" not in spark_sql.lower()  # DuckDB's spelling; Spark's is EXCEPT


def _queries_run(monkeypatch) -> set[str]:
    """Every query the pipeline sends to an engine (validation checks, mart reads, …): recorded from runs on
    the sample and on broken inputs that take each branch of the checks (bad values, duplicates, currencies)."""
    queries = record_queries(monkeypatch)
    engine.compute(resolve_source(None), "2025-Q3", Settings(gross_margin=None), as_of=date(2026, 1, 1))
    for case in ("09-unparseable-order-date", "12-duplicate-customer-id", "19-mixed-currencies", "27-cost-amount-not-a-number"):
        with pytest.raises(DataError):
            engine.check(resolve_source(CORPUS / case), Settings(), as_of=date(2026, 1, 1))
    return set(queries)


def test_every_query_the_pipeline_runs_translates(translate, monkeypatch):
    queries = _queries_run(monkeypatch)
    assert any("mart_scorecards" in q for q in queries) and any("having count(*) > 1" in q for q in queries)
    assert any("cannot" in q or "_given" in q for q in queries)
    for sql in queries:
        translate(sql)


@pytest.mark.parametrize(
    "sql, construct",
    [
        ("select quantile_disc(x, 0.5) from t", "quantile_disc"),
        ("select x, count(*) from t group by all", "GROUP BY ALL"),
        ("select list(x) from t", "array_agg"),
        ("select * replace (x + 1 as x) from t", "REPLACE"),
        ("select x from t qualify row_number() over (order by x) = 1", "qualify"),
        ("select a.x from a asof join b on a.t >= b.t", "ASOF JOIN"),
        ("select a % b from t", "mod"),
        ("select my_new_function(x) from t", "my_new_function"),
        ("select cast(x as hugeint) from t", "INT128"),
        ("select lead(x) over (order by y) from t", "function lead()"),
        ("select date_diff('week', a, b) from t", "date_diff by week"),
        ("select regexp_replace(x, 'a', 'b') from t", "first match only"),
        ("select regexp_replace(x, p, 'b', 'g') from t", "not a literal"),
        ("select round(x, n) from t", "computed number of digits"),
        ("select x from a natural join b", "NATURAL JOIN"),
        ("select x from t union by name select x from u", "UNION BY NAME"),
        ("select (a, b) from t", "row value"),
    ],
)
def test_unverified_constructs_are_refused_by_name(translate, sql, construct):
    with pytest.raises(UnportableSQL) as raised:
        translate(sql, "sql/int_example.sql")
    message = str(raised.value)
    assert "sql/int_example.sql" in message and construct.lower() in message.lower(), message
    assert "no verified Spark translation" in message


def test_division_is_in_doubles_as_in_duckdb(translate):
    # DuckDB divides decimals and integers as DOUBLE; Spark would keep decimals (and round their scale).
    assert translate("select a / nullif(b, 0) as r from t") == "SELECT CAST(a AS DOUBLE) / CAST(NULLIF(b, 0) AS DOUBLE) AS r FROM t"


def test_unordered_row_number_becomes_unique_ids(translate):
    assert translate("select row_number() over () as k, x from t") == "SELECT MONOTONICALLY_INCREASING_ID() AS k, x FROM t"
    # narrowed to 32 bits for DuckDB: Spark's ids need all 64 (a second partition's start at 2^33)
    assert translate("select cast(row_number() over () as integer) as k from t") == "SELECT MONOTONICALLY_INCREASING_ID() AS k FROM t"
    assert translate("select cast(x as integer) as k from t") == "SELECT CAST(x AS INT) AS k FROM t"  # other casts stay
    assert (
        translate("select cast(row_number() over () as varchar) as k from t")
        == "SELECT CAST(MONOTONICALLY_INCREASING_ID() AS STRING) AS k FROM t"
    )
    ordered = translate("select row_number() over (partition by g order by x) as k from t")
    assert "ROW_NUMBER() OVER (PARTITION BY g ORDER BY x" in ordered


def test_timezone_conversion_and_text_to_date(translate):
    spark_sql = translate("select cast(timezone(z, try_cast(v as timestamptz)) as date) from t")
    assert "CAST(FROM_UTC_TIMESTAMP(CASE WHEN v RLIKE" in spark_sql and "AS TIMESTAMP_NTZ) AS DATE)" in spark_sql
    with pytest.raises(UnportableSQL, match="timestamptz"):
        translate("select timezone(z, v) from t")
    guarded = translate("select try_cast(v as date) from t")
    assert guarded.startswith("SELECT CASE WHEN v RLIKE '^") and "TRY_CAST(REGEXP_REPLACE(" in guarded
    # A typed value cast again is not text: no guard.
    assert translate("select try_cast(cast(v as timestamp) as date) from t") == "SELECT TRY_CAST(CAST(v AS TIMESTAMP_NTZ) AS DATE) FROM t"


def test_bits_of_an_integer(translate):
    # The cohorts' bought-in periods as bits of one integer (mart_cohorts): Spark's functions of the same meaning.
    assert translate("select bit_or(1 << p) as b from t") == "SELECT BIT_OR(SHIFTLEFT(1, p)) AS b FROM t"
    assert translate("select ((b >> k) & 1) = 1 as bought from t") == "SELECT ((SHIFTRIGHT(b, k)) & 1) = 1 AS bought FROM t"


def test_like_keeps_its_patterns(translate):
    # clean_text's test for a leading or trailing space: no escape character in the patterns, the same meaning.
    assert translate("select x like ' %' or x like '% ' as padded from t") == "SELECT x LIKE ' %' OR x LIKE '% ' AS padded FROM t"


def test_hash_is_a_64_bit_hash(translate):
    assert translate("select hash(x) as h from t") == "SELECT XXHASH64(x) AS h FROM t"


def test_macros_expand_inline_with_their_arguments():
    translator = Translator()
    translator.add_macros(
        "create or replace macro twice(v) as v * 2;\n-- a comment\ncreate or replace macro plus_twice(a, b) as a + twice(b);"
    )
    assert translator("select plus_twice(x, y + 1) as z from t") == "SELECT (x + ((y + 1) * 2)) AS z FROM t"
    with pytest.raises(UnportableSQL, match="takes 1 arguments, got 2"):
        translator("select twice(x, y) from t")
    with pytest.raises(UnportableSQL, match="only macro definitions"):
        translator.add_macros("create table x (a int)")


def test_the_parse_macros_are_translated(translate):
    spark_sql = translate("select in_calendar(to_report_date(clean_text(v), z)) as d from t")
    assert "to_report_date" not in spark_sql.lower() and "clean_text" not in spark_sql.lower()
    assert "FROM_UTC_TIMESTAMP" in spark_sql and "BETWEEN CAST('0001-01-01' AS DATE)" in spark_sql


def test_models_live_where_the_test_looks():
    assert Path(resource_path("sql")).samefile(REPO / "sql")


def test_month_differences_count_boundaries_as_in_duckdb(translate):
    # DuckDB: 31 January → 1 February is 1 month; Spark's own datediff(month) would say 0.
    assert translate("select date_diff('month', a, b) // 3 as m from t") == (
        "SELECT ((YEAR(b) * 12 + MONTH(b)) - (YEAR(a) * 12 + MONTH(a))) DIV 3 AS m FROM t"
    )


def test_regular_expressions_mean_the_same_in_java(translate):
    # $ is the end of the text (Java's $ also matches before a final line break); \s without the vertical
    # tab; replacement groups as $1; full match anchored at both ends.
    assert translate(r"select regexp_replace(v, '(\d)\s+([+-]\d\d)$', '\1\2') from t") == (
        r"SELECT REGEXP_REPLACE(v, '(\\d)[\\t\\n\\f\\r ]+([+-]\\d\\d)\\z', '$1$2') FROM t"
    )
    assert translate(r"select regexp_full_match(v, '\d{4}|x') from t") == r"SELECT v RLIKE '^(?:\\d{4}|x)\\z' FROM t"
    with pytest.raises(UnportableSQL, match=r"\\w"):
        translate(r"select regexp_full_match(v, '\w+') from t")


def test_strlen_counts_bytes_on_both(translate):
    assert translate("select strlen(v) from t") == "SELECT OCTET_LENGTH(v) FROM t"
