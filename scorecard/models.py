"""The SQL model runner: every `sql/<name>.sql` file becomes table `<name>`.

The run order is derived from the files themselves: a model depends on every other model (or input
table) whose name appears in its SQL. Macros in `sql/macros/` are created first. Parameters never reach
SQL as text: the caller provides them as the tables `run_settings` and `run_periods`. The models run
on whichever engine the runner is given (scorecard/engines/), always from the same files.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path

from .engines import Engine
from .resources import resource_path

_COMMENT = re.compile(r"--[^\n]*")
_WORD = re.compile(r"[a-z_][a-z0-9_]*")
# `-- sorted by: customer_key, order_date`: column names only, never an expression.
_SORTED_BY = re.compile(r"^--\s*sorted by:\s*([a-z_][a-z0-9_]*(?:\s*,\s*[a-z_][a-z0-9_]*)*)\s*$", re.MULTILINE)

# Tables the caller creates before running models.
INPUT_TABLES = frozenset(
    {"raw_customers", "raw_orders", "raw_referrals", "raw_costs", "run_settings", "run_segments", "run_periods", "run_cohort_periods",
     "run_risk_models"}
)  # fmt: skip
# Created once the period is known (run_risk_models only after the purchase histories are fitted).
PERIOD_TABLES = frozenset({"run_periods", "run_cohort_periods", "run_risk_models"})

# progress(stage, done, total, item): told after each model, so a terminal can show a bar.
Progress = Callable[[str, int, int, str], None]


@dataclass(frozen=True)
class Model:
    name: str
    sql: str
    depends_on: frozenset[str]
    materialized: str  # "table" or "view"
    requires: str | None  # a feature the model only runs with, e.g. "profitability"
    sorted_by: str | None = None  # columns a table's rows may be stored in order of (a hint; no result depends on it)

    @property
    def body(self) -> str:
        """The select statement, without comments or a closing semicolon."""
        return _strip_comments(self.sql).strip().rstrip(";")


def _strip_comments(sql: str) -> str:
    return _COMMENT.sub("", sql)


def discover(folder: Path, inputs: frozenset[str] = INPUT_TABLES) -> dict[str, Model]:
    texts = {path.stem: path.read_text() for path in sorted(folder.glob("*.sql"))}
    known = set(texts) | inputs
    models = {}
    for name, text in texts.items():
        words = set(_WORD.findall(_strip_comments(text).lower()))
        materialized = "view" if re.search(r"^--\s*materialized:\s*view\b", text, re.MULTILINE) else "table"
        requires = re.search(r"^--\s*requires:\s*(\w+)", text, re.MULTILINE)
        sorted_by = _SORTED_BY.search(text)
        models[name] = Model(
            name, text, frozenset((words & known) - {name}), materialized, requires and requires.group(1), sorted_by and sorted_by.group(1)
        )  # fmt: skip
    return models


def run_order(models: dict[str, Model], first: tuple[str, ...] = ()) -> list[str]:
    """A dependency order; the models named in `first`, and what they are built from, as early as it allows."""
    graph = {name: model.depends_on & set(models) for name, model in models.items()}
    order = list(TopologicalSorter(graph).static_order())
    early, stack = set(), [name for name in first if name in models]
    while stack:
        name = stack.pop()
        if name not in early:
            early.add(name)
            stack.extend(graph[name])
    return [name for name in order if name in early] + [name for name in order if name not in early]


class ModelRunner:
    """Runs models in dependency order, as far as the tables present allow."""

    def __init__(self, con: Engine, folder: Path | None = None, inputs: frozenset[str] = INPUT_TABLES, first: tuple[str, ...] = ()):
        self.con = con
        folder = folder or resource_path("sql")
        self.models = discover(folder, inputs)
        self.order = run_order(self.models, first)
        self.done: set[str] = set()
        self.timings: dict[str, float] = {}
        for path in sorted((folder / "macros").glob("*.sql")):
            con.create_macros(path.read_text())

    def release(self, prefixes: tuple[str, ...]) -> None:
        """Drop the models whose names start with `prefixes` (e.g. staging once everything downstream
        of it is built), so memory holds only what later models read."""
        for name in reversed(self.order):
            if name in self.done and name.startswith(prefixes):
                self.con.drop(name, self.models[name].materialized)

    def run(
        self,
        available: set[str],
        progress: Progress | None = None,
        features: frozenset[str] = frozenset(),
        after: dict[str, Callable[[], None]] | None = None,
    ) -> list[str]:
        """Run every model not yet run whose inputs all exist and whose required feature (if any) is
        on; return the names run. `after` maps a model to what to call as soon as it is built."""
        ran = []
        for name in self.order:
            model = self.models[name]
            if name in self.done or not model.depends_on <= (available | self.done):
                continue
            if model.requires and model.requires not in features:
                continue
            started = time.perf_counter()
            self.con.run_model(name, model.body, model.materialized, model.sorted_by)
            self.timings[name] = time.perf_counter() - started
            self.done.add(name)
            ran.append(name)
            if after and name in after:
                after[name]()
            if progress:
                progress("models", len(self.done), len(self.models), name)
        return ran
