"""The Spark engine: the same SQL models, run by Apache Spark (local, on a cluster, or through Spark Connect).

Everything heavy runs as Spark SQL: reading the files, staging, the validation checks and every model.
Only query results come back to this process — the validation findings and the marts, which are small —
and metrics.json, the PDFs and everything after them are made locally, exactly as with DuckDB.

- Inputs: a folder of customers/orders/referrals/costs as CSV or Parquet, at a local path or any URL
  Spark can read (s3a://…, hdfs://…, abfss://…). A table may also be a folder of part files (as Spark
  writes them). CSV columns arrive as text, Parquet columns typed, in `raw_<table>` of the same shape as
  DuckDB's (scorecard/source.py), with `_row` numbering the rows from 1 in file order.
- SQL: the models' DuckDB SQL is translated by scorecard/engines/spark_sql.py.
- Parameters (run_settings, run_periods, …) are temporary views made from data.
- A model materialised as a table is computed once and checkpointed (its lineage cut), so it is never
  recomputed differently; views stay lazy.
- Each run gets its own Spark session (temporary views are private to it); the Spark context, which
  takes seconds to start, is shared by the runs of one process.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import logging
import os
import re
import shutil
import subprocess
import sys
import zoneinfo
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import DataError, ScorecardError, UsageError
from ..loaders.files import checked_header, csv_header
from ..outputs import sha256_file
from ..source import OPTIONAL_TABLES, TABLES, InputTable, Source, empty_table, standard_columns
from ..urls import is_url
from . import DEFAULT_SPARK_MASTER
from .spark_sql import Translator, UnportableSQL

INSTALL_PYSPARK = "pip install '.[spark]' in the scorecard checkout (or pip install 'scorecard[spark]')"
INSTALL_JAVA = "install Java 17 or newer (Debian/Ubuntu: apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
FILE_SUFFIXES = (".csv", ".parquet")
# Columns the reader adds next to the file's own: which file, and the row's position in it.
_FILE, _INDEX = "_scorecard_file", "_scorecard_index"
_LOG4J = Path(__file__).with_name("spark-log4j2.properties")
_RETAIN_FRACTION_DIGITS = "spark.sql.legacy.decimal.retainFractionDigitsOnTruncate"

_contexts: dict[str, Any] = {}  # master → the process's classic SparkSession (one Spark context per process)


def _require_pyspark(connect: bool) -> None:
    if importlib.util.find_spec("pyspark") is None or importlib.util.find_spec("sqlglot") is None:
        raise ScorecardError(f"--engine spark needs pyspark and sqlglot: {INSTALL_PYSPARK}")
    if connect and any(importlib.util.find_spec(module) is None for module in ("grpc", "pandas", "pyarrow")):
        raise ScorecardError(f"Spark Connect (sc://…) needs pyspark's connect client: {INSTALL_PYSPARK}")


def _java_version() -> int | None:
    """The major version of the Java that Spark will start (JAVA_HOME first, as spark-submit does)."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        return None
    try:
        output = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', output)
    if not found:
        return None
    major = int(found.group(1))
    return int(found.group(2)) if major == 1 and found.group(2) else major  # "1.8" is Java 8


def _local_cores(master: str) -> int | None:
    found = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\d+)?\])?", master)
    if not found:
        return None
    return (os.cpu_count() or 1) if found.group(1) in (None, "*") else int(found.group(1))


def _under_spark_submit() -> bool:
    """Started by spark-submit (or the pyspark shell): Spark is already running, with its own master."""
    return bool(os.environ.get("PYSPARK_GATEWAY_PORT"))


def default_master() -> str | None:
    """local[*], or local[N] with $SCORECARD_THREADS; None under spark-submit, whose --master applies."""
    if _under_spark_submit():
        return None
    threads = os.environ.get("SCORECARD_THREADS")
    if threads:
        if not threads.isdigit() or int(threads) < 1:
            raise UsageError("SCORECARD_THREADS must be a whole number and SCORECARD_MEMORY_LIMIT a size like 4GB")
        return f"local[{threads}]"
    return DEFAULT_SPARK_MASTER


def _classic_session(master: str | None):
    """The process's Spark context for `master`, started once; each run takes a new session of it."""
    from pyspark.sql import SparkSession

    key = master or "spark-submit"
    if key in _contexts:
        return _contexts[key]
    if _contexts:
        raise UsageError(f"this process already runs Spark with master {next(iter(_contexts))}; one master per process")
    if master is None:  # inside spark-submit: its session, its master and its configuration
        _contexts[key] = SparkSession.builder.getOrCreate()
        return _contexts[key]
    version = _java_version()
    if version is None:
        raise ScorecardError(f"--engine spark needs Java, which was not found: {INSTALL_JAVA}")
    if version < 17:
        raise ScorecardError(f"--engine spark needs Java 17 or newer, found Java {version}: {INSTALL_JAVA}")
    builder = SparkSession.builder.master(master).appName("scorecard")
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    if not os.environ.get("SCORECARD_SPARK_LOG_LEVEL"):
        builder = builder.config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={_LOG4J.as_uri()}")
    if _local_cores(master):
        builder = builder.config("spark.ui.enabled", "false")
        if os.environ.get("SCORECARD_MEMORY_LIMIT"):  # the one memory knob, as for DuckDB
            builder = builder.config("spark.driver.memory", os.environ["SCORECARD_MEMORY_LIMIT"].lower().removesuffix("b"))
    try:
        with _jvm_stderr_silenced():
            session = builder.getOrCreate()
    except Exception as error:
        raise ScorecardError(f"Spark did not start with master {master} ({_first_line(error)}); check the master URL and Java") from None
    session.sparkContext.setLogLevel(os.environ.get("SCORECARD_SPARK_LOG_LEVEL", "OFF"))
    _contexts[key] = session
    return session


@contextlib.contextmanager
def _jvm_stderr_silenced():
    """The JVM inherits stderr when it starts and writes notes there ("Using incubator modules…") that
    are not errors; the tool reports errors itself. SCORECARD_SPARK_LOG_LEVEL keeps them."""
    if os.environ.get("SCORECARD_SPARK_LOG_LEVEL"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:200]


def _quiet_python_logs() -> None:
    """pyspark logs every failed query as JSON on stderr; the tool reports errors itself, in one line."""
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger", "py4j"):
        logging.getLogger(name).disabled = not os.environ.get("SCORECARD_SPARK_LOG_LEVEL")


class _Rows:
    """Collected query results with the part of a DuckDB cursor's interface the pipeline uses."""

    def __init__(self, columns: list[str], rows: list[tuple]) -> None:
        self.description = [(name,) for name in columns]
        self._rows = rows

    def fetchone(self) -> tuple | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[tuple]:
        return list(self._rows)

    def fetchnumpy(self) -> dict[str, Any]:
        import numpy as np

        columns = list(zip(*self._rows, strict=True)) if self._rows else [() for _ in self.description]
        return {name: np.asarray(values) for (name,), values in zip(self.description, columns, strict=True)}


class SparkEngine:
    name = "spark"

    def __init__(self, master: str | None = None) -> None:
        master = master or default_master()
        connect = master is not None and master.startswith("sc://")
        _require_pyspark(connect)
        _quiet_python_logs()
        self.master = master
        if connect:
            from pyspark.sql import SparkSession

            try:
                self.spark = SparkSession.builder.remote(master).create()
                _ = self.spark.version  # the first call to the server
            except Exception as error:
                raise ScorecardError(
                    f"cannot reach Spark Connect at {master} ({_first_line(error)}); check the URL and that the server runs"
                ) from None
        else:
            self.spark = _classic_session(master).newSession()
        self.connect = connect
        conf = {
            "spark.sql.session.timeZone": "UTC",  # as DuckDB's: dates never shift with the machine's zone
            "spark.sql.ansi.enabled": "true",  # errors on overflow instead of NULLs, as DuckDB
            "spark.sql.decimalOperations.allowPrecisionLoss": "false",  # keep DuckDB's decimal scales
            "spark.sql.parquet.inferTimestampNTZ.enabled": "true",  # naive Parquet timestamps stay naive
        }
        cores = _local_cores(master) if master else None
        if cores:  # small local runs: a few shuffle partitions, not 200
            conf["spark.sql.shuffle.partitions"] = str(max(2, 2 * cores))
        for key, value in conf.items():
            self.spark.conf.set(key, value)
        self.translate = Translator()
        self.frames: dict[str, Any] = {}

    # --- inputs ------------------------------------------------------------------------------------

    def load(self, source: Source, segment_by: str) -> None:
        if source.loader is not None and source.loader.name != "files":
            raise DataError(
                f"{source.location}: the Spark engine reads a folder of CSV or Parquet files (a local folder, or a URL "
                f"like s3a://bucket/exports); export the tables of this {source.loader.name} source to Parquet, or use --engine duckdb"
            )
        folder = str(source.location).rstrip("/")
        missing, problems = [], []
        for table in TABLES:
            found = self._find(folder, table)
            if found is None:
                if table not in OPTIONAL_TABLES:
                    missing.append(table)
                continue
            location, suffix = found
            local = Path(location) if not is_url(location) else None
            digest = sha256_file(local) if local is not None and local.is_file() else None
            source.tables[table] = InputTable(table, location, suffix.lstrip("."), sha256=digest)
        if missing:
            raise DataError([f"{source.location}: no {table}.csv or {table}.parquet; the {table} table is required" for table in missing])
        for table in TABLES:
            if table in source.tables:
                problems += self._register(source.tables[table], segment_by)
            else:
                self._view(f"raw_{table}", self.spark.sql(self.translate(empty_table(table))))
        if problems:
            raise DataError(problems)

    def _find(self, folder: str, table: str) -> tuple[str, str] | None:
        found = [(f"{folder}/{table}{suffix}", suffix) for suffix in FILE_SUFFIXES if self._exists(f"{folder}/{table}{suffix}")]
        if len(found) > 1:
            raise DataError(f"{folder}: both {table}.csv and {table}.parquet exist; keep one {table} file so it is clear which to read")
        return found[0] if found else None

    def _exists(self, location: str) -> bool:
        if not is_url(location):
            return Path(location).exists()
        try:
            _ = self.spark.read.format("text").load(location).schema  # lists the path; no data is read
            return True
        except Exception as error:
            if "PATH_NOT_FOUND" in str(error) or "does not exist" in str(error):
                return False
            raise DataError(f"{location}: cannot be read by Spark ({_first_line(error)}); check the URL and its credentials") from None

    def _register(self, table: InputTable, segment_by: str) -> list[str]:
        """Read one table into `raw_<table>`; return the structural problems (missing columns…)."""
        from pyspark.sql import functions as F

        frame = self._read_csv(table) if table.format == "csv" else self._read_parquet(table)
        # Text (with its zone) for instants: DuckDB reads a zoned timestamp as text with its offset too,
        # and converts it to the report time zone in staging.
        types = {}
        for field in frame.schema.fields:
            if field.name in (_FILE, _INDEX):
                continue
            kind = _duckdb_type(field.dataType)
            if kind == "TIMESTAMP WITH TIME ZONE":
                frame = frame.withColumn(field.name, F.date_format(_column(field.name), "yyyy-MM-dd HH:mm:ss.SSSSSSXXX"))
                kind = "VARCHAR"
            types[field.name] = kind
        table.columns = list(types)
        frame, table.rows = self._number_rows(table, frame)
        self._view(f"src_{table.name}", frame)
        selected, problems = standard_columns(table, types, segment_by)
        if problems:
            return problems
        sql = f"select _row, {', '.join(selected)} from src_{table.name}"
        self._view(f"raw_{table.name}", self.spark.sql(self.translate(sql, f"raw_{table.name}")))
        return []

    def _read_csv(self, table: InputTable):
        from pyspark.sql import functions as F
        from pyspark.sql.types import StringType, StructField, StructType

        if is_url(table.location):
            first = self.spark.read.format("text").load(table.location).limit(1).collect()
            header = checked_header(table.location, next(csv.reader([first[0][0].lstrip("\ufeff")]), None) if first else None)
        elif Path(table.location).is_dir():  # part files: each has the header, and it must be the same
            parts = [path for path in sorted(Path(table.location).iterdir()) if path.is_file() and not path.name.startswith(("_", "."))]
            headers = {str(path): csv_header(path) for path in parts}
            header = next(iter(headers.values()), None) or checked_header(table.location, None)
            for path, other in headers.items():
                if other != header:
                    raise DataError(
                        f"{path}: its header differs from the other part files' ({', '.join(header)}); give every part the same columns"
                    )
        else:
            header = csv_header(Path(table.location))
        # The same contract as DuckDB's reader: comma, double quotes (doubled inside quotes), a header line,
        # every column as text, quoted line breaks allowed, and a malformed line stops the read.
        schema = StructType([StructField(name, StringType()) for name in header])
        reader = self.spark.read.schema(schema).options(
            header="true", sep=",", quote='"', escape='"', multiLine="true", mode="FAILFAST", encoding="UTF-8", enforceSchema="true"
        )
        frame = reader.csv(table.location).select(
            "*", F.col("_metadata.file_path").alias(_FILE), F.monotonically_increasing_id().alias(_INDEX)
        )
        try:
            # Parsed once; the checkpoint keeps the row positions fixed for numbering.
            frame = frame.localCheckpoint(eager=True)
        except Exception as error:
            raise DataError(
                f"{table.location}: cannot be read as a comma-separated CSV file ({_csv_problem(error)}); fix the file or re-export it"
            ) from None
        return frame

    def _read_parquet(self, table: InputTable):
        from pyspark.sql import functions as F

        try:
            frame = self.spark.read.parquet(table.location)
            _ = frame.schema  # reads the footers now, so a bad file fails here
        except Exception:
            raise DataError(f"{table.location}: not a readable Parquet file; re-export it as Parquet or CSV") from None
        return frame.select("*", F.col("_metadata.file_path").alias(_FILE), F.col("_metadata.row_index").alias(_INDEX))

    def _number_rows(self, table: InputTable, frame):
        """Add `_row`: 1, 2, … in file order (files in name order), as DuckDB numbers the rows it reads.
        For CSV, also stop on text that was not UTF-8 (Spark's reader replaces such bytes with U+FFFD)."""
        from pyspark.sql import functions as F

        text_columns = [_column(name) for name in table.columns] if table.format == "csv" else []
        replaced = F.min(F.when(F.concat_ws("\u0001", *text_columns).contains("\ufffd"), F.col(_INDEX))) if text_columns else F.lit(None)
        try:
            files = (
                frame.groupBy(_FILE)
                .agg(F.count(F.lit(1)).alias("rows"), F.min(_INDEX).alias("first"), replaced.alias("replaced"))
                .collect()
            )
        except Exception:
            raise DataError(f"{table.location}: not a readable {table.format.upper()} file; re-export it as Parquet or CSV") from None
        offsets, total, bad_rows = [], 0, []
        for file in sorted(files, key=lambda row: row[_FILE]):
            offsets.append((file[_FILE], total + 1 - file["first"]))
            if file["replaced"] is not None:
                bad_rows.append(total + 1 + file["replaced"] - file["first"])
            total += file["rows"]
        if bad_rows:
            raise DataError(f"{table.location}: not a UTF-8 text CSV file (row {bad_rows[0]}); export it as CSV (UTF-8) with a header line")
        if len(offsets) <= 1:
            offset = offsets[0][1] if offsets else 1
            numbered = frame.withColumn("_row", F.col(_INDEX) + F.lit(offset))
        else:
            starts = self.spark.createDataFrame(offsets, f"{_FILE} string, _offset bigint")
            numbered = frame.join(F.broadcast(starts), _FILE).withColumn("_row", F.col(_INDEX) + F.col("_offset")).drop("_offset")
        return numbered, total

    # --- parameters, models, queries --------------------------------------------------------------

    def within_limits(self):
        """Spark reports its own resource errors (they name the executor and the setting to raise)."""
        return contextlib.nullcontext()

    def lock_down(self, source: Source) -> None:
        """Nothing to do: Spark runs only the tool's own SQL, and reads what the deployment lets it read."""

    def known_time_zone(self, name: str) -> bool:
        names = zoneinfo.available_timezones()
        if names and name not in names:
            return False
        try:
            self.spark.sql("select from_utc_timestamp(timestamp'2000-01-01 00:00:00', ?)", args=[name]).collect()
        except Exception:
            return False
        return True

    def create_table(self, name: str, columns: Sequence[tuple[str, str]], rows: Sequence[tuple]) -> None:
        import sqlglot

        schema = ", ".join(f"{column} {sqlglot.exp.DataType.build(kind, dialect='duckdb').sql('spark')}" for column, kind in columns)
        self._view(name, self.spark.createDataFrame([tuple(row) for row in rows], schema))

    def create_macros(self, sql: str) -> None:
        self.translate.add_macros(sql)

    def run_model(self, name: str, sql: str, materialized: str, sorted_by: str | None = None) -> None:
        # sorted_by is not used: Spark groups by shuffling rows to their key's partition whatever their
        # stored order, and a global sort would cost a shuffle of its own.
        translated = self.translate(sql, name)
        if materialized == "view" and "monotonically_increasing_id" in translated.lower():
            raise UnportableSQL(f"{name}: a model numbering rows without an order must be a table, not a view, on Spark")
        self._check_decimal_types(name, translated)
        frame = self.spark.sql(translated)
        _check_no_intervals(name, frame.schema)
        if materialized == "table":
            frame = frame.localCheckpoint(eager=True)
        self._view(name, frame)

    def _check_decimal_types(self, name: str, sql: str) -> None:
        """Refuse a model that compares or combines decimals whose common type would need more than 38
        digits (e.g. DECIMAL(38, 2) with DECIMAL(38, 8)): Spark then rounds to the smaller scale, where
        DuckDB compares exactly. Found by analysing the model twice, with Spark keeping integral digits
        and with it keeping fraction digits: the plans differ exactly there. (Classic Spark only: Spark
        Connect does not show the analysed plan; the tests run classic Spark.)"""
        if self.connect:
            return
        plans = []
        try:
            for keep_fraction in ("true", "false"):
                self.spark.conf.set(_RETAIN_FRACTION_DIGITS, keep_fraction)
                plan = self.spark.sql(sql)._jdf.queryExecution().analyzed().toString()
                plans.append(re.sub(r"#\d+L?|(?<=CTERelationDef )\d+|(?<=CTERelationRef )\d+", "", plan))  # ids differ per analysis
        finally:
            self.spark.conf.set(_RETAIN_FRACTION_DIGITS, "false")
        if plans[0] != plans[1]:
            raise UnportableSQL(
                f"{name}: compares or combines decimals whose common type needs more than 38 digits, which Spark rounds to the "
                "smaller scale; cast both sides to one decimal type (e.g. decimal(38, 8))"
            )

    def drop(self, name: str, materialized: str) -> None:
        self.frames.pop(name, None)
        self.spark.catalog.dropTempView(name)

    def may_repeat(self, table: str, column: str) -> bool:
        # Grouped by hash, the work spreads over the cluster; one sorted window, as DuckDB does it, would not.
        shared_hash = f"select 1 from {table} where {column} is not null group by hash({column}) having count(*) > 1 limit 1"
        return self.execute(shared_hash).fetchone() is not None

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> _Rows:
        translated = self.translate(sql)
        frame = self.spark.sql(translated, args=list(parameters)) if parameters else self.spark.sql(translated)
        return _Rows(frame.columns, [tuple(row) for row in frame.collect()])

    def _view(self, name: str, frame) -> None:
        frame.createOrReplaceTempView(name)
        self.frames[name] = frame

    def describe(self) -> dict[str, str]:
        return {
            "name": self.name,
            "version": self.spark.version,
            "master": self.master or self.spark.conf.get("spark.master", "spark-submit"),
        }

    def close(self) -> None:
        for name in list(self.frames):
            self.drop(name, "table")
        if self.connect:
            self.spark.stop()  # the Connect session only; the server runs on

    def __enter__(self) -> SparkEngine:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _check_no_intervals(name: str, schema) -> None:
    """DuckDB subtracts dates to a number of days, Spark to an interval: a model whose result holds an
    interval subtracted dates, which must be written date_diff('day', a, b) to mean the same on both."""
    from pyspark.sql import types

    for field in schema.fields:
        if isinstance(field.dataType, types.DayTimeIntervalType | types.YearMonthIntervalType | types.CalendarIntervalType):
            raise UnportableSQL(f"{name}: column {field.name} is an interval on Spark (dates subtracted?); write date_diff('day', a, b)")


def _column(name: str):
    """A column by its exact name, whatever characters it holds (dots, spaces, backticks)."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def _duckdb_type(data_type) -> str:
    """The DuckDB name of a Spark column type, as scorecard/source.py expects them."""
    from pyspark.sql import types

    simple = {
        types.DateType: "DATE", types.TimestampNTZType: "TIMESTAMP", types.TimestampType: "TIMESTAMP WITH TIME ZONE",
        types.DoubleType: "DOUBLE", types.FloatType: "FLOAT", types.IntegerType: "INTEGER", types.LongType: "BIGINT",
        types.ShortType: "SMALLINT", types.ByteType: "TINYINT", types.StringType: "VARCHAR", types.BooleanType: "BOOLEAN",
    }  # fmt: skip
    if isinstance(data_type, types.DecimalType):
        return f"DECIMAL({data_type.precision},{data_type.scale})"
    return simple.get(type(data_type), data_type.simpleString().upper())


def _csv_problem(error: BaseException) -> str:
    """Spark's reason a CSV file could not be parsed, cut to what a person needs."""
    message = str(error)
    record = re.search(r"Malformed records are detected in record parsing[^\n]*", message)
    if record:
        return "a line does not match the header: check for unbalanced quotes or stray commas"
    return _first_line(error)
