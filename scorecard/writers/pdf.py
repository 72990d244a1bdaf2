"""The PDF writers: one scorecard PDF per scope, then the board pack. Each is typeset by Typst
(scorecard/typesetting.py) from its page model (scorecard/pages.py), on the build's typesetter threads
(BuildContext.typeset): the PDFs are typeset side by side, and while the HTML summaries are written."""

from __future__ import annotations

from pathlib import Path

from .. import pages, render, typesetting
from . import BOARD_PACK_SCOPE, BuildContext


def _typeset(template: str, model: dict, target: Path) -> None:
    target.write_bytes(typesetting.compile_document(template, model))


class ScorecardPdfs:
    name = "pdf"

    def names(self, context: BuildContext) -> list[str]:
        return [scorecard.stem + ".pdf" for scorecard in context.scorecards]

    def write(self, context: BuildContext, staging: Path) -> list[str]:
        written = []
        for scorecard in context.scorecards:
            model = pages.scorecard(context.document, context.document["scorecards"][scorecard.index])
            context.page_models[scorecard.segment] = model
            target = staging / (scorecard.stem + ".pdf")
            context.typeset(target.name, lambda model=model, target=target: _typeset("scorecard.typ", model, target))
            context.scopes.setdefault(scorecard.scope, {"title": scorecard.title})["pdf"] = target.name
            written.append(target.name)
        return written


class BoardPackPdf:
    """One PDF: cover (the company's story and the segments compared), contents with page numbers and
    links, then every scorecard, numbered "Page x of y" across the pack. The scorecards' page models
    are the ones their own PDFs are typeset from."""

    name = "board-pack"

    def names(self, context: BuildContext) -> list[str]:
        return [context.board_pack_stem + ".pdf"]

    def write(self, context: BuildContext, staging: Path) -> list[str]:
        document = context.document
        by_segment = {scorecard.segment: scorecard for scorecard in context.scorecards}
        in_pack_order = [None] + [row["name"] for row in render.comparison(document) if not row["is_company"] and row["name"] in by_segment]
        cards = [
            context.page_models.get(segment) or pages.scorecard(document, document["scorecards"][by_segment[segment].index])
            for segment in in_pack_order
        ]
        target = staging / (context.board_pack_stem + ".pdf")
        model = pages.board_pack(document, cards)
        context.typeset(target.name, lambda: _typeset("board_pack.typ", model, target))
        context.scopes.setdefault(BOARD_PACK_SCOPE, {"title": "Board pack"})["pdf"] = target.name
        return [target.name]
