"""manifest.json, written last: every file with its checksum, the inputs, settings, versions, timings,
and the scopes a reader can be sent (which PDF and HTML summary belong to each)."""

from __future__ import annotations

import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from .. import __version__, outputs
from ..urls import without_password
from . import BuildContext

MANIFEST = "manifest.json"
DEPENDENCIES = (
    "duckdb",
    "typst",
    "jinja2",
    "typer",
    "numpy",
    "scipy",
    "threadpoolctl",
    "babel",
)


def versions() -> dict[str, str]:
    found = {"scorecard": __version__, "python": platform.python_version()}
    for name in DEPENDENCIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


class Manifest:
    name = "manifest"

    def names(self, context: BuildContext) -> list[str]:
        return [MANIFEST]

    def write(self, context: BuildContext, staging: Path) -> list[str]:
        context.finish_typesetting()  # it lists and checksums every other file: they must be whole
        document = context.document
        files = [name for name in outputs.staged_files(staging) if name != MANIFEST]
        manifest = {
            "generator": outputs.GENERATOR,
            "status": "success",
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "period": document["period"],
            "data_through": document["data_through"],
            "source": document["source"],
            "inputs": [
                {"table": t.name, "location": t.location, "format": t.format, "sha256": t.sha256, "rows": t.rows}
                for t in context.source.tables.values()
            ],
            "settings": document["settings"],
            "versions": versions(),
            "engine": context.engine,
            "fingerprint": context.fingerprint,
            "files": [
                {"name": name, "sha256": outputs.sha256_file(staging / name), "bytes": (staging / name).stat().st_size} for name in files
            ],
            "scopes": context.scopes,
            "timings_seconds": {"metrics": round(context.metrics_seconds, 3), **{k: round(v, 3) for k, v in context.timings.items()}},
            "command": without_password(" ".join(["scorecard"] + sys.argv[1:])) if sys.argv else "scorecard",
        }
        outputs.write_json(staging / MANIFEST, manifest)
        return [MANIFEST]
