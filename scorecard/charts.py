"""Charts: small, pre-aggregated frames from the metrics document → Altair → SVG (vl-convert, offline).

Every chart uses one installed font (DejaVu Sans) so vl-convert measures text as WeasyPrint draws it,
and a colour-blind-safe palette (Okabe–Ito). `allowed_base_urls=[]` keeps Vega from loading anything.
"""

from __future__ import annotations

import math
from decimal import Decimal

import altair as alt
import altair.utils.schemapi
import vl_convert

from . import formatting

FONT = "DejaVu Sans"
GAIN = "#0072B2"  # blue
GAIN_SOFT = "#56B4E9"  # sky blue
LOSS = "#D55E00"  # vermillion
LOSS_SOFT = "#E69F00"  # orange
TOTAL = "#7F7F7F"
INK = "#222222"
GRID = "#E6E6E6"

# Altair checks every channel and mark object against the Vega-Lite schema as it is made: a tenth of a
# scorecard's chart time, guarding nothing here (the specs are ours and fixed; `_spec` skips the same check).
altair.utils.schemapi.disable_debug_mode()


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


_CONFIG: dict = {}


def _config() -> dict:
    """The shared look (fonts, colours, axes), as Vega-Lite config: made once per process."""
    if not _CONFIG:
        _CONFIG.update(_configured(alt.Chart(alt.Data(values=[])).mark_point()).to_dict(validate=False)["config"])
    return _CONFIG


def _spec(chart: alt.TopLevelMixin | dict) -> dict:
    """A chart's Vega-Lite without the keys only the top level carries. Schema validation costs a third
    of the time and guards nothing here: the specs are ours and fixed."""
    if isinstance(chart, dict):
        return chart
    spec = chart.to_dict(validate=False)
    spec.pop("$schema", None)
    spec.pop("config", None)
    return spec


def layered(*charts, **properties) -> dict:
    """Charts drawn over each other, as plain Vega-Lite. Altair's own layer and concat deep-copy every
    subchart, with its data, several times over: that cost more than drawing the chart."""
    return {"layer": [_spec(chart) for chart in charts], **properties}


def stacked(*charts, **properties) -> dict:
    """Charts one above the other sharing the x scale, as plain Vega-Lite (see `layered`)."""
    return {"vconcat": [_spec(chart) for chart in charts], "resolve": {"scale": {"x": "shared"}}, **properties}


def _hoist_datasets(spec: dict, datasets: dict) -> dict:
    """Named datasets may only sit at the top level: move the parts' up."""
    datasets.update(spec.pop("datasets", {}))
    for key in ("layer", "vconcat"):
        for part in spec.get(key, []):
            _hoist_datasets(part, datasets)
    return spec


# SI-prefixed axes label zero as "0", not "0M" (the prefix of the other ticks).
ZERO_LABEL = "datum.value == 0 ? '0' : datum.label"


def to_svg(chart: alt.TopLevelMixin | dict) -> str:
    datasets: dict = {}
    spec = _hoist_datasets(dict(_spec(chart)), datasets)
    top = {"$schema": alt.SCHEMA_URL, **spec, "config": _config()} | ({"datasets": datasets} if datasets else {})
    return vl_convert.vegalite_to_svg(top, allowed_base_urls=[])


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
    colours = alt.Scale(domain=["total", "gain", "loss"], range=[TOTAL, GAIN, LOSS])
    domain = zoomed_domain(rows)
    scale = alt.Scale(domain=list(domain), clamp=True, nice=False, zero=False) if domain else alt.Scale(nice=True)
    title_params = alt.TitleParams(
        title,
        subtitle=f"≈ axis broken: it starts at {axis_label(domain[0])}, not zero" if domain else "",
        subtitleFontSize=9,
        subtitleColor=LOSS,
        subtitleFontWeight="bold",
    )
    # Horizontal, like a bridge table read top to bottom: step names never collide, and each bar's
    # figure sits just right of it.
    base = alt.Chart(alt.Data(values=rows)).encode(
        y=alt.Y("step:N", sort=alt.SortField("order"), title=None, axis=alt.Axis(ticks=False, domain=False, labelPadding=4)),
    )
    if whole:
        low, high = domain or (0, max(row["high"] for row in rows))
        ticks = [tick for tick in whole_ticks(low, high, 4) if low <= tick <= high]
        axis = alt.Axis(format="~s", values=ticks, labelExpr=ZERO_LABEL)
    else:
        axis = alt.Axis(format="~s", tickCount=4, labelExpr=ZERO_LABEL)
    bar_height = max(8, int(height / len(rows) * 0.62))
    bars = base.mark_bar(height=bar_height, clip=True).encode(
        x=alt.X("low:Q", title=None, axis=axis, scale=scale),
        x2=alt.X2("high:Q"),
        color=alt.Color("kind:N", scale=colours, legend=None),
    )
    text = base.mark_text(align="left", dx=4, fontSize=9.5, color=INK).encode(x=alt.X("high:Q"), text=alt.Text("text:N"))
    layers = [bars, text]
    if domain:
        # The break: a white ≈ across each total bar, just right of where the axis starts.
        marks = [
            {"step": row["step"], "order": row["order"], "at": domain[0] + 0.06 * (domain[1] - domain[0])}
            for row in rows
            if row["kind"] == "total"
        ]
        layers.append(
            alt.Chart(alt.Data(values=marks))
            .mark_text(text="≈", fontSize=bar_height * 1.5, fontWeight="bold", color="white", baseline="middle")
            .encode(x=alt.X("at:Q", scale=scale), y=alt.Y("step:N", sort=alt.SortField("order")))
        )
    return to_svg(layered(*layers, width=width, height=height, title=title_params.to_dict()))


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


def _period_axis(shown: list[dict], labels: bool) -> alt.X:
    return alt.X(
        "period:N",
        sort=[period["period"] for period in shown],
        title=None,
        axis=alt.Axis(labelAngle=0, labels=labels, ticks=labels, domain=False, labelPadding=2),
    )


def _figure_rows(shown: list[dict], rows: list[tuple[str, list[str]]], width: int) -> alt.Chart:
    """A small table under a trend chart, one column per period (aligned with the bars): the figures
    that would otherwise sit on the bars and lines, and which periods have short history."""
    if any(period["short_history"] for period in shown):
        rows = [*rows, ("History", ["⚠ short" if period["short_history"] else "full" for period in shown])]
    cells = [
        {"period": period["period"], "row": name, "order": index, "text": texts[position], "short": period["short_history"]}
        for index, (name, texts) in enumerate(rows)
        for position, period in enumerate(shown)
    ]
    return (
        alt.Chart(alt.Data(values=cells))
        .mark_text(fontSize=9, color=INK)
        .encode(
            x=_period_axis(shown, labels=False),
            y=alt.Y("row:N", sort=[name for name, _ in rows], title=None, axis=alt.Axis(ticks=False, domain=False, labelFontWeight="bold")),
            text=alt.Text("text:N"),
        )
        .properties(width=width, height=13 * len(rows))
    )


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
    y_axis = alt.Axis(format=",d", values=ticks, labelOverlap=False)
    columns = (
        alt.Chart(alt.Data(values=bars))
        .mark_bar(size=max(10, int(width / max(1, len(net)) * 0.45)))
        .encode(
            x=x,
            y=alt.Y("customers:Q", title="customers", axis=y_axis),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(domain=["Gained", "Lost"], range=[GAIN, LOSS]),
                title=None,
                legend=alt.Legend(orient="right", labelLimit=150),
            ),
            opacity=alt.OpacityValue(1.0, condition={"test": "datum.short", "value": 0.35}),
        )
    )
    net_line = (
        alt.Chart(alt.Data(values=net))
        .mark_line(color=INK, point=alt.OverlayMarkDef(color=INK, size=30))
        .encode(x=x, y=alt.Y("net:Q", title="customers", axis=y_axis))
    )
    zero = alt.Chart(alt.Data(values=[{"zero": 0}])).mark_rule(color="#999").encode(y=alt.Y("zero:Q", title="customers", axis=y_axis))
    top = layered(columns, zero, net_line, width=width, height=height)
    rows = _figure_rows(shown, [("Net", [numbers.count(p["headline"]["customers_net"], signed=True) for p in shown])], width)
    title = alt.TitleParams(
        "Customers gained (new + won back) versus lost, last periods (line: net)",
        subtitle=_short_subtitle(card, shown, data_from),
        subtitleFontSize=8.5,
        subtitleColor="#666",
    )
    return to_svg(stacked(top, rows, spacing=2, title=title.to_dict()))


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
    columns = (
        alt.Chart(alt.Data(values=bars))
        .mark_bar(size=max(10, int(width / max(1, len(shown)) * 0.45)))
        .encode(
            x=x,
            y=alt.Y("value:Q", title="run-rate", stack="zero", axis=alt.Axis(format="~s", tickCount=5, labelExpr=ZERO_LABEL)),
            color=alt.Color(
                "part:N",
                scale=alt.Scale(domain=[label for _, label, _, _ in VALUE_PARTS], range=[colour for *_, colour in VALUE_PARTS]),
                title=None,
                legend=alt.Legend(orient="right", labelLimit=150),
            ),
            order=alt.Order("order:Q"),
            opacity=alt.OpacityValue(1.0, condition={"test": "datum.short", "value": 0.35}),
        )
    )
    net = [{"period": period["period"], "net": float(period["headline"]["value_net"])} for period in shown]
    net_marks = (
        alt.Chart(alt.Data(values=net))
        .mark_tick(color=INK, thickness=2, size=max(10, int(width / max(1, len(shown)) * 0.55)))
        .encode(x=x, y=alt.Y("net:Q"))
    )
    zero = alt.Chart(alt.Data(values=[{"zero": 0}])).mark_rule(color="#999").encode(y=alt.Y("zero:Q"))
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
    title = alt.TitleParams(
        "Annual run-rate value gained versus lost (black tick: net)",
        subtitle=_short_subtitle(card, shown, data_from),
        subtitleFontSize=8.5,
        subtitleColor="#666",
    )
    return to_svg(stacked(top, rows, spacing=2, title=title.to_dict()))


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
    y_axis = alt.Axis(
        format=".0%" if as_share else "~s",
        labelExpr=ZERO_LABEL,
        tickCount=5,
        title="cumulative profit" + (" (% of total; grey line: 100 %)" if as_share else ""),
    )
    x = alt.X("customers:Q", axis=alt.Axis(format=".0%", title="customers, most profitable first"), scale=alt.Scale(domain=[0, 1]))
    line = alt.Chart(alt.Data(values=points)).mark_line(color=GAIN, strokeWidth=2.5).encode(x=x, y=alt.Y("profit:Q", axis=y_axis))
    marks = [{"customers": peak["customers_share"] or 0.0, "profit": peak_y, "text": peak_label}]
    peak_point = alt.Chart(alt.Data(values=marks)).mark_point(filled=True, size=70, color=INK).encode(x=x, y=alt.Y("profit:Q"))
    # The label sits on whichever side of the peak has room.
    right_side = (peak["customers_share"] or 0.0) < 0.6
    peak_text = (
        alt.Chart(alt.Data(values=marks))
        .mark_text(dy=-10, fontSize=10, color=INK, align="left" if right_side else "right", dx=6 if right_side else -6)
        .encode(x=x, y=alt.Y("profit:Q"), text=alt.Text("text:N"))
    )
    break_even = alt.Chart(alt.Data(values=marks)).mark_rule(color=LOSS, strokeDash=[4, 3]).encode(x=x)
    layers = [line, break_even, peak_point, peak_text]
    if as_share:  # the 100 % line is named in the axis title: a label on the chart would sit on the curve
        layers.append(alt.Chart(alt.Data(values=[{"profit": 1.0}])).mark_rule(color="#999").encode(y=alt.Y("profit:Q")))
    return to_svg(
        layered(*layers, width=width, height=height, title="Whale curve: who creates and who destroys profit (dashed: break-even)")
    )


def for_scorecard(document: dict, card: dict) -> dict[str, str]:
    """Every chart of a scorecard as SVG text, drawn once for the PDF and the HTML summary."""
    numbers = formatting.Numbers.for_document(document)
    svgs = {
        "count_bridge": count_bridge(card, numbers),
        "value_bridge": value_bridge(card, numbers),
        "trend": gains_losses_trend(card, numbers, document["data_from"]),
        "value_trend": value_trend(card, numbers, document["data_from"]),
    }
    if card["profitability"]:
        svgs["whale_curve"] = whale_curve(card["profitability"], numbers)
    return svgs


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
    vl_convert.vegalite_to_svg({**spec, "config": _config()}, allowed_base_urls=[])
