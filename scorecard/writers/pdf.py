"""The PDF writers: one scorecard PDF per scope (rendered in parallel processes) and the board pack."""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import multiprocessing
import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from .. import charts, render
from . import BOARD_PACK_SCOPE, BuildContext


def _render_scorecard(document: dict, index: int, target: Path) -> tuple[float, dict[str, str]]:
    """One scorecard to one PDF. Runs in a worker process; returns seconds spent and the chart SVGs
    (the HTML summary inlines the same charts instead of drawing them again)."""
    started = time.perf_counter()
    card = document["scorecards"][index]
    env = render.environment()
    svgs = render.scorecard_chart_svgs(document, card)
    html = render.scorecard_html(document, card, {name: charts.data_uri(svg) for name, svg in svgs.items()}, env)
    render.html_to_pdf(html, target)
    return time.perf_counter() - started, svgs


_PR_SET_PDEATHSIG = 1  # prctl(2)


def _die_with_parent(parent: int) -> None:
    """Render worker initializer: the kernel kills this worker when the build process dies, however it
    dies (SIGKILL included), so no orphaned worker keeps its ~200 MB. Linux only; elsewhere the pool's
    own shutdown on a clean exit or SIGTERM still applies."""
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the call above took effect
        os._exit(1)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Stop a pool at once (a failed or interrupted build): pending jobs are cancelled and running
    workers are killed rather than waited for. Python 3.11 has no public call for the latter."""
    pool.shutdown(wait=False, cancel_futures=True)
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(OSError, AttributeError):
            process.kill()


def _render_all(document: dict, jobs: list[tuple[int, Path]], processes: int, progress=None) -> dict[int, tuple[float, dict]]:
    results: dict[int, tuple[float, dict]] = {}

    def tick(target: Path) -> None:
        if progress:
            progress("render", len(results), len(jobs), target.name)

    if processes <= 1 or len(jobs) < 3:
        for index, target in jobs:
            results[index] = _render_scorecard(document, index, target)
            tick(target)
        return results
    # spawn, not fork (fork-based workers have crashed WeasyPrint upstream). No max_tasks_per_child:
    # on Python 3.11 a pool that recycles its workers can hang for good once they exit (seen here after
    # 2 × 8 scorecards); WeasyPrint's memory stays flat over many documents anyway.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=processes, mp_context=context, initializer=_die_with_parent, initargs=(os.getpid(),))
    try:
        futures = {pool.submit(_render_scorecard, document, index, target): (index, target) for index, target in jobs}
        for future in as_completed(futures):
            index, target = futures[future]
            results[index] = future.result()
            tick(target)
    except BaseException:
        _stop_workers(pool)
        raise
    pool.shutdown()
    return results


class ScorecardPdfs:
    name = "pdf"

    def names(self, context: BuildContext) -> list[str]:
        return [scorecard.stem + ".pdf" for scorecard in context.scorecards]

    def write(self, context: BuildContext, staging: Path) -> list[str]:
        jobs = [(scorecard.index, staging / (scorecard.stem + ".pdf")) for scorecard in context.scorecards]
        results = _render_all(context.document, jobs, context.jobs, context.progress)
        for scorecard in context.scorecards:
            seconds, svgs = results[scorecard.index]
            context.timings[scorecard.stem + ".pdf"] = seconds
            context.chart_svgs[scorecard.segment] = svgs
            context.scopes.setdefault(scorecard.scope, {"title": scorecard.title})["pdf"] = scorecard.stem + ".pdf"
        return [target.name for _, target in jobs]


class BoardPackPdf:
    """Cover and comparison rendered once; the scorecards appended from their finished PDFs."""

    name = "board-pack"

    def names(self, context: BuildContext) -> list[str]:
        return [context.board_pack_stem + ".pdf"]

    def write(self, context: BuildContext, staging: Path) -> list[str]:
        from pypdf import PdfWriter
        from pypdf.generic import ArrayObject, ByteStringObject

        started = time.perf_counter()
        document = context.document
        target = staging / (context.board_pack_stem + ".pdf")
        by_segment = {scorecard.segment: scorecard for scorecard in context.scorecards}
        in_pack_order = [None] + [row["name"] for row in render.comparison(document) if not row["is_company"] and row["name"] in by_segment]
        cover = staging / ".cover.pdf"
        render.html_to_pdf(render.board_pack_html(document, render.environment()), cover)
        writer = PdfWriter()
        writer.append(cover, outline_item="Cover and segment comparison")
        for segment in in_pack_order:
            writer.append(staging / (by_segment[segment].stem + ".pdf"), outline_item=by_segment[segment].title)
        writer.add_metadata(
            {
                "/Title": f"{document['settings']['company_name']} · customer scorecards · {document['period']['label']}",
                "/Author": document["settings"]["company_name"],
            }
        )
        # A fixed document id, so identical inputs give identical bytes.
        seed = hashlib.sha256(context.metrics_json.encode("utf-8")).digest()[:16]
        writer._ID = ArrayObject([ByteStringObject(seed), ByteStringObject(seed)])
        with target.open("wb") as handle:
            writer.write(handle)
        cover.unlink()
        context.timings[target.name] = time.perf_counter() - started
        context.scopes.setdefault(BOARD_PACK_SCOPE, {"title": "Board pack"})["pdf"] = target.name
        return [target.name]
