"""Invariants of SPEC §3 (both bridges balance to the cent, segments add up to the company, migration
rows and columns sum to the states) on the bundled sample, the real online-retail data and generated
data; and, on generated data, every figure equal to a naive per-customer reading of the spec."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import REALDATA, compute, make_data
from reference import reference_scorecards
from scorecard.metrics import check_invariants


@pytest.mark.parametrize("period", ["2025-Q3", "2024-Q4", "2025-07", "2025-H1", "2024", "2023-Q1"])
def test_sample_data_invariants(period):
    document = compute(None, period)
    assert check_invariants(document) == []
    assert len(document["scorecards"]) == 6  # company + 5 segments


@pytest.mark.parametrize("period", ["2011-Q3", "2011-Q1", "2011-06", "2011-H1", "2011"])
def test_real_data_invariants(period):
    document = compute(REALDATA, period, max_excluded=Decimal("0.10"))
    assert check_invariants(document) == []
    assert len(document["scorecards"]) > 30  # one per country


def test_check_invariants_catches_a_broken_bridge():
    document = compute(None, "2025-Q3")
    document["scorecards"][1]["value"]["end"] += Decimal("0.01")
    problems = check_invariants(document)
    assert any("value bridge" in p for p in problems)
    assert any("segments do not add up" in p for p in problems)


FIRST_DAY = date(2023, 1, 1)
DAYS = (date(2026, 3, 31) - FIRST_DAY).days

customer_strategy = st.tuples(
    st.sampled_from(["A", "B", None]),
    st.one_of(st.none(), st.integers(0, DAYS)),  # closed_at
)
order_strategy = st.tuples(
    st.integers(0, 11),  # customer index
    st.integers(0, DAYS),  # order date
    st.integers(-20_000, 60_000),  # cents
    st.integers(0, 9).map(lambda n: n == 0),  # cancelled, one time in ten
)
PERIODS = ["2024-Q3", "2025-Q1", "2025-Q3", "2024-11", "2025-H1", "2024", "2025-06"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    customers=st.lists(customer_strategy, min_size=1, max_size=12),
    orders=st.lists(order_strategy, min_size=1, max_size=45),
    period=st.sampled_from(PERIODS),
    window=st.sampled_from([365, 400]),
)
def test_generated_data_matches_the_reference_reading_of_the_spec(tmp_path_factory, customers, orders, period, window):
    folder = tmp_path_factory.mktemp("gen")
    ids = [f"c{i:02d}" for i in range(len(customers))]
    customer_rows = [
        {
            "customer_id": cid,
            "name": cid,
            "segment": segment,
            "closed_at": str(FIRST_DAY + timedelta(days=closed)) if closed is not None else None,
        }
        for cid, (segment, closed) in zip(ids, customers, strict=True)
    ]
    order_rows = [
        {
            "customer_id": ids[index % len(ids)],
            "order_date": str(FIRST_DAY + timedelta(days=day)),
            "amount": str(Decimal(cents) / 100),
            "status": "cancelled" if cancelled else "completed",
        }
        for index, day, cents, cancelled in orders
    ]
    live_dates = [date.fromisoformat(o["order_date"]) for o in order_rows if o["status"] != "cancelled"]
    from scorecard.periods import parse_period

    parsed = parse_period(period)
    assume(live_dates and parsed.start <= max(live_dates))
    make_data(folder, customer_rows, order_rows)
    document = compute(folder, period, as_of=date(2027, 1, 1), window_days=window)
    assert check_invariants(document) == []

    expected = reference_scorecards(
        {
            row["customer_id"]: {"segment": row["segment"], "closed_at": date.fromisoformat(row["closed_at"]) if row["closed_at"] else None}
            for row in customer_rows
        },
        [
            {
                "customer_id": o["customer_id"],
                "order_date": date.fromisoformat(o["order_date"]),
                "amount": Decimal(o["amount"]),
                "cancelled": o["status"] == "cancelled",
            }
            for o in order_rows
        ],
        parsed.start,
        parsed.end,
        window=window,
    )
    for card in document["scorecards"]:
        reference = expected[card["segment"]]
        customers_figures = {k: v for k, v in card["customers"].items() if k not in ("gained", "net")}
        assert customers_figures == reference["customers"], card["segment"]
        assert card["value"] == {k: v.quantize(Decimal("0.01")) for k, v in reference["value"].items()}, card["segment"]
        tiers = (card["tiers"]["core"], card["tiers"]["top"])
        assert tiers == (reference["tiers"] or (None, None)), card["segment"]
        cells = {(c["from"], c["to"]): (c["customers"], c["value"]) for c in card["migration"] if c["customers"]}
        assert cells == reference["migration"], card["segment"]
        assert [r["customer_id"] for r in card["top_lost"]] == reference["top_lost"]
        assert [r["customer_id"] for r in card["top_decliners"]] == reference["top_decliners"]
    shutil.rmtree(folder)
