"""Chart SVG checked and inlined into an HTML summary. Text work only: scorecard/charts.py draws the
SVGs (Typst, templates/pdf/charts.typ), this module only checks and places them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

from markupsafe import Markup

from .errors import ScorecardError

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
# What Typst draws with: shapes as paths, text as glyph outlines (a <symbol> each in <defs>, placed with
# <use>). Anything else (script, foreignObject, image, a, style…) stops the build rather than reach an
# HTML page or an email.
SVG_ELEMENTS = {
    "svg",
    "g",
    "path",
    "rect",
    "line",
    "text",
    "tspan",
    "circle",
    "ellipse",
    "polygon",
    "polyline",
    "defs",
    "symbol",
    "use",
    "clipPath",
    "title",
    "desc",
}
_URL = re.compile(r"url\(\s*([^)]*?)\s*\)", re.IGNORECASE)


def _local_url(match: re.Match, renamed: dict[str, str], value: str) -> str:
    """url(#id) of an element in the same chart, renamed with it; any other url(…) is refused."""
    target = match.group(1).strip("'\"")
    if not target.startswith("#") or target[1:] not in renamed:
        raise ScorecardError(f"internal check failed: a chart refers to {value[:60]!r}, outside the chart (please report this)")
    return f"url(#{renamed[target[1:]]})"


def _local_href(renamed: dict[str, str], value: str) -> str:
    """#id of an element in the same chart (a glyph that <use> places), renamed with it; any other
    reference is refused."""
    if not value.startswith("#") or value[1:] not in renamed:
        raise ScorecardError(f"internal check failed: a chart refers to {value[:60]!r}, outside the chart (please report this)")
    return f"#{renamed[value[1:]]}"


# Typst names each glyph outline after a hash of it: the same name is the same drawing, in any chart.
_GLYPH_ID = re.compile(r"g[0-9A-F]{16,}")
# Coordinates to a hundredth of a point: a chart's glyph outlines are most of its bytes.
_FINE_NUMBER = re.compile(r"(\d\.\d\d)\d+")
_GEOMETRY = frozenset({"d", "x", "y", "transform", "viewbox", "width", "height"})
_DEFAULTS = frozenset({("fill-rule", "nonzero"), ("x", "0"), ("y", "0")})  # SVG's own defaults, written out by Typst


def inline_svg(svg: str, prefix: str, label: str, glyphs: dict[str, str] | None = None) -> Markup:
    """A chart's SVG, safe to place inside an HTML page: only drawing elements, no attribute that runs
    or fetches anything, references (url(#…), <use> href) only to elements of the same chart, ids renamed
    `<prefix>-<n>` in order (unique on a page with several charts, and the same bytes however often the
    chart is drawn), coordinates rounded to 0.01 pt, re-serialised so all text is escaped.

    `glyphs`: the glyph outlines already on the page (shared by its charts), by Typst's name → the page's.
    A glyph this chart uses is then named `glyph-<n>` and drawn from the page's first definition of it,
    not defined again."""
    ElementTree.register_namespace("", SVG_NS)
    ElementTree.register_namespace("xlink", XLINK_NS)
    root = ElementTree.fromstring(svg)
    drawn_before = set(glyphs or ())
    renamed: dict[str, str] = {}
    for element in root.iter():
        if "id" in element.attrib:
            own = element.attrib["id"]
            if glyphs is not None and element.tag == f"{{{SVG_NS}}}symbol" and _GLYPH_ID.fullmatch(own):
                renamed[own] = glyphs.setdefault(own, f"glyph-{len(glyphs) + 1}")
            else:
                renamed[own] = f"{prefix}-{len(renamed) + 1}"
    for defs in root.iter(f"{{{SVG_NS}}}defs"):
        for symbol in list(defs):
            if symbol.attrib.get("id") in drawn_before:
                defs.remove(symbol)  # an earlier chart of the page defines it
    for element in root.iter():
        tag = element.tag.removeprefix("{" + SVG_NS + "}")
        if tag not in SVG_ELEMENTS:
            raise ScorecardError(
                f"internal check failed: a chart holds a <{tag}> element, not allowed in an HTML summary (please report this)"
            )
        for name, value in list(element.attrib.items()):
            local = name.rsplit("}", 1)[-1].lower()
            if local == "href" and tag == "use":
                element.attrib[name] = _local_href(renamed, value)
                continue
            if local.startswith("on") or local in ("href", "src", "style"):
                raise ScorecardError(
                    f"internal check failed: a chart holds a {local} attribute, not allowed in an HTML summary (please report this)"
                )
            if local == "id":
                element.attrib[name] = renamed[value]
            elif (local, value) in _DEFAULTS:
                del element.attrib[name]
            elif local in _GEOMETRY:
                element.attrib[name] = _FINE_NUMBER.sub(r"\1", value)
            elif "url(" in value.lower():
                element.attrib[name] = _URL.sub(lambda match, value=value: _local_url(match, renamed, value), value)
    root.set("role", "img")
    root.set("aria-label", label)
    return Markup(ElementTree.tostring(root, encoding="unicode"))
