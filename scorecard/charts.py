"""Charts: small, pre-aggregated frames from the metrics document → Altair → SVG (vl-convert, offline).

Every chart uses one installed font (DejaVu Sans) so vl-convert measures text as WeasyPrint draws it,
and a colour-blind-safe palette (Okabe–Ito). `allowed_base_urls=[]` keeps Vega from loading anything.
"""

from __future__ import annotations

import base64
import math
import re
import xml.etree.ElementTree as ElementTree
from decimal import Decimal

import altair as alt
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


def _configured(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    return (
        chart.configure(font=FONT, background="white", padding=4)
        .configure_view(stroke=None)
        .configure_axis(
            labelFontSize=10, titleFontSize=10, labelColor=INK, titleColor=INK, gridColor=GRID, domainColor="#999", tickColor="#999"
        )
        .configure_title(fontSize=12, anchor="start", color=INK, fontWeight="bold")
        .configure_legend(labelFontSize=10, titleFontSize=10, orient="bottom", symbolSize=80)
    )


def to_svg(chart: alt.TopLevelMixin) -> str:
    # Schema validation costs a third of the time and guards nothing here: the specs are ours and
    # fixed (tests render every chart, validation on).
    return vl_convert.vegalite_to_svg(_configured(chart).to_dict(validate=False), allowed_base_urls=[])


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


def zoomed_domain(rows: list[dict]) -> tuple[float, float] | None:
    """Where the steps are small next to the totals, start the axis near the lowest level so the
    gains and losses are visible; None when starting at zero shows them well enough."""
    levels = [row["low"] for row in rows if row["kind"] != "total"] + [row["high"] for row in rows]
    low, high = min(levels), max(levels)
    if low <= 0 or high <= 0 or (high - low) > 0.35 * high:
        return None
    start = _nice_floor(low - 0.6 * (high - low))
    return (start, high) if start > 0 else None


def waterfall(steps: list[tuple[str, Decimal | int, str]], *, title: str, label, axis_label, width: int, height: int) -> str:
    """steps: (label, amount, kind) with kind total, gain or loss; totals stand on zero, the rest float.
    `label` formats an amount for the text beside each bar, `axis_label` an axis value."""
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
    colours = alt.Scale(domain=["total", "gain", "loss"], range=[TOTAL, GAIN, LOSS])
    domain = zoomed_domain(rows)
    scale = alt.Scale(domain=list(domain), clamp=True, nice=False, zero=False) if domain else alt.Scale(nice=True)
    title_params = alt.TitleParams(
        title, subtitle=f"axis starts at {axis_label(domain[0])}" if domain else "", subtitleFontSize=8.5, subtitleColor="#666"
    )
    # Horizontal, like a bridge table read top to bottom: step names never collide, and each bar's
    # figure sits just right of it.
    base = alt.Chart(alt.Data(values=rows), title=title_params).encode(
        y=alt.Y("step:N", sort=alt.SortField("order"), title=None, axis=alt.Axis(ticks=False, domain=False, labelPadding=4)),
    )
    bars = base.mark_bar(height=max(8, int(height / len(rows) * 0.62)), clip=True).encode(
        x=alt.X("low:Q", title=None, axis=alt.Axis(format="~s", tickCount=4), scale=scale),
        x2="high:Q",
        color=alt.Color("kind:N", scale=colours, legend=None),
    )
    text = base.mark_text(align="left", dx=4, fontSize=9.5, color=INK).encode(x="high:Q", text="text:N")
    return to_svg((bars + text).properties(width=width, height=height))


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


def gains_losses_trend(card: dict, numbers: formatting.Numbers, data_from: str | None = None, width: int = 640, height: int = 170) -> str:
    """Customers gained (up) and lost (down) per period, with the net as a line. Periods that ended
    before the data begins are left out: their zeros would read as "nothing happened"."""
    bars, net = [], []
    shown = [period for period in card["trend"] if data_from is None or period["period_end"] > data_from] or card["trend"][-1:]
    for order, period in enumerate(shown):
        gained = period["new"] + period["reactivated"]
        bars.append({"order": order, "period": period["period"], "kind": "Gained (new + won back)", "customers": gained})
        bars.append({"order": order, "period": period["period"], "kind": "Lost", "customers": -period["lost"]})
        net.append(
            {
                "order": order,
                "period": period["period"],
                "net": gained - period["lost"],
                "gained": gained,
                "text": "net " + numbers.count(gained - period["lost"], signed=True),
            }
        )
    x = alt.X("period:N", sort=alt.SortField("order"), title=None, axis=alt.Axis(labelAngle=0))
    columns = (
        alt.Chart(alt.Data(values=bars))
        .mark_bar(size=max(10, int(width / max(1, len(net)) * 0.45)))
        .encode(
            x=x,
            y=alt.Y("customers:Q", title="customers", axis=alt.Axis(format="~s", tickCount=5)),
            color=alt.Color("kind:N", scale=alt.Scale(domain=["Gained (new + won back)", "Lost"], range=[GAIN, LOSS]), title=None),
        )
    )
    net_line = alt.Chart(alt.Data(values=net)).mark_line(color=INK, point=alt.OverlayMarkDef(color=INK, size=30)).encode(x=x, y="net:Q")
    # Net figures sit above each period's gains bar, clear of the bars and the line.
    labels = alt.Chart(alt.Data(values=net)).mark_text(dy=-7, fontSize=9, color=INK).encode(x=x, y="gained:Q", text="text:N")
    zero = alt.Chart(alt.Data(values=[{"zero": 0}])).mark_rule(color="#999").encode(y="zero:Q")
    skipped = len(card["trend"]) - len(shown)
    subtitle = f"the data begins {data_from}; earlier periods are left out" if skipped else ""
    chart = (columns + zero + net_line + labels).properties(
        width=width, height=height,
        title=alt.TitleParams("Gained versus lost, last periods (line: net)", subtitle=subtitle, subtitleFontSize=8.5, subtitleColor="#666"),
    )  # fmt: skip
    return to_svg(chart)


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
    y_axis = alt.Axis(format=".0%" if as_share else "~s", tickCount=5, title="cumulative profit" + (" (% of total)" if as_share else ""))
    x = alt.X("customers:Q", axis=alt.Axis(format=".0%", title="customers, most profitable first"), scale=alt.Scale(domain=[0, 1]))
    line = alt.Chart(alt.Data(values=points)).mark_line(color=GAIN, strokeWidth=2.5).encode(x=x, y=alt.Y("profit:Q", axis=y_axis))
    marks = [{"customers": peak["customers_share"] or 0.0, "profit": peak_y, "text": peak_label}]
    peak_point = alt.Chart(alt.Data(values=marks)).mark_point(filled=True, size=70, color=INK).encode(x=x, y="profit:Q")
    # The label sits on whichever side of the peak has room.
    right_side = (peak["customers_share"] or 0.0) < 0.6
    peak_text = (
        alt.Chart(alt.Data(values=marks))
        .mark_text(dy=-10, fontSize=10, color=INK, align="left" if right_side else "right", dx=6 if right_side else -6)
        .encode(x=x, y="profit:Q", text="text:N")
    )
    break_even = alt.Chart(alt.Data(values=marks)).mark_rule(color=LOSS, strokeDash=[4, 3]).encode(x=x)
    layers = [line, break_even, peak_point, peak_text]
    if as_share:
        total = alt.Chart(alt.Data(values=[{"profit": 1.0, "customers": 0.45, "text": "100 % = total profit"}]))
        layers.append(total.mark_rule(color="#999").encode(y="profit:Q"))
        layers.append(total.mark_text(align="left", dy=10, fontSize=9, color="#666").encode(x=x, y="profit:Q", text="text:N"))
    chart = alt.layer(*layers).properties(
        width=width, height=height, title="Whale curve: who creates and who destroys profit (dashed: break-even)"
    )
    return to_svg(chart)
