"""The PDF writers: one scorecard PDF per scope (rendered in parallel processes) and the board pack."""

from __future__ import annotations

import hashlib
import io
import re
import time
from concurrent.futures import as_completed
from pathlib import Path

from .. import chart_markup, render
from . import BOARD_PACK_SCOPE, BuildContext
from .workers import RenderWorkers


def _render_scorecard(document: dict, index: int, target: Path) -> tuple[float, dict[str, str], dict]:
    """One scorecard to one PDF. Runs in a worker process; returns seconds spent, the chart SVGs (the
    HTML summary inlines the same charts instead of drawing them again) and the PDF's outline (pages
    and sections: the board pack's contents)."""
    from .. import charts, printing  # Altair and WeasyPrint: loaded in the render workers only

    started = time.perf_counter()
    card = document["scorecards"][index]
    env = render.environment()
    svgs = charts.for_scorecard(document, card)
    html = render.scorecard_html(document, card, {name: chart_markup.data_uri(svg) for name, svg in svgs.items()}, env)
    rendered = printing.html_to_pdf(html, target)
    outline = {"pages": len(rendered.pages), "sections": _sections(rendered.make_bookmark_tree())}
    return time.perf_counter() - started, svgs, outline


def _sections(bookmarks: list, sections: list | None = None) -> list[dict]:
    """A scorecard's sections (every bookmark but its title) with their pages (from 0), in order."""
    sections = [] if sections is None else sections
    for label, (page, _, _), children, _ in bookmarks:
        if not label.endswith("customers gained versus lost"):
            sections.append({"title": label, "page": page})
        _sections(children, sections)
    return sections


def _render_front(html: str) -> bytes:
    """The board pack's own pages as PDF bytes (in a render worker, while the build reads the scorecards)."""
    from .. import printing

    buffer = io.BytesIO()
    printing.html_to_pdf(html, buffer)
    return buffer.getvalue()


def _render_all(
    document: dict, jobs: list[tuple[int, Path]], workers: RenderWorkers | None, progress=None
) -> dict[int, tuple[float, dict]]:
    results: dict[int, tuple[float, dict]] = {}

    def tick(target: Path) -> None:
        if progress:
            progress("render", len(results), len(jobs), target.name)

    if workers is None:
        for index, target in jobs:
            results[index] = _render_scorecard(document, index, target)
            tick(target)
        return results
    try:
        futures = {workers.pool.submit(_render_scorecard, document, index, target): (index, target) for index, target in jobs}
        for future in as_completed(futures):
            index, target = futures[future]
            results[index] = future.result()
            tick(target)
    except BaseException:
        workers.stop()
        raise
    return results


class ScorecardPdfs:
    name = "pdf"

    def names(self, context: BuildContext) -> list[str]:
        return [scorecard.stem + ".pdf" for scorecard in context.scorecards]

    def write(self, context: BuildContext, staging: Path) -> list[str]:
        jobs = [(scorecard.index, staging / (scorecard.stem + ".pdf")) for scorecard in context.scorecards]
        results = _render_all(context.document, jobs, context.workers, context.progress)
        for scorecard in context.scorecards:
            seconds, svgs, outline = results[scorecard.index]
            context.timings[scorecard.stem + ".pdf"] = seconds
            context.chart_svgs[scorecard.segment] = svgs
            context.outlines[scorecard.segment] = outline
            context.scopes.setdefault(scorecard.scope, {"title": scorecard.title})["pdf"] = scorecard.stem + ".pdf"
        return [target.name for _, target in jobs]


def _contents(pdfs: list[tuple[str, Path]]) -> list[dict]:
    """Per scorecard PDF: its title in the pack, pages, and its sections (bookmarks) by page."""
    from pypdf import PdfReader

    contents = []
    for number, (title, path) in enumerate(pdfs, start=1):
        reader = PdfReader(path)
        sections = []

        def walk(items, reader=reader, sections=sections):
            for item in items:
                if isinstance(item, list):
                    walk(item)
                elif item.title and not item.title.endswith("customers gained versus lost"):
                    sections.append({"title": item.title, "page": reader.get_destination_page_number(item)})

        walk(reader.outline)
        contents.append(
            {"title": title, "anchor": f"scorecard-{number}", "pages": len(reader.pages), "sections": sections, "reader": reader}
        )
    return contents


def _read(path: Path):
    """A scorecard PDF, with every object its pages use already read (they are then cloned into the pack)."""
    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    reader = PdfReader(path)
    seen: set[int] = set()

    def resolve(item) -> None:
        if isinstance(item, IndirectObject):
            if item.idnum in seen:
                return
            seen.add(item.idnum)
            item = item.get_object()
        if isinstance(item, DictionaryObject):
            for value in item.values():
                resolve(value)
        elif isinstance(item, ArrayObject):
            for value in item:
                resolve(value)

    for page in reader.pages:
        resolve(page.get("/Resources"))
        resolve(page.get("/Contents"))
    return reader


_TEXT_BLOCK = re.compile(rb"\nBT\n1 0 0 -1 ([0-9.]+) ([0-9.]+) Tm\n.*?\nET(?=\n|$)", re.S)


def _without_page_number(content: bytes, mediabox) -> bytes:
    """The scorecard page's content without its own "Page x of y": WeasyPrint draws each margin box as a
    text block positioned in CSS pixels (y downwards); the page number is the one in the bottom margin's
    right half. The pack prints its own number there instead."""
    width, height = float(mediabox.width) / 0.75, float(mediabox.height) / 0.75  # points → CSS pixels
    bottom_margin = 14 / 25.4 * 96  # 14 mm, as the stylesheet's @page margin

    def drop(block: re.Match) -> bytes:
        x, y = float(block.group(1)), float(block.group(2))
        return b"" if y > height - bottom_margin and x > width / 2 else block.group(0)

    return _TEXT_BLOCK.sub(drop, content)


def _lay_under(writer, page, underneath) -> None:
    """Draw page `underneath` (from another PDF) beneath the content of `page`: it becomes a form XObject of
    the writer, so its resources keep their own names and no content stream is parsed or rewritten."""
    from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject

    form = DecodedStreamObject()
    contents = underneath.get_contents()
    form.set_data(_without_page_number(contents.get_data(), underneath.mediabox) if contents is not None else b"")
    form[NameObject("/Type")] = NameObject("/XObject")
    form[NameObject("/Subtype")] = NameObject("/Form")
    form[NameObject("/BBox")] = ArrayObject(underneath.mediabox)
    form[NameObject("/Resources")] = underneath["/Resources"].get_object().clone(writer)
    form_reference = writer._add_object(form.flate_encode())

    # The pack's pages share one resource dictionary: each gets its own, naming its own scorecard page.
    resources = DictionaryObject(page["/Resources"].get_object())
    xobjects = DictionaryObject(resources["/XObject"].get_object()) if "/XObject" in resources else DictionaryObject()
    xobjects[NameObject("/ScorecardPage")] = form_reference
    resources[NameObject("/XObject")] = xobjects
    page[NameObject("/Resources")] = resources
    drawing = DecodedStreamObject()
    drawing.set_data(b"q /ScorecardPage Do Q\n")
    existing = page["/Contents"]
    existing = list(existing.get_object()) if isinstance(existing.get_object(), ArrayObject) else [existing]
    page[NameObject("/Contents")] = ArrayObject([writer._add_object(drawing), *existing])


class BoardPackPdf:
    """One PDF: cover (the company's story and the segments compared), contents with page numbers and
    links, then every scorecard, numbered "Page x of y" across the pack.

    The scorecards are not rendered again: the pack is rendered once with a blank page per scorecard
    page, carrying only the pack's page number; each finished scorecard page, without its own number,
    is then laid under its blank."""

    name = "board-pack"

    def names(self, context: BuildContext) -> list[str]:
        return [context.board_pack_stem + ".pdf"]

    def write(self, context: BuildContext, staging: Path) -> list[str]:
        from pypdf import PdfReader, PdfWriter
        from pypdf.generic import ArrayObject, ByteStringObject

        started = time.perf_counter()
        document = context.document
        target = staging / (context.board_pack_stem + ".pdf")
        by_segment = {scorecard.segment: scorecard for scorecard in context.scorecards}
        in_pack_order = [None] + [row["name"] for row in render.comparison(document) if not row["is_company"] and row["name"] in by_segment]
        pdfs = [(by_segment[segment].title, staging / (by_segment[segment].stem + ".pdf")) for segment in in_pack_order]
        if all(segment in context.outlines for segment in in_pack_order):  # as the render workers reported them
            contents = [
                {"title": title, "anchor": f"scorecard-{number}", **context.outlines[segment]}
                for number, ((title, _), segment) in enumerate(zip(pdfs, in_pack_order, strict=True), start=1)
            ]
        else:
            contents = _contents(pdfs)
        html = render.board_pack_html(document, render.environment(), contents)
        # A render worker draws the pack's own pages while this process reads the scorecards.
        pending = context.workers.pool.submit(_render_front, html) if context.workers else None
        for entry, (_, path) in zip(contents, pdfs, strict=True):
            entry.setdefault("reader", _read(path))
        front = pending.result() if pending else _render_front(html)
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(front)))
        first = len(writer.pages) - sum(entry["pages"] for entry in contents)
        for entry in contents:
            for offset, page in enumerate(entry["reader"].pages):
                _lay_under(writer, writer.pages[first + offset], page)
            first += entry["pages"]
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
        context.timings[target.name] = time.perf_counter() - started
        context.scopes.setdefault(BOARD_PACK_SCOPE, {"title": "Board pack"})["pdf"] = target.name
        return [target.name]
