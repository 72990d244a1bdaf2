"""The charts: Python prepares each chart's frame (every figure, tick, title and which periods are pale),
Typst draws it (templates/pdf/charts.typ), and the HTML summaries take the same drawing as SVG."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from conftest import card, compute
from scorecard import chart_markup, charts, formatting

NUMBERS = formatting.Numbers(currency="EUR")
MINUS = formatting.MINUS


def bridge_card(start=10, new=3, reactivated=1, lapsed=2, closed=1) -> dict:
    end = start + new + reactivated - lapsed - closed
    return {"customers": {"start": start, "new": new, "reactivated": reactivated, "lost_lapsed": lapsed, "lost_closed": closed, "end": end}}


def trend_period(label: str, end: str, gained: int, lost: int, short: bool) -> dict:
    parts = {"value_new": Decimal(600), "value_reactivated": Decimal(50), "value_expansion": Decimal(300)}
    losses = {"value_lost": Decimal(200), "value_contraction": Decimal(100)}
    return {
        "period": label,
        "period_end": end,
        "short_history": short,
        **parts,
        **losses,
        "headline": {"customers_gained": gained, "customers_lost": lost, "customers_net": gained - lost, "value_net": Decimal(650)},
        "rates": {"nrr": 1.1, "grr": None},
    }


def trend_card() -> dict:
    return {
        "trend": [
            trend_period("2024-Q4", "2025-01-01", 5, 0, True),  # ended before the data begins: left out
            trend_period("2025-Q1", "2025-04-01", 12, 1, True),
            trend_period("2025-Q2", "2025-07-01", 9, 4, False),
            trend_period("2025-Q3", "2025-10-01", 7, 3, False),
        ]
    }


def test_a_tiny_customer_bridge_steps_from_start_to_end():
    frame = charts.count_bridge(bridge_card(), NUMBERS)
    levels = [(bar["label"], bar["low"], bar["high"], bar["kind"]) for bar in frame["bars"]]
    assert levels == [
        ("Start", 0, 10, "total"),
        ("New", 10, 13, "gain"),
        ("Won back", 13, 14, "gain"),
        ("Lapsed", 12, 14, "loss"),
        ("Closed", 11, 12, "loss"),
        ("End", 0, 11, "total"),
    ]
    assert [bar["text"] for bar in frame["bars"]] == ["10", "+3", "+1", f"{MINUS}2", f"{MINUS}1", "11"]
    assert [bar["colour"] for bar in frame["bars"]] == [charts.TOTAL, charts.GAIN, charts.GAIN, charts.LOSS, charts.LOSS, charts.TOTAL]


def test_the_axis_is_broken_exactly_when_zoomed_domain_says_and_the_subtitle_names_its_start():
    zoomed = charts.count_bridge(bridge_card(), NUMBERS)  # levels 10–14: small steps next to the totals
    assert charts.zoomed_domain(zoomed["bars"]) == (5, 14)
    assert zoomed["domain"] == [5, 14]
    assert zoomed["subtitle"] == "≈ axis broken: it starts at 5, not zero"
    assert [bar["broken"] for bar in zoomed["bars"]] == [True, False, False, False, False, True]
    assert zoomed["break_at"] == pytest.approx(5 + 0.06 * 9)

    whole = charts.count_bridge(bridge_card(start=10, new=20, reactivated=0, lapsed=1, closed=0), NUMBERS)  # big steps
    assert charts.zoomed_domain(whole["bars"]) is None
    assert whole["domain"][0] == 0 and whole["domain"][1] >= 30
    assert whole["subtitle"] == "" and whole["break_at"] is None
    assert not any(bar["broken"] for bar in whole["bars"])


def test_a_bridge_where_nothing_moved_keeps_its_axis_at_zero_and_draws():
    """Two customers at the start, the same two at the end: no span to zoom into (the axis once
    collapsed to 2–2 and the drawing divided by zero)."""
    still = charts.count_bridge(bridge_card(start=2, new=0, reactivated=0, lapsed=0, closed=0), NUMBERS)
    assert charts.zoomed_domain(still["bars"]) is None
    assert still["domain"][0] == 0 and still["domain"][1] >= 2 and still["subtitle"] == ""
    svg = charts.svgs({"count_bridge": still})["count_bridge"]
    assert svg.startswith("<svg")


def test_a_broken_value_axis_names_its_start_in_money():
    value = {"start": Decimal("8142368.60"), "new": Decimal("192766.40"), "reactivated": Decimal("28015.95")}
    value |= {"expansion": Decimal("883694.48"), "contraction": Decimal("405662.23"), "lost": Decimal("310691.67")}
    value["end"] = value["start"] + value["new"] + value["reactivated"] + value["expansion"] - value["contraction"] - value["lost"]
    frame = charts.value_bridge({"value": value}, NUMBERS)
    assert frame["subtitle"] == "≈ axis broken: it starts at €5.0M, not zero"
    assert [tick["label"] for tick in frame["ticks"]] == ["5M", "6M", "7M", "8M", "9M"]
    assert [bar["text"] for bar in frame["bars"]][:2] == ["€8.1M", "+€193K"]


def test_customer_axes_have_whole_number_ticks():
    frame = charts.count_bridge(bridge_card(), NUMBERS)
    assert [(tick["at"], tick["label"]) for tick in frame["ticks"]] == [(5, "5"), (10, "10")]
    trend = charts.gains_losses_trend(trend_card(), NUMBERS)
    ats = [tick["at"] for tick in trend["ticks"]]
    assert {0, 5, 10} <= set(ats) and all(float(at).is_integer() for at in ats)
    assert trend["domain"][1] >= 12 * 1.05  # headroom over the tallest bar (12 gained)
    assert [tick["label"] for tick in trend["ticks"]] == ["\u22125", "0", "5", "10"]
    assert trend["domain"] == [-6, 14]  # every bar on the axis with room to spare; ticks only within it
    many = trend_card()
    many["trend"][0]["headline"] |= {"customers_gained": 1234, "customers_lost": 600}
    assert [tick["label"] for tick in charts.gains_losses_trend(many, NUMBERS)["ticks"]] == [f"{MINUS}500", "0", "500", "1,000"]


def test_tick_labels_share_one_prefix_like_the_old_axes():
    assert charts.si_labels([2000, 2500, 3000], NUMBERS) == ["2K", "2.5K", "3K"]
    assert charts.si_labels([-500_000, 0, 500_000, 1_000_000], NUMBERS) == [f"{MINUS}0.5M", "0", "0.5M", "1M"]
    assert charts.si_labels([0, 100, 200], NUMBERS) == ["0", "100", "200"]
    assert charts.si_labels([2000, 2500], formatting.Numbers(number_format="1.234,56")) == ["2K", "2,5K"]
    assert charts.nice_ticks(5e6, 9.25e6, 4) == [5e6, 6e6, 7e6, 8e6, 9e6]
    assert charts.nice_domain(-4, 998) == (-100, 1000)


def test_short_history_periods_are_pale_and_the_history_row_says_so():
    frame = charts.gains_losses_trend(trend_card(), NUMBERS, data_from="2025-01-15")
    assert [period["label"] for period in frame["periods"]] == ["2025-Q1", "2025-Q2", "2025-Q3"]
    assert [period["opacity"] for period in frame["periods"]] == [0.35, 1.0, 1.0]
    assert frame["rows"] == [
        {"label": "Net", "cells": ["+11", "+5", "+4"]},
        {"label": "History", "cells": ["⚠ short", "full", "full"]},
    ]
    assert frame["subtitle"].startswith("the data begins 2025-01-15; earlier periods are left out; pale, ⚠ short")
    assert frame["net"] == {"style": "line", "values": [11, 5, 4]}
    assert frame["bars"][0] == [
        {"low": 0, "high": 12, "colour": charts.GAIN, "label": "Gained"},
        {"low": -1, "high": 0, "colour": charts.LOSS, "label": "Lost"},
    ]

    full = trend_card()
    for period in full["trend"]:
        period["short_history"] = False
    plain = charts.gains_losses_trend(full, NUMBERS)
    assert [row["label"] for row in plain["rows"]] == ["Net"] and plain["subtitle"] == ""
    assert {period["opacity"] for period in plain["periods"]} == {1.0}


def test_the_value_trend_stacks_gains_up_and_losses_down_with_nrr_and_grr_under_it():
    frame = charts.value_trend(trend_card(), NUMBERS)
    parts = [(part["label"], part["low"], part["high"]) for part in frame["bars"][0]]
    assert parts == [
        ("New", 0, 600),
        ("Won back", 600, 650),
        ("Expansion", 650, 950),
        ("Lost customers", -200, 0),
        ("Contraction", -300, -200),
    ]
    assert frame["net"] == {"style": "tick", "values": [650, 650, 650, 650]}
    assert [row["label"] for row in frame["rows"]] == ["Net", "NRR", "GRR", "History"]
    assert frame["rows"][0]["cells"][0] == "+€650" and frame["rows"][1]["cells"][0] == "110 %" and frame["rows"][2]["cells"][0] == "–"
    assert [entry["label"] for entry in frame["legend"]] == ["New", "Won back", "Expansion", "Lost customers", "Contraction"]


def whale(total_profit) -> dict:
    as_share = total_profit > 0
    share = (lambda profit: profit / total_profit) if as_share else (lambda profit: None)
    curve = [(0.25, Decimal(3000)), (0.5, Decimal(4000)), (0.75, Decimal(1000)), (1.0, total_profit)]
    return {
        "total_profit": total_profit,
        "curve": [{"customers_share": x, "cumulative_profit": y, "profit_share": share(y)} for x, y in curve],
        "peak": {"customers": 2, "customers_share": 0.5, "profit": Decimal(4000), "profit_share": share(Decimal(4000))},
    }


def test_the_whale_curve_is_in_money_when_total_profit_is_not_positive():
    frame = charts.whale_curve(whale(Decimal(-2000)), NUMBERS)
    assert frame["in_shares"] is False and frame["reference"] is None
    assert frame["points"] == [[0, 0], [0.25, 3000], [0.5, 4000], [0.75, 1000], [1.0, -2000]]
    assert frame["peak"] == {"x": 0.5, "y": 4000, "label": "peak: €4.0K", "side": "right"}
    assert frame["y_title"] == "cumulative profit"
    assert frame["y_domain"][0] <= -2000 and frame["y_domain"][1] >= 4000
    assert not any(tick["label"].endswith("%") for tick in frame["y_ticks"])

    shares = charts.whale_curve(whale(Decimal(2000)), NUMBERS)
    assert shares["in_shares"] is True and shares["reference"] == 1.0
    assert shares["points"][2] == [0.5, 2.0]
    assert shares["peak"]["label"] == "peak: top 50 % earn 200 %"
    assert [tick["label"] for tick in shares["y_ticks"]] == ["0%", "50%", "100%", "150%", "200%"]


def test_a_peak_far_right_is_labelled_on_its_left():
    profitability = whale(Decimal(2000))
    profitability["peak"]["customers_share"] = 0.8
    assert charts.whale_curve(profitability, NUMBERS)["peak"]["side"] == "left"


@pytest.fixture(scope="module")
def sample_document() -> dict:
    return compute(None, "2025-Q3")


def test_frames_are_plain_json_and_the_whale_curve_comes_with_profitability(sample_document):
    company = card(sample_document, None)
    frames = charts.frames(sample_document, company)
    assert list(frames) == ["count_bridge", "value_bridge", "trend", "value_trend", "whale_curve"]
    json.dumps(frames)  # no Decimal, no date: only JSON's own values
    without = charts.frames(sample_document, company | {"profitability": None})
    assert list(without) == ["count_bridge", "value_bridge", "trend", "value_trend"]


def test_the_sample_charts_are_svg_that_an_html_summary_accepts(sample_document):
    company = card(sample_document, None)
    svgs = charts.for_scorecard(sample_document, company)
    assert list(svgs) == ["count_bridge", "value_bridge", "trend", "value_trend", "whale_curve"]
    for name, svg in svgs.items():
        assert svg.startswith("<svg") and "<use" in svg, name  # text drawn as glyphs
        inlined = str(chart_markup.inline_svg(svg, name.replace("_", "-"), name))
        assert 'role="img"' in inlined and f'href="#{name.replace("_", "-")}-' in inlined
    # each chart on its own page, at the width the PDF gives it (plus the page's margins)
    assert 'width="256pt"' in svgs["count_bridge"] and 'width="518pt"' in svgs["trend"]
