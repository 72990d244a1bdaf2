"""Engines: where the SQL models run. One module per engine, each an `Engine`.

The models in sql/ are written once, in DuckDB's SQL. An engine connects, registers the input tables
as `raw_<table>` (see scorecard/source.py for their shape), creates the parameter tables (`run_settings`,
`run_periods`, …) from data, runs a model as a table or view, and answers queries — the validation
checks and the reads of the (small) mart tables — with rows, the way a DuckDB cursor does. Everything
after the marts (metrics.json, PDFs) happens locally, whatever the engine.

    duckdb  the default: an in-process DuckDB database (scorecard/engines/duckdb.py)
    spark   Apache Spark, local or on a cluster, also through Spark Connect (scorecard/engines/spark.py)
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import UsageError

ENGINES = ("duckdb", "spark")
DEFAULT_SPARK_MASTER = "local[*]"


@dataclass(frozen=True)
class EngineChoice:
    """Which engine runs the models, and for Spark, where (local[N], spark://…, yarn, sc://host:15002);
    the master is ignored by the other engines."""

    name: str = "duckdb"
    spark_master: str | None = None

    def __post_init__(self) -> None:
        if self.name not in ENGINES:
            raise UsageError(f"--engine must be one of {', '.join(ENGINES)}, got {self.name!r}")


class Cursor(Protocol):
    """What a query returns: DuckDB's cursor, or the Spark engine's collected rows."""

    description: Sequence[Sequence[Any]]

    def fetchone(self) -> tuple | None: ...

    def fetchall(self) -> list[tuple]: ...

    def fetchnumpy(self) -> dict[str, Any]:
        """Column name → NumPy array (for the at-risk fits, which read many rows)."""


class Engine(Protocol):
    """The seam between the metric pipeline (scorecard/engine.py) and a SQL engine.

    All SQL handed to an engine is DuckDB SQL; an engine that speaks another dialect translates it."""

    name: str

    def load(self, source, segment_by: str) -> None:
        """Read every input table of `source` into `raw_<table>`; record what was found in source.tables."""

    def within_limits(self) -> AbstractContextManager:
        """Around a run: the engine's resource errors (out of memory) become one-line ScorecardErrors."""

    def lock_down(self, source) -> None:
        """From here on, SQL may read only what the source still needs (where the engine can enforce it)."""

    def known_time_zone(self, name: str) -> bool: ...

    def create_table(self, name: str, columns: Sequence[tuple[str, str]], rows: Sequence[tuple]) -> None:
        """A small parameter table from data: columns as (name, DuckDB type) pairs."""

    def create_macros(self, sql: str) -> None:
        """SQL macros (`create or replace macro …`) the models call."""

    def run_model(self, name: str, sql: str, materialized: str, sorted_by: str | None = None) -> None:
        """Create table or view `name` from a model's select statement. `sorted_by` (columns) is a hint the
        engine may use to store a table's rows in that order; no result depends on it."""

    def drop(self, name: str, materialized: str) -> None: ...

    def may_repeat(self, table: str, column: str) -> bool:
        """Whether two non-null values of `column` in `table` may be equal. False proves every value unique;
        True says two of them share a 64-bit hash (the unique-key checks then compare the values)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        """Run a query (DuckDB SQL, `?` parameters) and return its rows."""

    def describe(self) -> dict[str, str]:
        """Name, version (and where it ran) for the manifest."""

    def close(self) -> None: ...

    def __enter__(self) -> Engine: ...

    def __exit__(self, *exc_info) -> None: ...


def connect(choice: EngineChoice | None = None) -> Engine:
    """A fresh engine of the chosen kind, private to one run."""
    choice = choice or EngineChoice()
    if choice.name == "spark":
        from .spark import SparkEngine

        return SparkEngine(choice.spark_master)
    from .duckdb import DuckDBEngine

    return DuckDBEngine()
