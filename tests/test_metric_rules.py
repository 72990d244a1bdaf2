"""Each rule of SPEC §3 on a tiny hand-computed table.

Period 2025-Q3 = [2025-07-01, 2025-10-01); W = 365 days, so RR(c, s) looks at [2024-07-01, 2025-07-01)
and RR(c, e) at [2024-10-01, 2025-10-01).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from conftest import card, compute, make_data

D = Decimal


def test_gains_losses_and_value_bridge(data_dir):
    customers = [(c, "X") for c in "ABCDEFGH"]
    orders = [
        ("A", "2025-01-15", "100"), ("A", "2025-08-01", "50"),  # retained, grew (Δ = +50)
        ("B", "2024-08-01", "200"),  # lost: in the start window only
        ("C", "2025-08-15", "80"),  # new: first order in the period
        ("D", "2023-05-01", "40"), ("D", "2025-09-01", "60"),  # reactivated: bought long before
        ("E", "2025-07-10", "30"), ("E", "2025-07-20", "-30"),  # in and out: bought and returned everything
        ("F", "2024-07-15", "100"), ("F", "2025-09-01", "85"),  # retained, declined (Δ = −15 < −10)
        ("G", "2024-07-15", "100"), ("G", "2025-08-01", "95"),  # retained, stable (Δ = −5)
        ("H", "2024-07-10", "10"), ("H", "2024-08-10", "10"), ("H", "2025-08-01", "25"),  # grew, ordering less often
    ]  # fmt: skip
    company = card(compute(make_data(data_dir, customers, orders)))
    assert company["customers"] == {
        "start": 5, "new": 1, "reactivated": 1, "lost": 1, "lost_lapsed": 1, "lost_closed": 0, "end": 6,
        "retained": 4, "grew": 2, "stable": 1, "declined": 1, "ordering_less_often": 1, "in_and_out": 1,
        "gained": 2, "net": 1,
    }  # fmt: skip
    assert company["value"] == {
        "start": D("520.00"), "new": D("80.00"), "reactivated": D("60.00"), "expansion": D("55.00"),
        "contraction": D("20.00"), "lost": D("200.00"), "end": D("495.00"),
    }  # fmt: skip
    rates = company["rates"]
    assert rates["logo_retention"] == pytest.approx(0.8)
    assert rates["logo_churn"] == pytest.approx(0.2)
    assert rates["grr"] == pytest.approx(300 / 520)
    assert rates["nrr"] == pytest.approx(355 / 520)
    assert rates["gain_loss_ratio"] == pytest.approx(2.0)
    assert card(compute(data_dir), "X")["customers"] == company["customers"]


def test_orders_exactly_on_boundaries(data_dir):
    customers = [(c, "X") for c in ("P1", "P2", "P3", "P4", "P5")]
    orders = [
        ("P1", "2025-07-01", "50"),  # on s: in the period and in RR(e), not in RR(s) → new
        ("P2", "2025-10-01", "70"),  # on e: outside the period and outside RR(e) → nothing
        ("P3", "2024-07-01", "30"),  # on s − W: inside RR(s), outside RR(e) → lost
        ("P4", "2024-10-01", "40"),  # on e − W: inside both windows → retained
        ("P5", "2024-06-30", "20"),  # the day before s − W: in no window → nothing
    ]
    company = card(compute(make_data(data_dir, customers, orders)))
    assert company["customers"]["start"] == 2  # P3, P4
    assert company["customers"]["new"] == 1  # P1
    assert company["customers"]["lost"] == 1  # P3
    assert company["customers"]["retained"] == 1  # P4
    assert company["customers"]["end"] == 2  # P1, P4
    assert company["customers"]["in_and_out"] == 0  # P2's order is not in the period
    assert company["value"]["start"] == D("70.00")
    assert company["value"]["end"] == D("90.00")


def test_closures_and_reopening(data_dir):
    customers = [
        ("K1", "X", "2025-08-01"),  # closed in the period → lost_closed
        ("K2", "X", "2025-08-01"),  # closed, then bought again → reopened, retained
        ("K3", "X", "2025-05-01"),  # closed before s (so not in S), reopened in the period → reactivated
        ("K4", "X", "2025-08-01"),  # an order on the closure date itself does not reopen
        ("K5", "X", "2025-08-01"),  # a refund after closure does not reopen
        ("K6", "X", "2025-09-30"),  # closed the day before e → closed at e
        ("K7", "X", "2025-10-01"),  # closed on e: closed_at < e is false → still active at e
    ]
    orders = [
        ("K1", "2025-03-01", "100"),
        ("K2", "2025-03-01", "100"), ("K2", "2025-09-01", "50"),
        ("K3", "2025-02-01", "100"), ("K3", "2025-09-15", "20"),
        ("K4", "2025-03-01", "100"), ("K4", "2025-08-01", "40"),
        ("K5", "2025-03-01", "100"), ("K5", "2025-09-01", "-10"),
        ("K6", "2025-03-01", "100"),
        ("K7", "2025-03-01", "100"),
    ]  # fmt: skip
    company = card(compute(make_data(data_dir, customers, orders)))
    counts = company["customers"]
    assert counts["start"] == 6  # all but K3, which was closed at s
    assert counts["lost_closed"] == 4  # K1, K4, K5, K6
    assert counts["lost_lapsed"] == 0
    assert counts["retained"] == 2  # K2, K7
    assert counts["reactivated"] == 1  # K3
    assert counts["new"] == 0
    assert company["value"]["lost"] == D("400.00")
    assert company["value"]["reactivated"] == D("120.00")  # K3's whole window: 100 + 20
    assert company["value"]["end"] == D("370.00")  # K2 150 + K3 120 + K7 100
    top_lost = company["top_lost"]
    assert [row["customer_id"] for row in top_lost] == ["K1", "K4", "K5", "K6"]
    assert all(row["closed"] for row in top_lost)


def test_refunds_cancellations_and_refund_only_customers(data_dir):
    customers = [(c, "X") for c in ("R1", "R2", "R3", "R4", "R5", "R6")]
    orders = [
        ("R1", "2025-01-10", "100"), ("R1", "2025-08-01", "-100"),  # refunded away → lost
        ("R2", "2025-08-01", "-50"),  # only a refund: never active, not in and out
        ("R3", "2025-08-01", "500", "cancelled"),  # cancelled orders are ignored
        ("R4", "2024-08-01", "20"), ("R4", "2024-09-01", "-30"),  # RR(s) = −10: not active
        ("R5", "2025-08-01", "100", "CANCELLED"), ("R5", "2025-08-02", "10"),  # first real order is the 10
        ("R6", "2024-01-01", "-20"), ("R6", "2025-08-01", "30"),  # a refund is not a first order → new
    ]  # fmt: skip
    company = card(compute(make_data(data_dir, customers, orders)))
    counts = company["customers"]
    assert counts["start"] == 1 and counts["lost"] == 1  # R1
    assert counts["new"] == 2  # R5, R6
    assert counts["reactivated"] == 0
    assert counts["in_and_out"] == 0
    assert company["value"]["new"] == D("40.00")
    ignored = compute(data_dir)["data_quality"]["ignored"]
    assert ignored == [{"table": "orders", "reason": "cancelled order (ignored by definition)", "rows": 2, "amount": D("600.00")}]


def test_timestamps_are_converted_to_the_report_time_zone(data_dir):
    customers = [("T1", "X"), ("T2", "X")]
    orders = [
        ("T1", "2025-06-30T23:30:00-02:00", "10"),  # 2025-07-01 01:30 UTC
        ("T2", "2025-06-30T23:30:00", "10"),  # no offset: already report time
        ("T2", "2025-12-01T12:00:00Z", "1"),  # later data, so the period is covered
    ]
    make_data(data_dir, customers, orders)
    in_utc = card(compute(data_dir))["customers"]
    assert (in_utc["new"], in_utc["start"]) == (1, 1)  # T1 dated 2025-07-01, T2 dated 2025-06-30
    in_sao_paulo = card(compute(data_dir, time_zone="America/Sao_Paulo"))["customers"]
    assert (in_sao_paulo["new"], in_sao_paulo["start"]) == (0, 2)  # T1 is 2025-06-30 22:30 there


def test_empty_segment_has_a_zero_scorecard_with_null_rates(data_dir):
    customers = [("A", "Busy"), ("Q", "Quiet"), ("U", None)]
    orders = [("A", "2025-01-01", "10"), ("A", "2025-08-01", "10"), ("Q", "2020-01-01", "99"), ("U", "2025-08-01", "5")]
    document = compute(make_data(data_dir, customers, orders))
    assert [c["segment"] for c in document["scorecards"]] == [None, "Busy", "Quiet", "Unassigned"]
    quiet = card(document, "Quiet")
    assert set(quiet["customers"].values()) == {0}
    assert set(quiet["value"].values()) == {D("0.00")}
    assert quiet["rates"] == {"logo_retention": None, "logo_churn": None, "grr": None, "nrr": None, "gain_loss_ratio": None}
    assert quiet["tiers"] == {"core": None, "top": None}
    assert len(quiet["migration"]) == 20 and {cell["customers"] for cell in quiet["migration"]} == {0}
    assert quiet["top_lost"] == [] and quiet["referrals"]["highlights"] == []
    assert len(quiet["trend"]) == 8
    assert card(document, "Unassigned")["customers"]["new"] == 1


def test_tiers_from_end_customers_when_start_is_empty(data_dir):
    customers = [(f"N{i}", "X") for i in range(1, 6)]
    orders = [(f"N{i}", "2025-08-01", str(10 * i)) for i in range(1, 6)]
    company = card(compute(make_data(data_dir, customers, orders)))
    # quantile_disc over RR(c, e) = 10..50: q=0.5 → ceil(2.5) = 3rd → 30; q=0.8 → 4th → 40
    assert company["tiers"] == {"core": D("30.00"), "top": D("40.00")}
    cells = {(cell["from"], cell["to"]): (cell["customers"], cell["value"]) for cell in company["migration"]}
    assert cells[("new", "base")] == (2, D("30.00"))
    assert cells[("new", "core")] == (1, D("30.00"))
    assert cells[("new", "top")] == (2, D("90.00"))


def test_tier_thresholds_and_migration_matrix(data_dir):
    customers = [(f"M{i:02d}", "X") for i in range(1, 11)] + [("L", "X"), ("N", "X")]
    # RR(c, s) = 10, 20, …, 100 → core = 5th smallest = 50, top = 8th = 80
    orders = [(f"M{i:02d}", "2025-01-01", str(10 * i)) for i in range(1, 11)]
    orders += [
        ("M04", "2025-08-01", "50"),  # 40 → 90: base → top
        ("M09", "2025-08-01", "-60"),  # 90 → 30: top → base
        ("M06", "2025-08-01", "-60"),  # 60 → 0: core → lost
        ("N", "2025-08-01", "55"),  # new → core
    ]
    company = card(compute(make_data(data_dir, customers, orders)))
    assert company["tiers"] == {"core": D("50.00"), "top": D("80.00")}
    cells = {(cell["from"], cell["to"]): (cell["customers"], cell["value"]) for cell in company["migration"]}
    assert cells[("base", "top")] == (1, D("90.00"))
    assert cells[("top", "base")] == (1, D("30.00"))
    assert cells[("core", "lost")] == (1, D("60.00"))
    assert cells[("new", "core")] == (1, D("55.00"))
    assert cells[("base", "base")] == (3, D("60.00"))  # M01–M03
    assert cells[("core", "core")] == (2, D("120.00"))  # M05, M07
    assert cells[("top", "top")] == (2, D("180.00"))  # M08, M10
    assert [(c["from"], c["to"]) for c in company["migration"]][:4] == [("new", "base"), ("new", "core"), ("new", "top"), ("new", "lost")]
    assert sum(customers for customers, _ in cells.values()) == company["customers"]["start"] + company["customers"]["gained"]
    within = {row["tier"]: row for row in company["within_tier"]}
    assert (within["base"]["stable"], within["core"]["stable"], within["top"]["stable"]) == (3, 2, 2)


def test_fixed_tier_thresholds_replace_quantiles(data_dir):
    customers = [("A", "X"), ("B", "X")]
    orders = [("A", "2025-01-01", "500"), ("B", "2025-01-01", "5000"), ("B", "2025-08-01", "1")]
    company = card(compute(make_data(data_dir, customers, orders), tier_thresholds=(D("1000"), D("4000"))))
    assert company["tiers"] == {"core": D("1000.00"), "top": D("4000.00")}
    cells = {(c["from"], c["to"]): c["customers"] for c in company["migration"]}
    assert cells[("base", "base")] == 1 and cells[("top", "top")] == 1  # not the quantiles of 500 and 5,000


def test_change_threshold_is_exact(data_dir):
    customers = [("EXACT", "X"), ("OVER", "X")]
    orders = [
        ("EXACT", "2025-01-01", "3.00"), ("EXACT", "2025-08-01", "0.30"),  # Δ = 0.30 = t·RR exactly → stable
        ("OVER", "2025-01-01", "3.00"), ("OVER", "2025-08-01", "0.31"),  # Δ = 0.31 > 0.30 → grew
    ]  # fmt: skip
    counts = card(compute(make_data(data_dir, customers, orders)))["customers"]
    assert (counts["stable"], counts["grew"]) == (1, 1)


def test_referrals_made_converted_and_highlighted(data_dir):
    customers = [
        ("REF", "X", None, "Referrer Ltd"),
        ("NEWBIE", "Y", None, "Newbie GmbH"),
        ("LATE", "Y", None, "Late Ltd"),
        ("NOBUY", "X", None, "Never Bought"),
    ]
    orders = [
        ("REF", "2025-01-01", "100"), ("REF", "2025-08-01", "100"),
        ("NEWBIE", "2025-08-15", "80"),
        ("LATE", "2025-08-15", "300"),
    ]  # fmt: skip
    referrals = [
        ["r1", "REF", "NEWBIE", "2025-08-10", "Loves the product"],  # converted before first order
        ["r2", "REF", "LATE", "2025-08-20", None],  # after LATE's first order: not a referred new customer
        ["r3", "REF", None, "2025-09-01", "Told a friend"],  # not converted
        ["r4", "NOBUY", None, "2025-08-01", None],  # referrer never ordered: no highlight
        ["r5", "REF", None, "2025-06-30", None],  # before the period
    ]
    document = compute(make_data(data_dir, customers, orders, referrals=referrals))
    company, x, y = card(document), card(document, "X"), card(document, "Y")
    assert (x["referrals"]["made"], x["referrals"]["referrers"]) == (4, 2)  # by the referrer's segment
    assert (y["referrals"]["made"], y["referrals"]["referrers"]) == (0, 0)
    assert (y["referrals"]["referred_new_customers"], y["referrals"]["referred_new_value"]) == (1, D("80.00"))
    assert x["referrals"]["referred_new_customers"] == 0
    assert company["referrals"]["referred_new_customers"] == 1
    highlights = company["referrals"]["highlights"]
    # converted first, then by the referred customer's RR(c, e): LATE (300) before NEWBIE (80)
    assert [h["referral_id"] for h in highlights] == ["r2", "r1"]
    assert highlights[1] == {
        "referral_id": "r1", "referrer_id": "REF", "referrer_name": "Referrer Ltd",
        "referred_customer_id": "NEWBIE", "referred_name": "Newbie GmbH", "referred_at": "2025-08-10",
        "value": D("80.00"), "note": "Loves the product",
    }  # fmt: skip
    assert y["referrals"]["highlights"] == []


def test_unconverted_referrals_rank_after_converted_ones(data_dir):
    customers = [("REF", "X"), ("NEW", "X")]
    orders = [("REF", "2025-01-01", "100"), ("NEW", "2025-09-01", "10")]
    referrals = [
        ["a", "REF", None, "2025-07-02", None],
        ["b", "REF", None, "2025-07-01", None],
        ["c", "REF", "NEW", "2025-08-30", None],
    ]
    highlights = card(compute(make_data(data_dir, customers, orders, referrals=referrals)))["referrals"]["highlights"]
    assert [h["referral_id"] for h in highlights] == ["c", "b"]
    assert highlights[1]["value"] is None


def test_top_lists_order_and_ties(data_dir):
    customers = [(c, "X") for c in ("Z", "Y", "X1", "W", "D1", "D2", "D3")]
    orders = [
        ("Z", "2024-08-01", "50"), ("Y", "2024-08-01", "50"), ("X1", "2024-08-01", "80"), ("W", "2024-08-01", "10"),
        ("D1", "2025-01-01", "100"), ("D1", "2025-08-01", "-50"),  # Δ −50
        ("D2", "2025-01-01", "100"), ("D2", "2025-08-01", "-20"),  # Δ −20
        ("D3", "2025-01-01", "100"), ("D3", "2025-08-01", "-5"),  # Δ −5: within the threshold, not a decliner
    ]  # fmt: skip
    company = card(compute(make_data(data_dir, customers, orders), top_n=3))
    assert [(r["customer_id"], r["value"]) for r in company["top_lost"]] == [("X1", D("80.00")), ("Y", D("50.00")), ("Z", D("50.00"))]
    assert [(r["customer_id"], r["change"]) for r in company["top_decliners"]] == [("D1", D("-50.00")), ("D2", D("-20.00"))]


def test_trend_covers_the_last_periods_and_ends_with_the_reported_one(data_dir):
    customers = [("A", "X")]
    orders = [("A", "2024-02-01", "10"), ("A", "2025-08-01", "20")]
    trend = card(compute(make_data(data_dir, customers, orders)))["trend"]
    assert [t["period"] for t in trend] == ["2023-Q4", "2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3"]
    by_period = {t["period"]: t for t in trend}
    assert by_period["2024-Q1"]["new"] == 1 and by_period["2024-Q1"]["value_end"] == D("10.00")
    assert by_period["2025-Q1"]["lost"] == 1  # the 2024-02-01 order leaves the window on 2025-02-01
    assert by_period["2025-Q3"]["reactivated"] == 1 and by_period["2025-Q3"]["start"] == 0


def test_amounts_are_exact_decimals(data_dir):
    customers = [("A", "X")]
    orders = [("A", "2025-08-01", "0.10")] * 3 + [("A", "2025-08-02", "0.20")]
    company = card(compute(make_data(data_dir, customers, orders)))
    assert company["value"]["end"] == D("0.50")  # 0.1 + 0.1 + 0.1 + 0.2, not 0.5000000001


def test_customer_ids_stay_text(data_dir):
    customers = [("00017", "X"), ("17", "X")]
    orders = [("00017", "2024-08-01", "5"), ("17", "2024-08-01", "7"), ("17", "2025-10-05", "1")]
    company = card(compute(make_data(data_dir, customers, orders)))
    assert company["customers"]["lost"] == 2  # two customers, not one "17"
    assert [row["customer_id"] for row in company["top_lost"]] == ["17", "00017"]


def test_window_must_cover_the_period(data_dir):
    from scorecard.errors import UsageError

    make_data(data_dir, [("A", "X")], [("A", "2025-08-01", "5")])
    with pytest.raises(UsageError, match="window"):
        compute(data_dir, period="2025", window_days=300)
