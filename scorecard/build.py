"""`scorecard build`: metrics → one PDF per scorecard, a board pack, metrics.json/.csv and a manifest,
published atomically into `<out>/<period label>/`."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path

from . import __version__, engine, metrics, outputs, render
from .engines import EngineChoice
from .errors import UsageError
from .settings import Settings
from .source import Source

DEPENDENCIES = ("duckdb", "weasyprint", "altair", "vl-convert-python", "jinja2", "typer", "pypdf")


@dataclass
class BuildOptions:
    out: Path = Path("scorecards")
    segments: list[str] | None = None  # None: every segment gets its PDF
    jobs: int | None = None  # render processes; None: one per core, at most 4
    force: bool = False
    wait: bool = False
    as_of: date | None = None
    require_fresh_days: int | None = None  # stale data (older than this) fails with exit code 3
    progress: Callable[[str, int, int, str], None] | None = None  # (stage, done, total, item)
    engine: EngineChoice | None = None  # where the SQL models run; None: DuckDB


@dataclass
class BuildReport:
    folder: Path
    files: list[str]
    render_seconds: dict[str, float] = field(default_factory=dict)
    metrics_seconds: float = 0.0
    total_seconds: float = 0.0
    skipped: bool = False
    document: dict | None = None


def _render_scorecard(document: dict, index: int, target: Path) -> float:
    """One scorecard to one PDF. Runs in a worker process; returns seconds spent."""
    started = time.perf_counter()
    card = document["scorecards"][index]
    env = render.environment()
    html = render.scorecard_html(document, card, render.scorecard_charts(document, card), env)
    render.html_to_pdf(html, target)
    return time.perf_counter() - started


def _render_all(document: dict, jobs: list[tuple[int, Path]], processes: int, progress=None) -> dict[int, float]:
    seconds: dict[int, float] = {}

    def tick(target: Path) -> None:
        if progress:
            progress("render", len(seconds), len(jobs), target.name)

    if processes <= 1 or len(jobs) < 3:
        for index, target in jobs:
            seconds[index] = _render_scorecard(document, index, target)
            tick(target)
        return seconds
    # spawn, not fork (fork-based workers have crashed WeasyPrint upstream). No max_tasks_per_child:
    # on Python 3.11 a pool that recycles its workers can hang for good once they exit (seen here after
    # 2 × 8 scorecards); WeasyPrint's memory stays flat over many documents anyway.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        futures = {pool.submit(_render_scorecard, document, index, target): (index, target) for index, target in jobs}
        for future in as_completed(futures):
            index, target = futures[future]
            seconds[index] = future.result()
            tick(target)
    return seconds


def _board_pack(document: dict, pdfs: list[tuple[str, Path]], target: Path, staging: Path) -> None:
    """Cover and comparison rendered once; the scorecards appended from their finished PDFs."""
    from pypdf import PdfWriter

    cover = staging / ".cover.pdf"
    render.html_to_pdf(render.board_pack_html(document, render.environment()), cover)
    writer = PdfWriter()
    writer.append(cover, outline_item="Cover and segment comparison")
    for title, path in pdfs:
        writer.append(path, outline_item=title)
    writer.add_metadata(
        {
            "/Title": f"{document['settings']['company_name']} · customer scorecards · {document['period']['label']}",
            "/Author": document["settings"]["company_name"],
        }
    )
    # A fixed document id, so identical inputs give identical bytes.
    seed = hashlib.sha256(metrics.to_json(document).encode("utf-8")).digest()[:16]
    from pypdf.generic import ArrayObject, ByteStringObject

    writer._ID = ArrayObject([ByteStringObject(seed), ByteStringObject(seed)])
    with target.open("wb") as handle:
        writer.write(handle)
    cover.unlink()


def _versions() -> dict[str, str]:
    versions = {"scorecard": __version__, "python": platform.python_version()}
    for name in DEPENDENCIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _fingerprint(metrics_json: str, pdf_names: dict) -> str:
    """What the outputs depend on: the figures, which PDFs, and the tool and library versions."""
    parts = [metrics_json, repr(sorted(pdf_names.values())), repr(sorted(_versions().items()))]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def _unchanged(folder: Path, fingerprint: str) -> bool:
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        return False
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except ValueError:
        return False
    if manifest.get("fingerprint") != fingerprint:
        return False
    return all(
        (folder / entry["name"]).is_file() and outputs.sha256_file(folder / entry["name"]) == entry["sha256"]
        for entry in manifest.get("files", [])
    )


def build(source: Source, period_text: str, settings: Settings, options: BuildOptions) -> BuildReport:
    started = time.perf_counter()
    result = engine.compute(
        source, period_text, settings, as_of=options.as_of, require_fresh_days=options.require_fresh_days, progress=options.progress,
        engine=options.engine,
    )  # fmt: skip
    document = result.document
    metrics_seconds = time.perf_counter() - started
    label = document["period"]["label"]

    cards = document["scorecards"]
    known = [card["segment"] for card in cards if card["segment"] is not None]
    if options.segments:
        unknown = [name for name in options.segments if name not in known]
        if unknown:
            raise UsageError(f"no segment named {unknown[0]!r}; segments in the data: {', '.join(known)}")
    wanted = [None] + [name for name in known if not options.segments or name in options.segments]
    pdf_names = outputs.scorecard_file_names(label, wanted)
    board_pack_name = f"board-pack-{label}.pdf"
    metrics_json = metrics.to_json(document)
    fingerprint = _fingerprint(metrics_json, pdf_names)

    out = options.out.expanduser().resolve()
    with outputs.output_lock(out, wait=options.wait):
        outputs.recover(out, label)
        final = out / label
        if not options.force and _unchanged(final, fingerprint):
            return BuildReport(final, [], {}, metrics_seconds, time.perf_counter() - started, skipped=True, document=document)
        staging = outputs.new_staging_folder(out, label)
        try:
            index_of = {card["segment"]: index for index, card in enumerate(cards)}
            jobs = [(index_of[segment], staging / pdf_names[segment]) for segment in wanted]
            processes = options.jobs or min(4, os.cpu_count() or 1)
            seconds = _render_all(document, jobs, processes, options.progress)
            render_seconds = {pdf_names[cards[index]["segment"]]: value for index, value in seconds.items()}

            in_pack_order = [None] + [row["name"] for row in render.comparison(document) if not row["is_company"] and row["name"] in wanted]
            pdfs = [("Company" if s is None else s, staging / pdf_names[s]) for s in in_pack_order]
            pack_started = time.perf_counter()
            _board_pack(document, pdfs, staging / board_pack_name, staging)
            render_seconds[board_pack_name] = time.perf_counter() - pack_started

            (staging / "metrics.json").write_text(metrics_json, encoding="utf-8")
            (staging / "metrics.csv").write_text(metrics.to_csv(document), encoding="utf-8")
            files = sorted(p.name for p in staging.iterdir())
            manifest = {
                "status": "success",
                "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "period": document["period"],
                "data_through": document["data_through"],
                "source": document["source"],
                "inputs": [
                    {"table": t.name, "location": t.location, "format": t.format, "sha256": t.sha256, "rows": t.rows}
                    for t in source.tables.values()
                ],
                "settings": document["settings"],
                "versions": _versions(),
                "engine": result.engine,
                "fingerprint": fingerprint,
                "files": [
                    {"name": name, "sha256": outputs.sha256_file(staging / name), "bytes": (staging / name).stat().st_size}
                    for name in files
                ],
                "timings_seconds": {"metrics": round(metrics_seconds, 3), **{k: round(v, 3) for k, v in render_seconds.items()}},
                "command": " ".join(["scorecard"] + sys.argv[1:]) if sys.argv else "scorecard",
            }
            outputs.write_json(staging / "manifest.json", manifest)
            final = outputs.publish(staging, out, label)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return BuildReport(final, files + ["manifest.json"], render_seconds, metrics_seconds, time.perf_counter() - started, document=document)
