"""`scorecard build`: metrics → the output writers (PDF per scorecard, board pack, HTML summaries,
metrics.json/.csv, manifest; see scorecard/writers/), published atomically into `<out>/<period label>/`."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from . import outputs
from .engines import EngineChoice
from .errors import Interrupted, UsageError, excerpt, listing
from .settings import Settings
from .source import Source
from .writers import BuildContext, Scorecard, Writer, default_writers
from .writers.manifest import versions


@dataclass
class BuildOptions:
    out: Path = Path("scorecards")
    segments: list[str] | None = None  # None: every segment gets its PDF
    jobs: int | None = None  # PDFs typeset at once; None: one per core, at most 4
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


def _fingerprint(metrics_json: str, planned: list[str]) -> str:
    """What the outputs depend on: the figures, which files the writers make, and the tool and library versions."""
    parts = [metrics_json, repr(sorted(planned)), repr(sorted(versions().items()))]
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


@contextlib.contextmanager
def _terminate_cleanly():
    """SIGTERM (systemd stopping the unit, `kill`) becomes Interrupted: the staging folder is removed,
    nothing is published, and the CLI exits with 143. A second SIGTERM during that cleanup is ignored.
    The build starts no other process, so even SIGKILL leaves nothing running behind it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Interrupted("the build was stopped (SIGTERM); nothing was published and the previous outputs are as they were")

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def build(source: Source, period_text: str, settings: Settings, options: BuildOptions, writers: list[Writer] | None = None) -> BuildReport:
    with _terminate_cleanly():
        from . import render

        render.check_logo(settings.logo)
        return _build(source, period_text, settings, options, writers)


def _write_all(writers: list[Writer], context: BuildContext, staging: Path) -> list[str]:
    """Every writer in turn, with threads that typeset the PDFs meanwhile (BuildContext.typeset). When
    this returns or raises, no thread is writing into `staging` any more."""
    with ThreadPoolExecutor(max_workers=context.jobs, thread_name_prefix="scorecard-typeset") as typesetter:
        context.typesetter = typesetter
        try:
            files: list[str] = []
            for writer in writers:
                files += writer.write(context, staging)
            context.finish_typesetting()
        except BaseException:
            typesetter.shutdown(cancel_futures=True)  # and the with block waits for what is running
            raise
        finally:
            context.typesetter = None
    return files


def _build(source: Source, period_text: str, settings: Settings, options: BuildOptions, writers: list[Writer] | None) -> BuildReport:
    from . import engine, metrics

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
            raise UsageError(f"no segment named {excerpt(unknown[0])}; segments in the data: {listing(known)}")
    wanted = [None] + [name for name in known if not options.segments or name in options.segments]
    pdf_names = outputs.scorecard_file_names(label, wanted)
    index_of = {card["segment"]: index for index, card in enumerate(cards)}
    writers = default_writers() if writers is None else writers
    context = BuildContext(
        document=document,
        metrics_json=metrics.to_json(document),
        label=label,
        scorecards=[Scorecard(segment, index_of[segment], pdf_names[segment].removesuffix(".pdf")) for segment in wanted],
        source=source,
        jobs=options.jobs or min(4, os.cpu_count() or 1),
        progress=options.progress,
        metrics_seconds=metrics_seconds,
        engine=result.engine,
    )
    context.fingerprint = _fingerprint(context.metrics_json, [name for writer in writers for name in writer.names(context)])

    out = options.out.expanduser().resolve()
    with outputs.os_errors_explained(out), outputs.output_lock(out, wait=options.wait):
        outputs.recover(out, label)
        final = out / label
        outputs.check_replaceable(final)
        if not options.force and _unchanged(final, context.fingerprint):
            return BuildReport(final, [], {}, metrics_seconds, time.perf_counter() - started, skipped=True, document=document)
        staging = outputs.new_staging_folder(out, label)
        try:
            files = _write_all(writers, context, staging)
            final = outputs.publish(staging, out, label)
        except BaseException:
            outputs.discard(staging)
            raise
    return BuildReport(final, sorted(files), dict(context.timings), metrics_seconds, time.perf_counter() - started, document=document)
