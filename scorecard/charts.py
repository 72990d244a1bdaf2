"""Charts: small JSON "frames" from the metrics document, drawn natively in Typst (templates/pdf/charts.typ).

Python decides everything a chart shows: the figures (formatted by `formatting.Numbers`, as everywhere
else in the report), titles, the axis domain and its ticks, which periods are shown and which are pale,
the figure rows under the trends, legends and colours (the colour-blind-safe Okabe–Ito palette below, the
one place it is defined). Typst only draws: the PDF templates place a frame as Typst content with
`chart(name, frame, width: …)`, and `svgs` compiles templates/pdf/chart_pages.typ to one SVG per chart for
the HTML summaries, at the widths the PDF uses, so both show the same drawing.
"""

from __future__ import annotations

import math
from decimal import Decimal

from . import formatting, typesetting

GAIN = "#0072B2"  # blue
GAIN_SOFT = "#56B4E9"  # sky blue
LOSS = "#D55E00"  # vermillion
LOSS_SOFT = "#E69F00"  # orange
EXPANSION = "#009E73"  # bluish green
TOTAL = "#7F7F7F"
INK = "#222222"
GRID = "#E6E6E6"
AXIS = "#999999"
MUTED = "#666666"
# The shared colours every frame carries (the bars' own colours travel with the bars).
COLOURS = {"ink": INK, "grid": GRID, "axis": AXIS, "muted": MUTED, "loss": LOSS}
KIND_COLOURS = {"total": TOTAL, "gain": GAIN, "loss": LOSS}
PALE = 0.35  # the opacity of a period with short history

# Widths in points, as the PDF places the charts (bridges in two columns, the rest across the page); the
# HTML summaries get their SVG at the same widths, so both look alike.
WIDTHS = {"count_bridge": 248, "value_bridge": 248, "trend": 510, "value_trend": 510, "whale_curve": 510}


# --- axes ------------------------------------------------------------------------------------------------


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
    gains and losses are visible; None when starting at zero shows them well enough (or when nothing
    moved, so there is no span to zoom into)."""
    levels = [row["low"] for row in rows if row["kind"] != "total"] + [row["high"] for row in rows]
    low, high = min(levels), max(levels)
    if low <= 0 or high <= 0 or (high - low) > 0.35 * high:
        return None
    start = _nice_floor(low - 0.6 * (high - low))
    return (start, high) if 0 < start < high else None


def _step(low: float, high: float, count: int) -> tuple[int, int]:
    """The tick step for about `count` ticks over [low, high], as (1, 2, 5 or 10; power of ten), the way
    d3 (and so the Vega charts before these) chooses it."""
    raw = (high - low) / max(count, 1)
    power = math.floor(math.log10(raw))
    error = raw / 10**power
    factor = 10 if error >= math.sqrt(50) else 5 if error >= math.sqrt(10) else 2 if error >= math.sqrt(2) else 1
    return factor, power


def _multiple(index: int, step: tuple[int, int]) -> float:
    factor, power = step
    return float(index * factor * 10**power) if power >= 0 else index * factor / 10**-power


def _spread(low: float, high: float) -> tuple[float, float]:
    """An interval an axis can show: a single value gets some room around it."""
    if high > low:
        return low, high
    return (low - 1, high + 1) if low != 0 else (0.0, 1.0)


def with_headroom(low: float, high: float, share: float = 0.08) -> tuple[float, float]:
    """[low, high] widened by `share` of its span on the sides away from zero, so the tallest bar, a net
    marker or a label never touches the edge of the plot."""
    span = (high - low) or abs(high) or 1.0
    return (low - share * span if low < 0 else low), (high + share * span if high > 0 else high)


def nice_domain(low: float, high: float, count: int = 10) -> tuple[float, float]:
    """[low, high] widened to whole tick steps (d3's `nice`, as Vega's axes did)."""
    low, high = _spread(low, high)
    for _ in range(2):  # a second pass settles a step that the first widening changed
        step = _step(low, high, count)
        low = _multiple(math.floor(low / _multiple(1, step) + 1e-9), step)
        high = _multiple(math.ceil(high / _multiple(1, step) - 1e-9), step)
    return low, high


def nice_ticks(low: float, high: float, count: int) -> list[float]:
    """About `count` ticks at round values (1, 2 or 5 × 10^k apart) within [low, high]."""
    low, high = _spread(low, high)
    step = _step(low, high, count)
    first, last = math.ceil(low / _multiple(1, step) - 1e-9), math.floor(high / _multiple(1, step) + 1e-9)
    return [_multiple(index, step) for index in range(first, last + 1)]


_PREFIXES = {0: "", 3: "K", 6: "M", 9: "B", 12: "T"}  # as the figures beside the axes write them: €147K


def si_labels(ticks: list[float], numbers: formatting.Numbers) -> list[str]:
    """Tick labels with one SI-style prefix for the whole axis, chosen by its largest value, and as many
    decimals as the step needs: 2K, 2.5K, 3K; −0.5M, 0, 0.5M, 1M (as d3's `~s`, with the report's K for
    thousands). Zero is plain "0"."""
    if not ticks:
        return []
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else abs(ticks[0]) or 1.0
    largest = max(abs(tick) for tick in ticks) or 1.0
    exponent = min(12, max(0, 3 * (math.floor(math.log10(largest)) // 3)))
    decimals = max(0, exponent - math.floor(math.log10(step)))
    labels = []
    for tick in ticks:
        if tick == 0:
            labels.append("0")
            continue
        body = f"{abs(tick) / 10**exponent:,.{decimals}f}"
        if "." in body:
            body = body.rstrip("0").rstrip(".")
        labels.append(numbers.localised((formatting.MINUS if tick < 0 else "") + body + _PREFIXES[exponent]))
    return labels


def count_labels(ticks: list[float], numbers: formatting.Numbers) -> list[str]:
    """Whole-number tick labels with thousands separators: −100, 0, 1,000."""
    return [numbers.count(int(tick)) for tick in ticks]


def share_labels(ticks: list[float], zero: str = "0") -> list[str]:
    """Percent tick labels without decimals: 0, 50%, 100%."""
    return [zero if tick == 0 else f"{formatting.MINUS if tick < 0 else ''}{abs(tick) * 100:.0f}%" for tick in ticks]


def _ticks(values: list[float], labels: list[str]) -> list[dict]:
    return [{"at": float(value), "label": label} for value, label in zip(values, labels, strict=True)]


# --- waterfall bridges -------------------------------------------------------------------------------------


def waterfall(
    steps: list[tuple[str, Decimal | int, str]], *, title: str, label, axis_label, numbers, height: int, whole: bool = False
) -> dict:
    """steps: (label, amount, kind) with kind total, gain or loss; totals stand on zero, the rest float.
    `label` formats an amount for the text beside each bar, `axis_label` an axis value; `whole`: the amounts
    are counts, so the axis has no fractional ticks. When the axis does not start at zero, the total bars
    carry a break mark (≈) and the subtitle says where the axis starts.

    The frame: title, subtitle; height (of the plot, pt); domain [low, high] of the value axis and its
    ticks [{at, label}]; bars [{label, low, high, kind, colour, text, broken}] top to bottom (`text`: the
    figure right of the bar; `broken`: carries the ≈ mark, drawn at `break_at`); colours."""
    rows, level = [], Decimal(0)
    for name, amount, kind in steps:
        amount = Decimal(amount)
        if kind == "total":
            low, high, level = Decimal(0), amount, amount
        else:
            low, high = level, level + amount
            level = high
        rows.append(
            {
                "label": name,
                "low": float(min(low, high)),
                "high": float(max(low, high)),
                "kind": kind,
                "colour": KIND_COLOURS[kind],
                "text": label(amount, kind),
            }
        )
    zoomed = zoomed_domain(rows)
    if zoomed:
        low, high = zoomed
    else:
        low, high = nice_domain(0.0, max(row["high"] for row in rows))
    if whole:
        values = [tick for tick in whole_ticks(low, high, 4) if low <= tick <= high]
    else:
        values = nice_ticks(low, high, 4)
    for row in rows:
        row["broken"] = bool(zoomed) and row["kind"] == "total"
    return {
        "title": title,
        "subtitle": f"≈ axis broken: it starts at {axis_label(zoomed[0])}, not zero" if zoomed else "",
        "height": height,
        "domain": [float(low), float(high)],
        "ticks": _ticks(values, si_labels(values, numbers)),
        "break_at": float(low + 0.06 * (high - low)) if zoomed else None,
        "bars": rows,
        "colours": COLOURS,
    }


def count_bridge(card: dict, numbers: formatting.Numbers, height: int = 150) -> dict:
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
        numbers=numbers,
        height=height,
        whole=True,
    )


def value_bridge(card: dict, numbers: formatting.Numbers, height: int = 170) -> dict:
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
        numbers=numbers,
        height=height,
    )


# --- trends ------------------------------------------------------------------------------------------------


def _shown_periods(card: dict, data_from: str | None) -> list[dict]:
    """The trend periods worth drawing: those that ended before the data begins would read as zeros."""
    return [period for period in card["trend"] if data_from is None or period["period_end"] > data_from] or card["trend"][-1:]


def _figure_rows(shown: list[dict], rows: list[tuple[str, list[str]]]) -> list[dict]:
    """The small table under a trend chart, one cell per period (aligned with the bars): the figures
    that would otherwise sit on the bars and lines, and which periods have short history."""
    if any(period["short_history"] for period in shown):
        rows = [*rows, ("History", ["⚠ short" if period["short_history"] else "full" for period in shown])]
    return [{"label": name, "cells": cells} for name, cells in rows]


def _short_subtitle(card: dict, shown: list[dict], data_from: str | None) -> str:
    notes = []
    if len(shown) < len(card["trend"]):
        notes.append(f"the data begins {data_from}; earlier periods are left out")
    if any(period["short_history"] for period in shown):
        notes.append("pale, ⚠ short: short history, so gains are overstated and losses understated")
    return "; ".join(notes)


def _periods(shown: list[dict]) -> list[dict]:
    return [
        {"label": period["period"], "short": period["short_history"], "opacity": PALE if period["short_history"] else 1.0}
        for period in shown
    ]


def _trend_frame(card, shown, data_from, *, title, axis_title, height, domain, ticks, bars, net, legend, rows) -> dict:
    """The frame of a trend chart: title, subtitle; height (of the plot, pt); axis_title; domain
    [low, high] of the value axis and its ticks [{at, label}]; periods [{label, short, opacity}]; bars,
    per period, the parts [{low, high, colour, label}] (gains up from zero, losses down); net {style: line
    or tick, values per period}; legend [{label, colour}]; rows [{label, cells per period}]; colours."""
    return {
        "title": title,
        "subtitle": _short_subtitle(card, shown, data_from),
        "height": height,
        "axis_title": axis_title,
        "domain": [float(domain[0]), float(domain[1])],
        "ticks": ticks,
        "periods": _periods(shown),
        "bars": bars,
        "net": net,
        "legend": legend,
        "rows": rows,
        "colours": COLOURS,
    }


def gains_losses_trend(card: dict, numbers: formatting.Numbers, data_from: str | None = None, height: int = 100) -> dict:
    """Customers gained (up) and lost (down) per period, with the net as a line and, under the chart, the
    net per period. Periods with short history are pale."""
    shown = _shown_periods(card, data_from)
    gained = [period["headline"]["customers_gained"] for period in shown]
    lost = [period["headline"]["customers_lost"] for period in shown]
    low, high = min([0, *(-amount for amount in lost)]), max([0, *gained])
    domain = nice_domain(*with_headroom(low, high))
    values = [tick for tick in whole_ticks(low, high, 5) if domain[0] <= tick <= domain[1]]
    bars = [
        [
            {"low": 0.0, "high": float(up), "colour": GAIN, "label": "Gained"},
            {"low": float(-down), "high": 0.0, "colour": LOSS, "label": "Lost"},
        ]
        for up, down in zip(gained, lost, strict=True)
    ]
    return _trend_frame(
        card,
        shown,
        data_from,
        title="Customers gained (new + won back) versus lost, last periods (line: net)",
        axis_title="customers",
        height=height,
        domain=domain,
        ticks=_ticks(values, count_labels(values, numbers)),
        bars=bars,
        net={"style": "line", "values": [float(up - down) for up, down in zip(gained, lost, strict=True)]},
        legend=[{"label": "Gained", "colour": GAIN}, {"label": "Lost", "colour": LOSS}],
        rows=_figure_rows(shown, [("Net", [numbers.count(p["headline"]["customers_net"], signed=True) for p in shown])]),
    )


VALUE_PARTS = (
    # (part, label, sign, colour): gains stack up from zero, losses down, in this order
    ("value_new", "New", 1, GAIN),
    ("value_reactivated", "Won back", 1, GAIN_SOFT),
    ("value_expansion", "Expansion", 1, EXPANSION),
    ("value_lost", "Lost customers", -1, LOSS),
    ("value_contraction", "Contraction", -1, LOSS_SOFT),
)


def _stacked(period: dict) -> list[dict]:
    """A period's value parts as bars stacked from zero: gains upwards, losses downwards."""
    parts, top, bottom = [], 0.0, 0.0
    for key, label, sign, colour in VALUE_PARTS:
        amount = float(period[key])
        if sign > 0:
            parts.append({"low": top, "high": top + amount, "colour": colour, "label": label})
            top += amount
        else:
            parts.append({"low": bottom - amount, "high": bottom, "colour": colour, "label": label})
            bottom -= amount
    return parts


def value_trend(card: dict, numbers: formatting.Numbers, data_from: str | None = None, height: int = 100) -> dict:
    """Value gained (new, won back, expansion: up) and lost (lost customers, contraction: down) per period,
    with the net value change, NRR and GRR of each period under the chart."""
    shown = _shown_periods(card, data_from)
    bars = [_stacked(period) for period in shown]
    net = [float(period["headline"]["value_net"]) for period in shown]
    levels = [0.0, *net, *(level for parts in bars for part in parts for level in (part["low"], part["high"]))]
    domain = nice_domain(*with_headroom(min(levels), max(levels)))
    values = nice_ticks(*domain, 5)
    return _trend_frame(
        card,
        shown,
        data_from,
        title="Annual run-rate value gained versus lost (black tick: net)",
        axis_title="run-rate",
        height=height,
        domain=domain,
        ticks=_ticks(values, si_labels(values, numbers)),
        bars=bars,
        net={"style": "tick", "values": net},
        legend=[{"label": label, "colour": colour} for _, label, _, colour in VALUE_PARTS],
        rows=_figure_rows(
            shown,
            [
                ("Net", [numbers.money(p["headline"]["value_net"], signed=True) for p in shown]),
                ("NRR", [numbers.percent(p["rates"]["nrr"], digits=0) for p in shown]),
                ("GRR", [numbers.percent(p["rates"]["grr"], digits=0) for p in shown]),
            ],
        ),
    )


# --- whale curve -------------------------------------------------------------------------------------------


def whale_curve(profitability: dict, numbers: formatting.Numbers, height: int = 210) -> dict:
    """Cumulative profit against the share of customers, most profitable first, with the peak marked.
    In % of total profit when the total is positive; in money otherwise (a share of a loss misleads).

    The frame: title, subtitle; height (of the plot, pt); x_title, y_title; x_domain, y_domain and their
    ticks [{at, label}]; points [[customers share, profit]] from (0, 0); line_colour; peak {x, y, label,
    side (right or left: where the label has room)}; reference: the y of the grey 100 % line, or null;
    in_shares; colours."""
    as_share = profitability["total_profit"] > 0
    points = [[0.0, 0.0]] + [
        [float(p["customers_share"]), float(p["profit_share"] if as_share else p["cumulative_profit"])] for p in profitability["curve"]
    ]
    peak = profitability["peak"]
    peak_x = float(peak["customers_share"] or 0.0)
    peak_y = float(peak["profit_share"] if as_share else peak["profit"])
    peak_label = (
        f"peak: top {numbers.percent(peak['customers_share'], digits=0)} earn {numbers.percent(peak['profit_share'], digits=0)}"
        if as_share
        else f"peak: {numbers.money(peak['profit'])}"
    )
    levels = [0.0, peak_y, *(y for _, y in points)] + ([1.0] if as_share else [])
    y_domain = nice_domain(*with_headroom(min(levels), max(levels), share=0.12))  # room for the peak's label
    y_values = nice_ticks(*y_domain, 5)
    x_values = nice_ticks(0.0, 1.0, 10)
    return {
        "title": "Whale curve: who creates and who destroys profit (dashed: break-even)",
        "subtitle": "",
        "height": height,
        "x_title": "customers, most profitable first",
        "y_title": "cumulative profit" + (" (% of total; grey line: 100 %)" if as_share else ""),
        "x_domain": [0.0, 1.0],
        "y_domain": [float(y_domain[0]), float(y_domain[1])],
        "x_ticks": _ticks(x_values, share_labels(x_values, zero="0%")),
        "y_ticks": _ticks(y_values, share_labels(y_values, zero="0%") if as_share else si_labels(y_values, numbers)),
        "points": points,
        "line_colour": GAIN,
        # The label sits on whichever side of the peak has room.
        "peak": {"x": peak_x, "y": peak_y, "label": peak_label, "side": "right" if peak_x < 0.6 else "left"},
        "reference": 1.0 if as_share else None,
        "in_shares": bool(as_share),
        "colours": COLOURS,
    }


# --- the scorecard's charts ----------------------------------------------------------------------------------


def frames(document: dict, card: dict) -> dict[str, dict]:
    """Every chart of a scorecard as a frame (plain JSON values), for charts.typ to draw."""
    numbers = formatting.Numbers.for_document(document)
    result = {
        "count_bridge": count_bridge(card, numbers),
        "value_bridge": value_bridge(card, numbers),
        "trend": gains_losses_trend(card, numbers, document["data_from"]),
        "value_trend": value_trend(card, numbers, document["data_from"]),
    }
    if card["profitability"]:
        result["whale_curve"] = whale_curve(card["profitability"], numbers)
    return result


def svgs(frames: dict[str, dict]) -> dict[str, str]:
    """The charts as SVG text, one per frame, drawn by the same Typst code as the PDF at the PDF's widths."""
    if not frames:
        return {}
    names = list(frames)
    model = {"charts": [{"name": name, "frame": frames[name], "width": WIDTHS[name]} for name in names]}
    pages = typesetting.compile_document("chart_pages.typ", model, format="svg")
    if isinstance(pages, bytes):  # a single page comes back on its own
        pages = [pages]
    return {name: page.decode("utf-8") for name, page in zip(names, pages, strict=True)}


def for_scorecard(document: dict, card: dict) -> dict[str, str]:
    """Every chart of a scorecard as SVG text (the HTML summary inlines them)."""
    return svgs(frames(document, card))
