"""The headline and its comparisons, short history and segment grouping, on tiny hand-computed tables
and on the sample: value gained − value lost = value net = end − start; the previous period and the
same period a year ago equal separate runs for those periods; "Other segments" by activity."""

from __future__ import annotations

from decimal import Decimal

import pytest

from conftest import card, compute, make_data
from scorecard.errors import DataError, UsageError
from scorecard.metrics import HEADLINE_KEYS, check_invariants
from scorecard.settings import Settings

D = Decimal

BRIDGE_CUSTOMERS = [(c, "X") for c in "ABCDEFGH"]
BRIDGE_ORDERS = [
    ("A", "2025-01-15", "100"), ("A", "2025-08-01", "50"),  # retained, +50
    ("B", "2024-08-01", "200"),  # lost, 200
    ("C", "2025-08-15", "80"),  # new, 80
    ("D", "2023-05-01", "40"), ("D", "2025-09-01", "60"),  # won back, 60
    ("E", "2025-07-10", "30"), ("E", "2025-07-20", "-30"),  # in and out
    ("F", "2024-07-15", "100"), ("F", "2025-09-01", "85"),  # retained, −15
    ("G", "2024-07-15", "100"), ("G", "2025-08-01", "95"),  # retained, −5
    ("H", "2024-07-10", "10"), ("H", "2024-08-10", "10"), ("H", "2025-08-01", "25"),  # retained, +5
]  # fmt: skip


def headline_only(figures: dict) -> dict:
    return {key: figures[key] for key in HEADLINE_KEYS}


def test_value_gained_lost_and_net_add_up_with_their_parts(data_dir):
    company = card(compute(make_data(data_dir, BRIDGE_CUSTOMERS, BRIDGE_ORDERS)))
    headline = company["headline"]
    # start 520, end 495; new 80 + won back 60 + expansion 55 = 195; lost 200 + contraction 20 = 220
    assert headline_only(headline) == {
        "customers_gained": 2, "customers_lost": 1, "customers_net": 1,
        "value_gained": D("195.00"), "value_lost": D("220.00"), "value_net": D("-25.00"),
    }  # fmt: skip
    assert headline["parts"] == {
        "new": D("80.00"), "reactivated": D("60.00"), "expansion": D("55.00"),
        "lost_lapsed": D("200.00"), "lost_closed": D("0.00"), "contraction": D("20.00"),
    }  # fmt: skip
    assert headline["value_net"] == company["value"]["end"] - company["value"]["start"]
    last = company["trend"][-1]
    assert last["headline"] == headline_only(headline)
    assert last["rates"]["nrr"] == pytest.approx(355 / 520) and last["rates"]["grr"] == pytest.approx(300 / 520)
    # The biggest movements, as the narrative names them
    assert headline["loss_driver"] == {"segment": "X", "movement": "lost_lapsed", "customers": 1, "value": D("200.00"),
                                       "share": pytest.approx(200 / 220)}  # fmt: skip
    assert headline["gain_driver"]["movement"] == "new" and headline["gain_driver"]["value"] == D("80.00")


def test_check_invariants_catches_a_headline_that_does_not_add_up():
    document = compute(None, "2025-Q3")
    document["scorecards"][1]["headline"]["value_lost"] += D("0.01")
    problems = check_invariants(document)
    assert any("value_gained − value_lost = value_net" in p for p in problems)
    assert any("headline reported value_lost" in p for p in problems)


@pytest.mark.parametrize(("period", "previous", "year_ago"), [("2025-Q3", "2025-Q2", "2024-Q3"), ("2025-07", "2025-06", "2024-07"),
                                                               ("2025-H1", "2024-H2", "2024-H1"), ("2025", "2024", "2024")])  # fmt: skip
def test_comparisons_equal_separate_runs_for_those_periods(period, previous, year_ago):
    """One run computes the comparison periods alongside the trend (a month's year-ago period lies
    beyond the 8-month trend); every scorecard equals a separate run for that period."""
    document = compute(None, period)
    earlier = {label: compute(None, label) for label in {previous, year_ago}}
    assert [t["period"] for t in document["scorecards"][0]["trend"]][-1] == period
    assert len(document["scorecards"][0]["trend"]) == 8
    for scorecard in document["scorecards"]:
        for key, label in (("previous", previous), ("year_ago", year_ago)):
            comparison = scorecard["headline"][key]
            assert comparison["period"] == label
            separate = card(earlier[label], scorecard["segment"])["headline"]
            assert headline_only(comparison) == headline_only(separate), (scorecard["segment"], key)


def test_comparisons_group_segments_as_the_reported_period_does(data_dir):
    """'Small' was active in Q2 but has nobody active in Q3: in the Q3 run it is part of Other segments,
    for Q2 too, so the comparison is like for like; a separate Q2 run, which sizes segments by Q2, keeps
    it. The company's figures are the same either way."""
    customers = [("B1", "Big"), ("B2", "Big"), ("S1", "Small"), ("S2", "Small")]
    orders = [
        ("B1", "2025-01-10", "100"), ("B1", "2025-08-10", "100"), ("B2", "2025-05-01", "50"),
        ("S1", "2024-04-15", "70"), ("S2", "2024-05-20", "30"),  # active at 2025-04-01, lapsed in Q2
    ]  # fmt: skip
    data = make_data(data_dir, customers, orders)
    q3 = compute(data, "2025-Q3", min_segment_customers=1)
    q2 = compute(data, "2025-Q2", min_segment_customers=1)
    assert [c["segment"] for c in q3["scorecards"]] == [None, "Big", "Other segments"]
    assert [c["segment"] for c in q2["scorecards"]] == [None, "Big", "Small"]
    assert q3["segment_grouping"]["other_segments"] == [{"segment": "Small", "customers": 0}]
    other = card(q3, "Other segments")["headline"]["previous"]
    assert headline_only(other) == headline_only(card(q2, "Small")["headline"])
    assert other["customers_lost"] == 2 and other["value_lost"] == D("100.00")
    assert headline_only(card(q3)["headline"]["previous"]) == headline_only(card(q2)["headline"])


def test_comparison_is_null_when_the_data_does_not_reach_back(data_dir):
    data = make_data(data_dir, [("A", "X")], [("A", "2025-01-15", "100"), ("A", "2025-08-01", "10")])
    headline = card(compute(data, "2025-Q3"))["headline"]
    assert headline["previous"]["period"] == "2025-Q2" and headline["previous"]["short_history"] is True
    assert headline["year_ago"] is None  # 2024-Q3 starts before the first order


def test_short_history_and_its_remedies(data_dir):
    data = make_data(data_dir, [("A", "X")], [("A", "2025-01-15", "100"), ("A", "2025-08-01", "10")])
    document = compute(data, "2025-Q3")
    assert card(document)["history"] == {
        "data_from": "2025-01-15", "needed_from": "2024-07-01", "short": True,
        "max_window_days": 167, "full_history_from": "2026-01-15",
    }  # fmt: skip
    full = compute(data, "2025-Q3", window_days=120)
    assert card(full)["history"]["short"] is False and card(full)["history"]["needed_from"] == "2025-03-03"


def test_trend_periods_are_marked_when_their_history_is_short(data_dir):
    """Data from 2023-01-01, W = 365: a period starting on 2024-01-01 looks back exactly to the first
    order (full history); every earlier one is short."""
    data = make_data(data_dir, [("A", "X")], [("A", "2023-01-01", "100"), ("A", "2025-08-01", "10")])
    trend = card(compute(data, "2025-Q3"))["trend"]
    assert {t["period"]: t["short_history"] for t in trend} == {
        "2023-Q4": True, "2024-Q1": False, "2024-Q2": False, "2024-Q3": False,
        "2024-Q4": False, "2025-Q1": False, "2025-Q2": False, "2025-Q3": False,
    }  # fmt: skip


def test_small_segments_are_grouped_by_customers_active_at_the_start_or_end(data_dir):
    """Big has 30 customers active at the end; Mid 10 active at the start only (lost in the period);
    Tiny 1 customer who never bought. With the default minimum of 30, Mid and Tiny become Other segments."""
    customers = [(f"B{n}", "Big") for n in range(30)] + [(f"M{n}", "Mid") for n in range(10)] + [("T0", "Tiny")]
    orders = [(f"B{n}", "2025-08-01", "10") for n in range(30)] + [(f"M{n}", "2024-08-01", "5") for n in range(10)]
    data = make_data(data_dir, customers, orders)
    document = compute(data, "2025-Q3", min_segment_customers=30)
    assert [(c["segment"], c["customers"]["end"], c["customers"]["lost"]) for c in document["scorecards"]] == [
        (None, 30, 10), ("Big", 30, 0), ("Other segments", 0, 10),
    ]  # fmt: skip
    assert document["segment_grouping"] == {
        "min_customers": 30, "only": None,
        "other_segments": [{"segment": "Mid", "customers": 10}, {"segment": "Tiny", "customers": 0}],
    }  # fmt: skip
    assert [c["segment"] for c in compute(data, "2025-Q3", min_segment_customers=10)["scorecards"]] == [
        None, "Big", "Mid", "Other segments",
    ]  # fmt: skip
    assert [c["segment"] for c in compute(data, "2025-Q3", min_segment_customers=0)["scorecards"]] == [None, "Big", "Mid", "Tiny"]
    assert Settings().min_segment_customers == 30
    with pytest.raises(UsageError, match="min-segment-customers"):
        Settings(min_segment_customers=-1)


def test_currency_comes_from_the_setting_or_the_orders_column(data_dir):
    plain = make_data(data_dir / "plain", [("A", "X")], [("A", "2025-08-01", "10")])
    assert compute(plain)["settings"]["currency"] is None
    assert compute(plain, currency="usd")["settings"]["currency"] == "USD"
    priced = make_data(
        data_dir / "priced", [("A", "X")], [{"customer_id": "A", "order_date": "2025-08-01", "amount": "10", "currency": "gbp"}]
    )
    assert compute(priced)["settings"]["currency"] == "GBP"
    assert compute(priced, currency="GBP")["settings"]["currency"] == "GBP"
    with pytest.raises(DataError, match="the orders are in GBP but the currency setting .* says EUR"):
        compute(priced, currency="EUR")
    with pytest.raises(UsageError, match="ISO 4217"):
        Settings(currency="Euro")
    odd = make_data(data_dir / "odd", [("A", "X")], [{"customer_id": "A", "order_date": "2025-08-01", "amount": "10", "currency": "£"}])
    with pytest.raises(DataError, match="column currency: '£' is not an ISO 4217 currency code"):
        compute(odd)


def test_every_scorecard_carries_headline_history_and_narrative_in_metrics_json():
    import json

    from typer.testing import CliRunner

    from scorecard.cli import app

    printed = CliRunner().invoke(app, ["metrics", "-p", "2025-07", "-f", "json"]).stdout
    document = json.loads(printed)
    for scorecard in document["scorecards"]:
        headline = scorecard["headline"]
        assert set(HEADLINE_KEYS) <= set(headline)
        for key in ("previous", "year_ago"):
            assert {"period", *HEADLINE_KEYS} <= set(headline[key])
        assert set(scorecard["history"]) >= {"data_from", "needed_from", "short"}
        ahead = scorecard["scope"] == "company" and bool(scorecard["at_risk"]["count"])  # the company's look ahead
        assert 3 <= len(scorecard["narrative"]) - ahead <= 5 and all(isinstance(s, str) and s.endswith(".") for s in scorecard["narrative"])
        assert all({"nrr", "grr"} == set(t["rates"]) and isinstance(t["short_history"], bool) for t in scorecard["trend"])
        assert headline["year_ago"]["period"] == "2024-07" and len(scorecard["trend"]) == 8
    csv_text = CliRunner().invoke(app, ["metrics", "-p", "2025-07", "-f", "csv"]).stdout
    assert ",headline.value_net," in csv_text and ",headline.year_ago.value_net," in csv_text and ",history.short," in csv_text
