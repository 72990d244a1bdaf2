"""The HTML summaries: `<stem>.html` beside each scorecard PDF and beside the board pack, each one
self-contained (inline stylesheet, inline SVG charts, no script, nothing fetched). They carry page 1's
content, from the same metrics document and view models as the PDFs; they are also the email bodies."""

from __future__ import annotations

import time
from pathlib import Path

from .. import charts, render
from . import BOARD_PACK_SCOPE, BuildContext


class HtmlSummaries:
    name = "html"

    def names(self, context: BuildContext) -> list[str]:
        return [scorecard.stem + ".html" for scorecard in context.scorecards] + [context.board_pack_stem + ".html"]

    def write(self, context: BuildContext, staging: Path) -> list[str]:
        document = context.document
        env = render.environment()
        written = []
        for scorecard in context.scorecards:
            started = time.perf_counter()
            card = document["scorecards"][scorecard.index]
            svgs = _charts(context, scorecard.segment, card)
            target = staging / (scorecard.stem + ".html")
            target.write_text(render.summary_html(document, card, svgs, env), encoding="utf-8")
            context.timings[target.name] = time.perf_counter() - started
            context.scopes.setdefault(scorecard.scope, {"title": scorecard.title})["html"] = target.name
            written.append(target.name)
        started = time.perf_counter()
        target = staging / (context.board_pack_stem + ".html")
        target.write_text(render.board_pack_summary_html(document, env), encoding="utf-8")
        context.timings[target.name] = time.perf_counter() - started
        context.scopes.setdefault(BOARD_PACK_SCOPE, {"title": "Board pack"})["html"] = target.name
        return written + [target.name]


def _charts(context: BuildContext, segment: str | None, card: dict) -> dict[str, str]:
    """A scorecard's charts as SVG: from the chart frames its PDF was typeset with, or drawn afresh when no
    PDF writer ran first."""
    model = context.page_models.get(segment)
    return charts.svgs(model["charts"]) if model else charts.for_scorecard(context.document, card)
