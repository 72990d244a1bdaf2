"""The HTML summaries beside each PDF: self-contained (nothing fetched, no script), escaped, the same
figures as metrics.json and the PDF, and as a reader sees them in a real headless Chromium."""

from __future__ import annotations

import base64
import json
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape
from pypdf import PdfReader

from conftest import make_data
from scorecard import formatting, narrative, render
from scorecard.build import BuildOptions, build
from scorecard.outputs import scorecard_file_names
from scorecard.settings import Settings
from scorecard.source import resolve_source

# A 1×1 PNG, for a configured logo (it must travel inside the file, as a data: URI).
PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
MARKUP_SEGMENT = '<i>Retail</i> & "Co"'
MARKUP_COMPANY = "<script>alert(1)</script> Ltd"
WORD_JOINER = "\u2060"  # keeps a sign with its number on the page; invisible


def summary_data(folder: Path) -> Path:
    customers = [
        ("A1", MARKUP_SEGMENT, None, "Acme Ltd"),
        ("A2", MARKUP_SEGMENT, None, "Bravo GmbH"),
        ("B1", "Wholesale", "2025-08-15", "Charlie SA"),
        ("B2", "Wholesale", None, "Delta BV"),
    ]
    orders = [
        ("A1", "2024-09-01", "1200.50"), ("A1", "2025-08-01", "300.25"),
        ("A2", "2025-08-10", "99.99"),
        ("B1", "2025-02-01", "5000"),
        ("B2", "2024-12-01", "750"), ("B2", "2025-09-30", "80"),
    ]  # fmt: skip
    return make_data(folder, customers, orders, referrals=[["r1", "A1", "A2", "2025-08-05", "<b>loved it</b>"]])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("html")
    data = summary_data(root / "data")
    logo = root / "logo.png"
    logo.write_bytes(PIXEL)
    settings = Settings(company_name=MARKUP_COMPANY, logo=str(logo), currency="GBP", min_segment_customers=0)
    report = build(resolve_source(data), "2025-Q3", settings, BuildOptions(out=root / "out", jobs=1, force=True))
    return report.folder


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.style += data


def parsed(path: Path) -> Tags:
    tags = Tags()
    tags.feed(path.read_text(encoding="utf-8"))
    return tags


def test_one_html_summary_beside_each_pdf(built):
    pdfs = sorted(p.stem for p in built.glob("*.pdf"))
    assert sorted(p.stem for p in built.glob("*.html")) == pdfs
    assert len(pdfs) == 4  # company, two segments, board pack


def test_summaries_refer_to_nothing_outside_the_file(built):
    for path in built.glob("*.html"):
        tags = parsed(path)
        names = {tag for tag, _ in tags.tags}
        assert not names & {"script", "link", "iframe", "object", "embed", "base", "form", "image", "foreignobject", "a"}, path.name
        ids = {attributes["id"] for _, attributes in tags.tags if "id" in attributes}
        for tag, attributes in tags.tags:
            for name, value in attributes.items():
                assert not name.startswith("on"), (path.name, tag, name)
                if tag == "use" and name in ("href", "xlink:href"):
                    assert value.startswith("#") and value[1:] in ids, (path.name, value)  # a glyph drawn on this page
                    continue
                assert name not in ("href", "xlink:href", "srcset", "action", "background", "poster"), (path.name, tag, name)
                if name == "src":
                    assert value.startswith("data:image/png;base64,"), (path.name, tag)  # the logo, carried inside
                if value and "url(" in value:
                    assert re.fullmatch(r"url\(#[a-z-]+-\d+\)", value), (path.name, tag, value)  # a chart's own clip path
        assert "@import" not in tags.style and "@font-face" not in tags.style and "url(" not in tags.style
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(https?:|file:|ftp:)//(?!www\.w3\.org/(2000/svg|1999/xlink))", text), path.name


def test_customer_and_config_text_is_escaped(built):
    company = (built / "scorecard-2025-Q3-company.html").read_text(encoding="utf-8")
    segment = next(built.glob("scorecard-2025-Q3-segment-i-retail-i-co*.html")).read_text(encoding="utf-8")
    pack = (built / "board-pack-2025-Q3.html").read_text(encoding="utf-8")
    for text in (company, segment, pack):
        assert "<script>alert(1)" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt; Ltd" in text
    assert "<i>Retail</i>" not in segment + pack
    assert "&lt;i&gt;Retail&lt;/i&gt; &amp; &#34;Co&#34;" in segment
    assert "&lt;i&gt;Retail&lt;/i&gt; &amp; &#34;Co&#34;" in pack


def test_chart_ids_are_unique_on_a_page(built):
    text = (built / "scorecard-2025-Q3-company.html").read_text(encoding="utf-8")
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert ids and len(ids) == len(set(ids))
    assert text.count("<svg") == 4  # two bridges, customers and value over the last periods


def test_summary_figures_equal_metrics_json_and_the_pdf(built):
    document = json.loads((built / "metrics.json").read_text(encoding="utf-8"), parse_float=Decimal)
    numbers = formatting.Numbers.for_document(document)
    manifest = json.loads((built / "manifest.json").read_text(encoding="utf-8"))
    for scope, files in manifest["scopes"].items():
        if scope == "board-pack":
            continue
        segment = None if scope == "company" else scope.removeprefix("segment:")
        card = next(c for c in document["scorecards"] if c["segment"] == segment)
        html = (built / files["html"]).read_text(encoding="utf-8")
        pdf = " ".join(page.extract_text() for page in PdfReader(built / files["pdf"]).pages).replace(WORD_JOINER, "")
        figures = [figure.replace(WORD_JOINER, "") for figure in re.findall(r'<div class="figure">([^<]*)</div>', html)]
        assert figures == [tile["figure"] for tile in render.tiles(card, numbers, narrative.comparison_labels(document))], scope
        for figure in figures:
            assert figure in pdf, (scope, figure)
        # the value bridge, exact to the penny, equals metrics.json
        for amount in (card["value"]["start"], card["value"]["end"]):
            assert numbers.money(amount, exact=True) in html
        assert html.count("£") > 6  # the configured currency
    pack = (built / "board-pack-2025-Q3.html").read_text(encoding="utf-8")
    company = document["scorecards"][0]
    assert f"<td>{numbers.count(company['customers']['end'])}</td>" in pack


def test_the_narrative_is_shown_escaped_in_the_html_and_the_text(built):
    document = json.loads((built / "metrics.json").read_text(encoding="utf-8"))
    segment = next(card for card in document["scorecards"] if card["segment"] == MARKUP_SEGMENT)
    pdf = scorecard_file_names("2025-Q3", [None, MARKUP_SEGMENT, "Wholesale"])[MARKUP_SEGMENT]
    html = (built / pdf.replace(".pdf", ".html")).read_text(encoding="utf-8")
    assert 'class="narrative"' in html and MARKUP_SEGMENT in segment["narrative"][0]
    assert escape(" ".join(segment["narrative"])) in html and "<i>Retail</i>" not in html


def test_summaries_in_a_real_browser(built, chromium, tmp_path):
    document = json.loads((built / "metrics.json").read_text(encoding="utf-8"), parse_float=Decimal)
    numbers = formatting.Numbers.for_document(document)
    expected = [tile["figure"] for tile in render.tiles(document["scorecards"][0], numbers, narrative.comparison_labels(document))]
    for name, width in (
        ("scorecard-2025-Q3-company.html", 1000),
        ("scorecard-2025-Q3-company.html", 390),
        ("board-pack-2025-Q3.html", 1000),
    ):
        shot = tmp_path / f"{Path(name).stem}-{width}.png"
        visit = chromium(built / name, shot, width=width)
        assert visit.other_requests == [], name
        assert visit.requests == [visit.url]
        assert visit.console_errors == [], name
        tiles = visit.page.locator(".tile")
        assert tiles.count() == 6
        assert all(tiles.nth(i).is_visible() for i in range(6))
        assert [text.replace(WORD_JOINER, "") for text in visit.page.locator(".tile .figure").all_inner_texts()] == expected
        for i in range(6):  # each tile lies within the page's width: nothing cut off on a phone
            box = tiles.nth(i).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, (name, width, box)
        if name.startswith("scorecard"):
            charts = visit.page.locator("figure.chart svg")
            boxes = [charts.nth(i).bounding_box() for i in range(charts.count())]
            assert len(boxes) == 4  # the two bridges; customers and value over the last periods
            # drawn whole at a readable size: scaled with the page, never squashed (the trends are wide and low)
            assert all(box["height"] > 90 and box["height"] > box["width"] / 4 for box in boxes), boxes
        assert shot.stat().st_size > 20_000  # a real picture of the page, kept with the test's files


def test_charts_on_one_page_share_their_glyphs_and_round_their_coordinates():
    from scorecard import chart_markup

    def chart(glyph: str, x: str) -> str:
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10.123456 10">'
            f'<use xlink:href="#{glyph}" x="{x}" y="0" fill-rule="nonzero"/>'
            f'<defs><symbol id="{glyph}"><path d="M 0 0h 1.23456v 1Z"/></symbol></defs></svg>'
        )

    same, other = "g" + "A" * 32, "g" + "B" * 32
    glyphs: dict[str, str] = {}
    first = str(chart_markup.inline_svg(chart(same, "1.23456"), "one", "one", glyphs))
    second = str(chart_markup.inline_svg(chart(same, "2"), "two", "two", glyphs))
    third = str(chart_markup.inline_svg(chart(other, "3"), "three", "three", glyphs))
    assert '<symbol id="glyph-1"><path d="M 0 0h 1.23v 1Z" /></symbol>' in first and '<use xlink:href="#glyph-1" x="1.23" />' in first
    assert "<symbol" not in second and '<use xlink:href="#glyph-1" x="2" />' in second  # drawn from the first chart's outline
    assert '<symbol id="glyph-2">' in third and 'viewBox="0 0 10.12 10"' in third
    assert glyphs == {same: "glyph-1", other: "glyph-2"}
    alone = str(chart_markup.inline_svg(chart(same, "1"), "alone", "alone"))
    assert '<symbol id="alone-1">' in alone  # without a page to share with, a chart keeps its own


def test_inline_chart_svg_keeps_drawing_only():
    from scorecard import chart_markup
    from scorecard.errors import ScorecardError

    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10">'
        '<defs><clipPath id="clip7"><rect width="5" height="5"/></clipPath></defs>'
        '<g clip-path="url(#clip7)"><text x="1" y="1">net &lt;b&gt; &amp; co</text></g>'
        '<use xlink:href="#gA1" x="2" y="0"/><use href="#gA1" x="4" y="0"/>'  # Typst draws text as glyphs
        '<defs><symbol id="gA1" overflow="visible"><path d="M 0 0h 1v 1Z"/></symbol></defs></svg>'
    )
    inlined = str(chart_markup.inline_svg(svg, "value-bridge", 'Value "bridge"'))
    assert 'id="value-bridge-1"' in inlined and 'clip-path="url(#value-bridge-1)"' in inlined and "clip7" not in inlined
    assert "net &lt;b&gt; &amp; co" in inlined and 'aria-label="Value &quot;bridge&quot;"' in inlined
    assert 'id="value-bridge-2"' in inlined and "gA1" not in inlined
    assert '<use xlink:href="#value-bridge-2" x="2" />' in inlined and '<use href="#value-bridge-2" x="4" />' in inlined
    for bad in (
        '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><use href="http://example.com/glyphs.svg#g1"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><use xlink:href="#elsewhere"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><g id="g1"/><a href="#g1"><rect/></a></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><g id="g1"/><rect href="#g1"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><image href="http://example.com/x.png"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><rect onclick="alert(1)"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><rect fill="url(http://example.com/x#p)"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill: url(#x)"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject></svg>',
    ):
        with pytest.raises(ScorecardError, match="internal check failed"):
            chart_markup.inline_svg(bad, "chart", "chart")
