"""metrics.json (the document every other output is rendered from) and metrics.csv (one row per figure)."""

from __future__ import annotations

from pathlib import Path

from .. import metrics
from . import BuildContext


class MetricsJson:
    name = "metrics-json"

    def names(self, context: BuildContext) -> list[str]:
        return ["metrics.json"]

    def write(self, context: BuildContext, staging: Path) -> list[str]:
        (staging / "metrics.json").write_text(context.metrics_json, encoding="utf-8")
        return ["metrics.json"]


class MetricsCsv:
    name = "metrics-csv"

    def names(self, context: BuildContext) -> list[str]:
        return ["metrics.csv"]

    def write(self, context: BuildContext, staging: Path) -> list[str]:
        (staging / "metrics.csv").write_text(metrics.to_csv(context.document), encoding="utf-8")
        return ["metrics.csv"]
