"""SPEC §3.8 on hand-computed tables: profit per customer, the whale curve's peak, value destroyers,
cost by kind; ties, all-negative segments, order-level margins, and absence without costs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from conftest import card, compute, make_data

D = Decimal


@pytest.fixture
def costed(data_dir):
    customers = [("A", "X"), ("B", "X"), ("C", "Y"), ("D", "Y"), ("E", "Y"), ("F", "X", "2025-09-01")]
    orders = [
        ("A", "2025-08-01", "1000"),
        ("B", "2025-08-01", "200"),
        ("C", "2023-01-01", "100"),  # not active at e: revenue 0
        ("D", "2025-09-15", "60"),
        ("E", "2025-08-01", "100"),
        ("F", "2025-03-01", "400"),  # closed at e: revenue 0
    ]
    costs = [
        ["A", "2025-09-01", "100", "support"],
        ["B", "2025-05-01", "300", "returns"],
        ["B", "2025-06-01", "50", "support"],
        ["C", "2025-02-01", "80", "shipping"],
        ["E", "2024-09-30", "500", "support"],  # the day before the window: not counted
        ["F", "2025-06-01", "20", "support"],
    ]
    return make_data(data_dir, customers, orders, costs=costs)


def test_profit_peak_and_destroyers(costed):
    company = card(compute(costed, gross_margin=D("0.5")))["profitability"]
    # profits: A 500−100 = 400, E 50, D 30, F −20, C −80, B 100−350 = −250
    assert (company["revenue"], company["gross_profit"], company["cost_to_serve"], company["total_profit"]) == (
        D("1360.00"), D("680.00"), D("550.00"), D("130.00"))  # fmt: skip
    assert company["customers"] == 6
    assert company["peak"] == {"customers": 3, "customers_share": 0.5, "profit": D("480.00"), "profit_share": pytest.approx(480 / 130)}
    assert company["destroyers"] == {"customers": 3, "customers_share": 0.5, "profit_eroded": D("350.00")}
    assert company["cost_by_kind"] == [
        {"kind": "returns", "amount": D("300.00"), "customers": 1},
        {"kind": "support", "amount": D("170.00"), "customers": 3},
        {"kind": "shipping", "amount": D("80.00"), "customers": 1},
    ]
    assert [(d["customer_id"], d["profit"], d["main_cost_kind"]) for d in company["top_destroyers"]] == [
        ("B", D("-250.00"), "returns"), ("C", D("-80.00"), "shipping"), ("F", D("-20.00"), "support")]  # fmt: skip
    assert company["top_destroyers"][0] | {} == {
        "customer_id": "B", "name": "Name of B", "revenue": D("200.00"), "cost_to_serve": D("350.00"),
        "profit": D("-250.00"), "main_cost_kind": "returns", "main_cost": D("300.00")}  # fmt: skip
    curve = company["curve"]
    assert curve[-1]["customers_share"] == 1.0 and curve[-1]["cumulative_profit"] == D("130.00") and curve[-1]["profit_share"] == 1.0
    assert max(point["cumulative_profit"] for point in curve) == D("480.00")


def test_segments_add_up_and_all_negative_segment(costed):
    document = compute(costed, gross_margin=D("0.5"))
    x, y = card(document, "X")["profitability"], card(document, "Y")["profitability"]
    assert x["total_profit"] + y["total_profit"] == card(document)["profitability"]["total_profit"]
    # X: A 400, F −20, B −250; Y: E 50, D 30, C −80
    assert x["peak"] == {
        "customers": 1,
        "customers_share": pytest.approx(1 / 3),
        "profit": D("400.00"),
        "profit_share": pytest.approx(400 / 130),
    }
    all_negative = compute(costed, gross_margin=D("0"))  # no margin: every customer with costs loses money
    company = card(all_negative)["profitability"]
    assert company["total_profit"] == D("-550.00")
    assert company["peak"] == {"customers": 0, "customers_share": 0.0, "profit": D("0.00"), "profit_share": None}
    assert company["destroyers"]["customers"] == 4  # A, B, C, F; D and E have profit exactly 0


def test_ties_are_broken_by_customer_id(data_dir):
    customers = [("Z", "X"), ("M", "X"), ("A", "X")]
    orders = [("Z", "2025-08-01", "10"), ("M", "2025-08-01", "10"), ("A", "2025-08-01", "10")]
    costs = [["Z", "2025-08-02", "50", "support"], ["M", "2025-08-02", "50", "support"], ["A", "2025-08-02", "50", "returns"]]
    company = card(compute(make_data(data_dir, customers, orders, costs=costs), gross_margin=D("0.5")))["profitability"]
    assert [d["customer_id"] for d in company["top_destroyers"]] == ["A", "M", "Z"]


def test_order_level_margin_column(data_dir):
    customers = [("A", "X")]
    orders = [
        {"customer_id": "A", "order_date": "2025-08-01", "amount": "100", "margin": "0.2"},
        {"customer_id": "A", "order_date": "2025-08-02", "amount": "100", "margin": "0.6"},
    ]
    costs = [["A", "2025-08-03", "30", "support"]]
    company = card(compute(make_data(data_dir, customers, orders, costs=costs)))["profitability"]
    assert (company["gross_profit"], company["total_profit"]) == (D("80.00"), D("50.00"))


def test_absent_without_costs_and_explained_without_margin(data_dir, costed):
    make_data(data_dir / "plain", [("A", "X")], [("A", "2025-08-01", "5")])
    plain = compute(data_dir / "plain", gross_margin=D("0.4"))
    assert all(c["profitability"] is None for c in plain["scorecards"])
    no_margin = compute(costed)
    assert all(c["profitability"] is None for c in no_margin["scorecards"])
    assert "no gross margin" in no_margin["notes"][0]
