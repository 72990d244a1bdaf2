"""Charts: small, pre-aggregated frames from the metrics document → Vega-Lite → SVG (vl-convert, offline).

Every chart uses one installed font (DejaVu Sans) so vl-convert measures text as WeasyPrint draws it,
and a colour-blind-safe palette (Okabe–Ito). `allowed_base_urls=[]` keeps Vega from loading anything.
"""

from __future__ import annotations

import base64
import math
import re
import xml.etree.ElementTree as ElementTree
from decimal import Decimal

import vl_convert
from markupsafe import Markup

from . import formatting
from .errors import ScorecardError

FONT = "DejaVu Sans"
GAIN = "#0072B2"  # blue
GAIN_SOFT = "#56B4E9"  # sky blue
LOSS = "#D55E00"  # vermillion
LOSS_SOFT = "#E69F00"  # orange
TOTAL = "#7F7F7F"
INK = "#222222"
GRID = "#E6E6E6"


# The Vega-Lite version vl-convert compiles the specs with (the one Altair 6.3 wrote when the charts
# were designed). Specs are written as plain Vega-Lite: building them with Altair cost more Python time
# than drawing them, and importing Altair 0.4 s in every render process.
SCHEMA = "https://vega.github.io/schema/vega-lite/v6.4.1.json"

# The shared look (fonts, colours, axes).
CONFIG = {
    "view": {"continuousWidth": 300, "continuousHeight": 300, "stroke": None},
    "axis": {"domainColor": "#999", "gridColor": GRID, "labelColor": INK, "labelFontSize": 10, "tickColor": "#999", "titleColor": INK,
             "titleFontSize": 10},
    "background": "white",
    "font": FONT,
    "legend": {"labelFontSize": 10, "orient": "bottom", "symbolSize": 80, "titleFontSize": 10},
    "padding": 4,
    "title": {"anchor": "start", "color": INK, "fontSize": 12, "fontWeight": "bold"},
}  # fmt: skip


def chart(values: list[dict], mark: str, encoding: dict, **mark_properties) -> dict:
    """One Vega-Lite view: inline data, a mark and its encoding."""
    return {"data": {"values": values}, "mark": {"type": mark, **mark_properties}, "encoding": encoding}


def field(name: str, kind: str | None = None, **properties) -> dict:
    """An encoding channel: a field, its type (quantitative, nominal…) and any axis, scale, sort or title."""
    return {"field": name, **properties, **({"type": kind} if kind else {})}


def layered(*charts: dict, **properties) -> dict:
    """Charts drawn over each other."""
    return {"layer": list(charts), **properties}


def stacked(*charts: dict, **properties) -> dict:
    """Charts one above the other sharing the x scale."""
    return {"vconcat": list(charts), "resolve": {"scale": {"x": "shared"}}, **properties}


def to_svg(spec: dict) -> str:
    return vl_convert.vegalite_to_svg({"$schema": SCHEMA, **spec, "config": CONFIG}, allowed_base_urls=[])


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


def _nice_floor(value: float) -> float:
    """The largest 1, 2 or 5 × 10^k at or below value (0 for value ≤ 0)."""
    if value <= 0:
        return 0.0
    magnitude = 10 ** math.floor(math.log10(value))
    return max(step * magnitude for step in (1, 2, 5) if step * magnitude <= value)


def whole_ticks(low: float, high: float, count: int = 5) -> list[int]:
    """Axis ticks for counts of customers: whole numbers only, a 1, 2 or 5 × 10^k step apart."""
    span = max(high - low, 1)
    step = next(step * 10**power for power in range(0, 12) for step in (1, 2, 5) if step * 10**power >= span / count)
    first, last = math.floor(low / step) * step, math.ceil(high / step) * step
    return list(range(int(first), int(last) + 1, int(step)))


def zoomed_domain(rows: list[dict]) -> tuple[float, float] | None:
    """Where the steps are small next to the totals, start the axis near the lowest level so the
    gains and losses are visible; None when starting at zero shows them well enough."""
    levels = [row["low"] for row in rows if row["kind"] != "total"] + [row["high"] for row in rows]
    low, high = min(levels), max(levels)
    if low <= 0 or high <= 0 or (high - low) > 0.35 * high:
        return None
    start = _nice_floor(low - 0.6 * (high - low))
    return (start, high) if start > 0 else None


def waterfall(
    steps: list[tuple[str, Decimal | int, str]], *, title: str, label, axis_label, width: int, height: int, whole: bool = False
) -> str:
    """steps: (label, amount, kind) with kind total, gain or loss; totals stand on zero, the rest float.
    `label` formats an amount for the text beside each bar, `axis_label` an axis value; `whole`: the amounts
    are counts, so the axis has no fractional ticks. When the axis does not start at zero, the total bars
    carry a break mark (≈) and the title says where the axis starts."""
    rows, level = [], Decimal(0)
    for order, (name, amount, kind) in enumerate(steps):
        amount = Decimal(amount)
        if kind == "total":
            low, high, level = Decimal(0), amount, amount
        else:
            low, high = level, level + amount
            level = high
        rows.append(
            {
                "order": order,
                "step": name,
                "low": float(min(low, high)),
                "high": float(max(low, high)),
                "kind": kind,
                "text": label(amount, kind),
            }
        )
    colours = {"domain": ["total", "gain", "loss"], "range": [TOTAL, GAIN, LOSS]}
    domain = zoomed_domain(rows)
    scale = {"clamp": True, "domain": list(domain), "nice": False, "zero": False} if domain else {"nice": True}
    title = {
        "text": title,
        "subtitle": f"≈ axis broken: it starts at {axis_label(domain[0])}, not zero" if domain else "",
        "subtitleColor": LOSS,
        "subtitleFontSize": 9,
        "subtitleFontWeight": "bold",
    }
    # Horizontal, like a bridge table read top to bottom: step names never collide, and each bar's
    # figure sits just right of it.
    y = field("step", "nominal", axis={"domain": False, "labelPadding": 4, "ticks": False}, sort={"field": "order"}, title=None)
    if whole:
        low, high = domain or (0, max(row["high"] for row in rows))
        ticks = [tick for tick in whole_ticks(low, high, 4) if low <= tick <= high]
        axis = {"format": "~s", "values": ticks}
    else:
        axis = {"format": "~s", "tickCount": 4}
    bar_height = max(8, int(height / len(rows) * 0.62))
    bars = chart(
        rows,
        "bar",
        {
            "color": field("kind", "nominal", legend=None, scale=colours),
            "x": field("low", "quantitative", axis=axis, scale=scale, title=None),
            "x2": field("high"),
            "y": y,
        },
        clip=True,
        height=bar_height,
    )
    text = chart(
        rows,
        "text",
        {"text": field("text", "nominal"), "x": field("high", "quantitative"), "y": y},
        align="left",
        color=INK,
        dx=4,
        fontSize=9.5,
    )
    layers = [bars, text]
    if domain:
        # The break: a white ≈ across each total bar, just right of where the axis starts.
        marks = [
            {"step": row["step"], "order": row["order"], "at": domain[0] + 0.06 * (domain[1] - domain[0])}
            for row in rows
            if row["kind"] == "total"
        ]
        encoding = {"x": field("at", "quantitative", scale=scale), "y": field("step", "nominal", sort={"field": "order"})}
        layers.append(
            chart(marks, "text", encoding, baseline="middle", color="white", fontSize=bar_height * 1.5, fontWeight="bold", text="≈")
        )
    return to_svg(layered(*layers, width=width, height=height, title=title))


def count_bridge(card: dict, numbers: formatting.Numbers, width: int = 230, height: int = 150) -> str:
    c = card["customers"]
    steps = [
        ("Start", c["start"], "total"),
        ("New", c["new"], "gain"),
        ("Won back", c["reactivated"], "gain"),
        ("Lapsed", -c["lost_lapsed"], "loss"),
        ("Closed", -c["lost_closed"], "loss"),
        ("End", c["end"], "total"),
    ]
    return waterfall(
        steps,
        title="Customers: start to end",
        label=lambda amount, kind: numbers.count(int(amount), signed=kind != "total"),
        axis_label=lambda value: numbers.count(int(value)),
        width=width,
        height=height,
        whole=True,
    )


def value_bridge(card: dict, numbers: formatting.Numbers, width: int = 230, height: int = 170) -> str:
    v = card["value"]
    steps = [
        ("Start", v["start"], "total"),
        ("New", v["new"], "gain"),
        ("Won back", v["reactivated"], "gain"),
        ("Expansion", v["expansion"], "gain"),
        ("Contraction", -v["contraction"], "loss"),
        ("Lost", -v["lost"], "loss"),
        ("End", v["end"], "total"),
    ]
    return waterfall(
        steps,
        title="Annual run-rate value: start to end",
        label=lambda amount, kind: numbers.money(amount, signed=kind != "total"),
        axis_label=lambda value: numbers.money(value),
        width=width,
        height=height,
    )


def _shown_periods(card: dict, data_from: str | None) -> list[dict]:
    """The trend periods worth drawing: those that ended before the data begins would read as zeros."""
    return [period for period in card["trend"] if data_from is None or period["period_end"] > data_from] or card["trend"][-1:]


def _period_axis(shown: list[dict], labels: bool) -> dict:
    return field(
        "period",
        "nominal",
        axis={"domain": False, "labelAngle": 0, "labelPadding": 2, "labels": labels, "ticks": labels},
        sort=[period["period"] for period in shown],
        title=None,
    )


def _figure_rows(shown: list[dict], rows: list[tuple[str, list[str]]], width: int) -> dict:
    """A small table under a trend chart, one column per period (aligned with the bars): the figures
    that would otherwise sit on the bars and lines, and which periods have short history."""
    if any(period["short_history"] for period in shown):
        rows = [*rows, ("History", ["⚠ short" if period["short_history"] else "full" for period in shown])]
    cells = [
        {"period": period["period"], "row": name, "order": index, "text": texts[position], "short": period["short_history"]}
        for index, (name, texts) in enumerate(rows)
        for position, period in enumerate(shown)
    ]
    encoding = {
        "text": field("text", "nominal"),
        "x": _period_axis(shown, labels=False),
        "y": field(
            "row", "nominal", axis={"domain": False, "labelFontWeight": "bold", "ticks": False}, sort=[name for name, _ in rows], title=None
        ),
    }
    return chart(cells, "text", encoding, color=INK, fontSize=9) | {"height": 13 * len(rows), "width": width}


def _short_subtitle(card: dict, shown: list[dict], data_from: str | None) -> str:
    notes = []
    if len(shown) < len(card["trend"]):
        notes.append(f"the data begins {data_from}; earlier periods are left out")
    if any(period["short_history"] for period in shown):
        notes.append("pale, ⚠ short: short history, so gains are overstated and losses understated")
    return "; ".join(notes)


def gains_losses_trend(card: dict, numbers: formatting.Numbers, data_from: str | None = None, width: int = 600, height: int = 100) -> str:
    """Customers gained (up) and lost (down) per period, with the net as a line and, under the chart, the
    net per period. Periods with short history are pale."""
    shown = _shown_periods(card, data_from)
    bars, net = [], []
    for period in shown:
        gained, lost = period["headline"]["customers_gained"], period["headline"]["customers_lost"]
        short = period["short_history"]
        bars.append({"period": period["period"], "kind": "Gained", "customers": gained, "short": short})
        bars.append({"period": period["period"], "kind": "Lost", "customers": -lost, "short": short})
        net.append({"period": period["period"], "net": gained - lost})
    x = _period_axis(shown, labels=True)
    # Whole-number ticks, on every layer: layers share the y axis, and merged axes that differ lose their ticks.
    ticks = whole_ticks(min(b["customers"] for b in bars), max(b["customers"] for b in bars), 5)
    y_axis = {"format": ",d", "labelOverlap": False, "values": ticks}
    columns = chart(
        bars,
        "bar",
        {
            "color": field(
                "kind",
                "nominal",
                legend={"labelLimit": 150, "orient": "right"},
                scale={"domain": ["Gained", "Lost"], "range": [GAIN, LOSS]},
                title=None,
            ),
            "opacity": {"condition": {"test": "datum.short", "value": 0.35}, "value": 1.0},
            "x": x,
            "y": field("customers", "quantitative", axis=y_axis, title="customers"),
        },
        size=max(10, int(width / max(1, len(net)) * 0.45)),
    )
    net_line = chart(
        net,
        "line",
        {"x": x, "y": field("net", "quantitative", axis=y_axis, title="customers")},
        color=INK,
        point={"color": INK, "size": 30},
    )
    zero = chart([{"zero": 0}], "rule", {"y": field("zero", "quantitative", axis=y_axis, title="customers")}, color="#999")
    top = layered(columns, zero, net_line, width=width, height=height)
    rows = _figure_rows(shown, [("Net", [numbers.count(p["headline"]["customers_net"], signed=True) for p in shown])], width)
    title = {
        "text": "Customers gained (new + won back) versus lost, last periods (line: net)",
        "subtitle": _short_subtitle(card, shown, data_from),
        "subtitleColor": "#666",
        "subtitleFontSize": 8.5,
    }
    return to_svg(stacked(top, rows, spacing=2, title=title))


VALUE_PARTS = (
    # (part, label, sign, colour): gains stack up from zero, losses down
    ("value_new", "New", 1, GAIN),
    ("value_reactivated", "Won back", 1, GAIN_SOFT),
    ("value_expansion", "Expansion", 1, "#009E73"),
    ("value_lost", "Lost customers", -1, LOSS),
    ("value_contraction", "Contraction", -1, LOSS_SOFT),
)


def value_trend(card: dict, numbers: formatting.Numbers, data_from: str | None = None, width: int = 600, height: int = 100) -> str:
    """Value gained (new, won back, expansion: up) and lost (lost customers, contraction: down) per period,
    with the net value change, NRR and GRR of each period under the chart."""
    shown = _shown_periods(card, data_from)
    bars = [
        {"period": period["period"], "part": label, "order": order, "value": float(sign * period[key]), "short": period["short_history"]}
        for period in shown
        for order, (key, label, sign, _) in enumerate(VALUE_PARTS)
    ]
    x = _period_axis(shown, labels=True)
    columns = chart(
        bars,
        "bar",
        {
            "color": field(
                "part",
                "nominal",
                legend={"labelLimit": 150, "orient": "right"},
                scale={"domain": [label for _, label, _, _ in VALUE_PARTS], "range": [colour for *_, colour in VALUE_PARTS]},
                title=None,
            ),
            "opacity": {"condition": {"test": "datum.short", "value": 0.35}, "value": 1.0},
            "order": field("order", "quantitative"),
            "x": x,
            "y": field("value", "quantitative", axis={"format": "~s", "tickCount": 5}, stack="zero", title="run-rate"),
        },
        size=max(10, int(width / max(1, len(shown)) * 0.45)),
    )
    net = [{"period": period["period"], "net": float(period["headline"]["value_net"])} for period in shown]
    net_marks = chart(
        net,
        "tick",
        {"x": x, "y": field("net", "quantitative")},
        color=INK,
        size=max(10, int(width / max(1, len(shown)) * 0.55)),
        thickness=2,
    )
    zero = chart([{"zero": 0}], "rule", {"y": field("zero", "quantitative")}, color="#999")
    top = layered(columns, zero, net_marks, width=width, height=height)
    rows = _figure_rows(
        shown,
        [
            ("Net", [numbers.money(p["headline"]["value_net"], signed=True) for p in shown]),
            ("NRR", [numbers.percent(p["rates"]["nrr"], digits=0) for p in shown]),
            ("GRR", [numbers.percent(p["rates"]["grr"], digits=0) for p in shown]),
        ],
        width,
    )
    title = {
        "text": "Annual run-rate value gained versus lost (black tick: net)",
        "subtitle": _short_subtitle(card, shown, data_from),
        "subtitleColor": "#666",
        "subtitleFontSize": 8.5,
    }
    return to_svg(stacked(top, rows, spacing=2, title=title))


def whale_curve(profitability: dict, numbers: formatting.Numbers, width: int = 600, height: int = 210) -> str:
    """Cumulative profit against the share of customers, most profitable first, with the peak marked.
    In % of total profit when the total is positive; in money otherwise (a share of a loss misleads)."""
    as_share = profitability["total_profit"] > 0
    points = [{"customers": 0.0, "profit": 0.0}] + [
        {"customers": p["customers_share"], "profit": p["profit_share"] if as_share else float(p["cumulative_profit"])}
        for p in profitability["curve"]
    ]
    peak = profitability["peak"]
    peak_y = peak["profit_share"] if as_share else float(peak["profit"])
    peak_label = (
        f"peak: top {numbers.percent(peak['customers_share'], digits=0)} earn {numbers.percent(peak['profit_share'], digits=0)}"
        if as_share
        else f"peak: {numbers.money(peak['profit'])}"
    )
    y_axis = {
        "format": ".0%" if as_share else "~s",
        "tickCount": 5,
        "title": "cumulative profit" + (" (% of total; grey line: 100 %)" if as_share else ""),
    }
    x = field("customers", "quantitative", axis={"format": ".0%", "title": "customers, most profitable first"}, scale={"domain": [0, 1]})
    line = chart(points, "line", {"x": x, "y": field("profit", "quantitative", axis=y_axis)}, color=GAIN, strokeWidth=2.5)
    marks = [{"customers": peak["customers_share"] or 0.0, "profit": peak_y, "text": peak_label}]
    peak_point = chart(marks, "point", {"x": x, "y": field("profit", "quantitative")}, color=INK, filled=True, size=70)
    # The label sits on whichever side of the peak has room.
    right_side = (peak["customers_share"] or 0.0) < 0.6
    peak_text = chart(
        marks,
        "text",
        {"text": field("text", "nominal"), "x": x, "y": field("profit", "quantitative")},
        align="left" if right_side else "right",
        color=INK,
        dx=6 if right_side else -6,
        dy=-10,
        fontSize=10,
    )
    break_even = chart(marks, "rule", {"x": x}, color=LOSS, strokeDash=[4, 3])
    layers = [line, break_even, peak_point, peak_text]
    if as_share:  # the 100 % line is named in the axis title: a label on the chart would sit on the curve
        layers.append(chart([{"profit": 1.0}], "rule", {"y": field("profit", "quantitative")}, color="#999"))
    return to_svg(
        layered(*layers, width=width, height=height, title="Whale curve: who creates and who destroys profit (dashed: break-even)")
    )


def warm_up() -> None:
    """Start the chart runtime (vl-convert's JavaScript engine) and exercise the marks the charts use:
    the first chart in a process otherwise costs ~0.5 s more. Render workers call this as they start."""
    rows = [{"step": "a", "low": 0.0, "high": 1.0, "text": "1"}, {"step": "b", "low": 1.0, "high": 2.0, "text": "2"}]
    bars = {"mark": {"type": "bar"}, "encoding": {"y": {"field": "step", "type": "nominal"}, "x": {"field": "low", "type": "quantitative"},
                                                  "x2": {"field": "high"}}}  # fmt: skip
    text = {"mark": {"type": "text"}, "encoding": {"y": {"field": "step", "type": "nominal"}, "x": {"field": "high", "type": "quantitative"},
                                                   "text": {"field": "text", "type": "nominal"}}}  # fmt: skip
    line = {
        "mark": {"type": "line", "point": True},
        "encoding": {"x": {"field": "step", "type": "nominal"}, "y": {"field": "high", "type": "quantitative"}},
    }
    spec = {"data": {"values": rows}, "title": {"text": "warm-up", "subtitle": "chart"}, "vconcat": [{"layer": [bars, text]}, line]}
    to_svg(spec)
