"""Output writers: each turns the finished build context into files in the staging folder.

`build` runs them in order (PDFs first: the board pack and the HTML summaries reuse what they made;
the manifest last: it lists and checksums what the others wrote). A new output is a new module here
with one object that has a `name`, says which files it will write (`names`, part of the build's
fingerprint) and writes them (`write`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

# The manifest's `scopes` map names what a reader can be sent: "company", "segment:<name>", "board-pack".
COMPANY_SCOPE = "company"
BOARD_PACK_SCOPE = "board-pack"
SEGMENT_PREFIX = "segment:"


def scope_of(segment: str | None) -> str:
    return COMPANY_SCOPE if segment is None else SEGMENT_PREFIX + segment


@dataclass
class Scorecard:
    """One scorecard to write: its segment (None = company), its index in the document, its file stem."""

    segment: str | None
    index: int
    stem: str  # e.g. scorecard-2025-Q3-company; the PDF and HTML add their suffix

    @property
    def scope(self) -> str:
        return scope_of(self.segment)

    @property
    def title(self) -> str:
        return "Company" if self.segment is None else self.segment


@dataclass
class BuildContext:
    document: dict
    metrics_json: str
    label: str
    scorecards: list[Scorecard]  # company first, then segments in document order
    source: object  # scorecard.source.Source: the inputs, for the manifest
    jobs: int = 1  # documents typeset at once (threads; see `typeset`)
    progress: Callable[[str, int, int, str], None] | None = None
    fingerprint: str = ""
    metrics_seconds: float = 0.0
    engine: dict[str, str] = field(default_factory=dict)  # which engine computed the figures (name, version, where)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per written file
    page_models: dict[str | None, dict] = field(default_factory=dict)  # per segment: its PDF's page model (charts included)
    scopes: dict[str, dict[str, str]] = field(default_factory=dict)  # scope → {"pdf": name, "html": name, "title": …}

    typesetter: ThreadPoolExecutor | None = None  # set by the build while its writers run
    _pending: list[Future] = field(default_factory=list, init=False, repr=False)
    _typeset: int = field(default=0, init=False, repr=False)  # files typeset so far
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def board_pack_stem(self) -> str:
        return f"board-pack-{self.label}"

    def typeset(self, name: str, work: Callable[[], None]) -> None:
        """Run `work` (it typesets and writes the file `name`) on the typesetter's threads while the
        writers go on (Typst releases the interpreter lock), or here and now without a typesetter.
        `finish_typesetting` waits for it, and raises what it raised."""
        if self.typesetter is None:
            self._timed(name, work)
        else:
            self._pending.append(self.typesetter.submit(self._timed, name, work))

    def _timed(self, name: str, work: Callable[[], None]) -> None:
        started = time.perf_counter()
        work()
        with self._lock:
            self.timings[name] = time.perf_counter() - started
            self._typeset += 1
            if self.progress:
                self.progress("render", self._typeset, max(self._typeset, len(self._pending)), name)

    def finish_typesetting(self) -> None:
        """Wait until every file handed to `typeset` is written."""
        for future in self._pending:
            future.result()
        self._pending.clear()


class Writer(Protocol):
    name: str

    def names(self, context: BuildContext) -> list[str]:
        """The files this writer will write (before it runs)."""
        ...

    def write(self, context: BuildContext, staging: Path) -> list[str]:
        """Write into `staging`; return the names written."""
        ...


def default_writers() -> list[Writer]:
    from .html import HtmlSummaries
    from .manifest import Manifest
    from .metrics_files import MetricsCsv, MetricsJson
    from .pdf import BoardPackPdf, ScorecardPdfs

    return [ScorecardPdfs(), BoardPackPdf(), HtmlSummaries(), MetricsJson(), MetricsCsv(), Manifest()]
