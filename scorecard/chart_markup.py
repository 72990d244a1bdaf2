"""Chart SVG as pages carry it: a data: URI for the PDF, or markup checked and inlined into an HTML
summary. Text work only, so the build's own process never loads the chart runtime (scorecard/charts.py
draws the SVGs, in the render workers)."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ElementTree

from markupsafe import Markup

from .errors import ScorecardError


def data_uri(svg: str) -> str:
    """An <img>-ready data: URI, so chart markup never mixes with the page's HTML."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


SVG_NS = "http://www.w3.org/2000/svg"
# What vl-convert draws with. Anything else (script, foreignObject, image, use, a, style…) stops the
# build rather than reach an HTML page or an email.
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


def inline_svg(svg: str, prefix: str, label: str) -> Markup:
    """A chart's SVG, safe to place inside an HTML page: only drawing elements, no attribute that runs
    or fetches anything, ids renamed `<prefix>-<n>` in order (unique on a page with several charts, and
    the same bytes whichever process drew the chart), re-serialised so all text is escaped."""
    ElementTree.register_namespace("", SVG_NS)
    root = ElementTree.fromstring(svg)
    renamed: dict[str, str] = {}
    for element in root.iter():
        if "id" in element.attrib:
            renamed[element.attrib["id"]] = f"{prefix}-{len(renamed) + 1}"
    for element in root.iter():
        tag = element.tag.removeprefix("{" + SVG_NS + "}")
        if tag not in SVG_ELEMENTS:
            raise ScorecardError(
                f"internal check failed: a chart holds a <{tag}> element, not allowed in an HTML summary (please report this)"
            )
        for name, value in list(element.attrib.items()):
            local = name.rsplit("}", 1)[-1].lower()
            if local.startswith("on") or local in ("href", "src", "style"):
                raise ScorecardError(
                    f"internal check failed: a chart holds a {local} attribute, not allowed in an HTML summary (please report this)"
                )
            if local == "id":
                element.attrib[name] = renamed[value]
            elif "url(" in value.lower():
                element.attrib[name] = _URL.sub(lambda match, value=value: _local_url(match, renamed, value), value)
    root.set("role", "img")
    root.set("aria-label", label)
    return Markup(ElementTree.tostring(root, encoding="unicode"))
