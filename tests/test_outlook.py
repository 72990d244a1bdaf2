"""SPEC §3.11–§3.13 on tiny hand-computed tables: acquisition cohorts, the at-risk list and its backtest,
and why customers left.

Period 2025-Q3 = [2025-07-01, 2025-10-01): L = 92 days; cohorts are the quarters 2023-Q4 … 2025-Q3.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from conftest import card, compute, make_data
from scorecard import bgnbd, models, risk
from scorecard.metrics import check_invariants, flatten, redact
from scorecard.resources import resource_path

D = Decimal
START, END = date(2025, 7, 1), date(2025, 10, 1)


# --- cohorts (§3.11) ---------------------------------------------------------------------------------


def test_cohorts_by_hand(data_dir):
    customers = [
        {"customer_id": "K1", "segment": "X"},
        {"customer_id": "K2", "segment": "X"},
        {"customer_id": "K3", "segment": "Y", "closed_at": "2025-04-01"},  # closes, reopens with a purchase
        {"customer_id": "K4", "segment": "Y"},
        {"customer_id": "K5", "segment": "Y"},
        {"customer_id": "K6", "segment": "X"},
        {"customer_id": "K7", "segment": "Y"},
    ]
    orders = [
        ("K1", "2025-01-10", "100"), ("K1", "2025-02-01", "50"), ("K1", "2025-04-05", "30"), ("K1", "2025-05-01", "-10"),
        ("K1", "2025-08-01", "999", "cancelled"),  # cancelled: neither revenue nor a purchase
        ("K2", "2025-02-15", "40"), ("K2", "2025-03-01", "-60"), ("K2", "2025-07-10", "10"),  # revenue(0) = −20
        ("K3", "2025-03-03", "20"), ("K3", "2025-06-01", "5"),
        ("K4", "2025-09-01", "70"),
        ("K5", "2022-05-01", "10"), ("K5", "2025-08-01", "10"),  # acquired before the eight cohorts
        ("K6", "2025-02-01", "-10"), ("K6", "2025-04-10", "25"),  # a refund is not a first purchase: cohort 2025-Q2
        ("K7", "2024-11-01", "30"), ("K7", "2024-12-01", "-30"), ("K7", "2025-01-05", "15"),  # revenue(0) = 0
    ]  # fmt: skip
    document = compute(make_data(data_dir, customers, orders))
    cohorts = {cohort["cohort"]: cohort for cohort in card(document)["cohorts"]}
    assert list(cohorts) == ["2023-Q4", "2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3"]
    assert [len(cohort["retention"]) for cohort in cohorts.values()] == [8, 7, 6, 5, 4, 3, 2, 1]  # k = 0 … up to P

    q1 = cohorts["2025-Q1"]  # K1, K2, K3
    assert q1["size"] == 3 and q1["start"] == "2025-01-01"
    assert q1["buyers"] == [3, 2, 1]  # Q2: K1 and K3; Q3: K2 (K1's only Q3 order is cancelled)
    assert q1["retention"] == pytest.approx([1, 2 / 3, 1 / 3])
    assert q1["revenue"] == [D("150.00"), D("25.00"), D("10.00")]  # 100 + 50 − 20 + 20; 30 − 10 + 5; 10
    assert q1["revenue_retention"] == pytest.approx([1, 25 / 150, 10 / 150])

    q4 = cohorts["2024-Q4"]  # K7: bought 30, refunded it
    assert (q4["size"], q4["buyers"], q4["revenue"]) == (1, [1, 1, 0, 0], [D("0.00"), D("15.00"), D("0.00"), D("0.00")])
    assert q4["revenue_retention"] == [None, None, None, None]  # revenue(0) ≤ 0

    assert (cohorts["2025-Q2"]["size"], cohorts["2025-Q2"]["revenue"]) == (1, [D("25.00"), D("0.00")])  # K6
    assert (cohorts["2025-Q3"]["size"], cohorts["2025-Q3"]["revenue"]) == (1, [D("70.00")])  # K4
    empty = cohorts["2023-Q4"]
    assert empty["size"] == 0 and set(empty["retention"]) == {None} and set(empty["revenue_retention"]) == {None}

    x, y = card(document, "X")["cohorts"], card(document, "Y")["cohorts"]
    assert [c["size"] for c in x] == [0, 0, 0, 0, 0, 2, 1, 0]  # K1, K2 · K6
    assert [c["size"] for c in y] == [0, 0, 0, 0, 1, 1, 0, 1]  # K7 · K3 · K4
    assert check_invariants(document) == []


@pytest.mark.parametrize(
    ("period", "first", "last"),
    [("2025-07", "2024-12", "2025-07"), ("2025", "2018", "2025"), ("2025-H1", "2023-Q3", "2025-Q2")],
)
def test_cohort_periods_follow_the_report_kind_and_halves_use_quarters(data_dir, period, first, last):
    make_data(data_dir, [("A", "X")], [("A", "2024-03-01", "10"), ("A", "2025-12-01", "10")])
    cohorts = card(compute(data_dir, period))["cohorts"]
    assert (len(cohorts), cohorts[0]["cohort"], cohorts[-1]["cohort"]) == (8, first, last)


# --- at risk and the backtest (§3.12) ----------------------------------------------------------------

FIXED = bgnbd.Parameters(r=1.0, alpha=30.0, a=0.8, b=2.5)

RISK_CUSTOMERS = [
    {"customer_id": "A", "name": "Alpha", "segment": "X"},
    {"customer_id": "B", "name": "Bravo", "segment": "X"},
    {"customer_id": "C", "name": "Charlie", "segment": "Y"},
    {"customer_id": "D", "name": "Delta", "segment": "Y"},
    {"customer_id": "E", "name": "Echo", "segment": "X", "closed_at": "2025-08-01", "closed_reason": "Price"},
    {"customer_id": "F", "name": "Foxtrot", "segment": "X"},
    {"customer_id": "G", "name": "Golf", "segment": "Y"},
    {"customer_id": "H", "name": "Hotel", "segment": "Y"},
    {"customer_id": "I", "name": "India", "segment": "Y", "closed_at": "2025-09-01", "closed_reason": " "},
    {"customer_id": "J", "name": "Juliett", "segment": "X", "closed_at": "2025-08-15", "closed_reason": "Price"},
]
RISK_ORDERS = [
    ("A", "2024-10-01", "300"), ("A", "2025-01-01", "300"), ("A", "2025-04-01", "300"),  # quarterly, then silent
    *[("B", f"2025-{month:02d}-15", "40") for month in range(1, 10)],  # monthly, still buying
    ("C", "2025-06-01", "500"),  # one purchase day
    ("D", "2024-08-01", "70"), ("D", "2024-08-01", "30"), ("D", "2024-09-01", "50"), ("D", "2025-08-20", "60"),  # two orders, one day
    ("E", "2025-02-01", "80"), ("E", "2025-05-01", "80"),  # closes in the period: lost, not at risk
    ("F", "2025-03-01", "100"), ("F", "2025-08-01", "-100"),  # a refund in the period is not a purchase
    ("G", "2025-05-05", "50"), ("G", "2025-08-05", "80", "cancelled"),  # a cancelled order is not a purchase
    ("H", "2023-01-01", "20"), ("H", "2023-06-01", "20"),  # long gone: in the fit, in no list
    ("I", "2025-04-01", "45"),
    ("J", "2025-01-20", "20"), ("J", "2025-02-20", "20"),
]  # fmt: skip


def _histories(as_of: date) -> dict[str, tuple[int, int, int]]:
    """(x, t_x, T) per customer, read from RISK_ORDERS the naive way: distinct purchase days before as_of."""
    days = defaultdict(set)
    for customer, day, amount, *status in RISK_ORDERS:
        if D(amount) > 0 and not status and date.fromisoformat(day) < as_of:
            days[customer].add(date.fromisoformat(day))
    return {c: (len(d) - 1, (max(d) - min(d)).days, (as_of - min(d)).days) for c, d in days.items()}


def _p_quiet(customer: str, as_of: date) -> float:
    x, t_x, T = _histories(as_of)[customer]
    return float(bgnbd.p_quiet(FIXED, [x], [t_x], [T], (END - START).days)[0])


@pytest.fixture
def fixed_fit(monkeypatch):
    """The engine's fits replaced by fixed parameters, so the arithmetic downstream can be checked by hand."""
    monkeypatch.setattr(bgnbd, "fit", lambda histories, **_: bgnbd.Fit(FIXED, histories.total, histories.repeat_customers))


def test_histories_are_purchase_days(fixed_fit):
    assert _histories(END)["D"] == (2, 384, 426)  # 2024-08-01 counted once
    assert _histories(START)["A"] == (2, 182, 273)


def test_the_fits_start_as_soon_as_the_histories_exist_and_run_beside_the_other_models(data_dir, fixed_fit, monkeypatch):
    seen = {}
    start, fit = risk.Fits.start, bgnbd.fit

    def recording_start(self, con):
        seen["tables"] = {name for (name,) in con.execute("select table_name from duckdb_tables()").fetchall()}
        start(self, con)

    def recording_fit(histories, **options):
        seen.setdefault("threads", set()).add(threading.current_thread().name)
        return fit(histories, **options)

    monkeypatch.setattr(risk.Fits, "start", recording_start)
    monkeypatch.setattr(bgnbd, "fit", recording_fit)
    document = compute(make_data(data_dir, RISK_CUSTOMERS, RISK_ORDERS), risk_threshold=D("0.4"))
    assert risk.HISTORIES in seen["tables"]
    assert "int_customer_periods" not in seen["tables"]  # the fits start before the period models that follow
    assert all(name.startswith("scorecard-fits") for name in seen["threads"]), seen["threads"]
    assert card(document)["at_risk"]["customers"]  # and the at-risk models read what the thread fitted


def test_the_run_order_puts_a_model_and_its_inputs_first_and_keeps_dependencies():
    found = models.discover(resource_path("sql"))
    order = models.run_order(found, first=(risk.HISTORIES,))
    ancestry, stack = set(), [risk.HISTORIES]
    while stack:
        name = stack.pop()
        ancestry.add(name)
        stack.extend(found[name].depends_on & set(found))
    assert set(order[: len(ancestry)]) == ancestry and order[len(ancestry) - 1] == risk.HISTORIES  # nothing else before it
    assert sorted(order) == sorted(found)
    for position, name in enumerate(order):
        assert found[name].depends_on & set(found) <= set(order[:position]), name


def test_at_risk_list_and_backtest_by_hand(data_dir, fixed_fit):
    document = compute(make_data(data_dir, RISK_CUSTOMERS, RISK_ORDERS), risk_threshold=D("0.4"))
    # Active at the end: A, B, C, D, G (E, I, J closed; F refunded everything; H long gone).
    run_rate_end = {"A": D("900"), "B": D("360"), "C": D("500"), "D": D("60"), "G": D("50")}
    p_end = {c: _p_quiet(c, END) for c in run_rate_end}
    at_risk = {c for c, p in p_end.items() if p >= 0.4}
    # B buys monthly: not at risk. D bought last month, but buys about once a year, so a quiet quarter is likely.
    assert at_risk == {"A", "C", "D", "G"}
    value = {c: (run_rate_end[c] * D(p_end[c])).quantize(D("0.01")) for c in at_risk}
    company = card(document)["at_risk"]
    assert company["threshold"] == 0.4 and company["note"] is None
    assert company["count"] == 4
    assert company["run_rate"] == D("1510.00")
    assert company["value_at_risk"] == sum(value.values())
    listed = company["customers"]
    assert [row["customer_id"] for row in listed] == sorted(at_risk, key=lambda c: -value[c])
    alpha = next(row for row in listed if row["customer_id"] == "A")
    assert alpha["name"] == "Alpha" and alpha["run_rate"] == D("900.00") and alpha["value_at_risk"] == value["A"]
    assert alpha["p_quiet"] == pytest.approx(p_end["A"], abs=1e-6)
    assert alpha["p_alive"] == pytest.approx(float(bgnbd.p_alive(FIXED, [2], [182], [365])[0]), abs=1e-6)
    assert alpha["last_purchase"] == "2025-04-01"
    assert alpha["usual_gap_days"] == 91  # gaps 92 and 90
    charlie = next(row for row in listed if row["customer_id"] == "C")
    assert charlie["usual_gap_days"] is None and charlie["p_alive"] == 1.0  # one purchase day
    assert [row["customer_id"] for row in card(document, "Y")["at_risk"]["customers"]] == sorted({"C", "D", "G"}, key=lambda c: -value[c])

    # Backtest at the start, over the customers active then: A, B, C, D, E, F, G, I, J.
    active_start = {"A": "X", "B": "X", "C": "Y", "D": "Y", "E": "X", "F": "X", "G": "Y", "I": "Y", "J": "X"}
    quiet = {c: c not in ("B", "D") for c in active_start}  # only B and D bought in the period
    p_start = {c: _p_quiet(c, START) for c in active_start}
    for scope, members in (("company", set(active_start)), ("X", {c for c, s in active_start.items() if s == "X"})):
        flagged = {c for c in members if p_start[c] >= 0.4}
        others = members - flagged
        flagged_quiet, others_quiet = sum(quiet[c] for c in flagged), sum(quiet[c] for c in others)
        pairs = [(q, b) for q in members if quiet[q] for b in members if not quiet[b]]
        auc = sum(1.0 if p_start[q] > p_start[b] else 0.5 if p_start[q] == p_start[b] else 0.0 for q, b in pairs) / len(pairs)
        backtest = card(document, None if scope == "company" else scope)["at_risk"]["backtest"]
        assert backtest["as_of"] == "2025-07-01"
        assert (backtest["flagged"], backtest["flagged_quiet"], backtest["others"], backtest["others_quiet"]) == (
            len(flagged),
            flagged_quiet,
            len(others),
            others_quiet,
        )
        expected_lift = (flagged_quiet / len(flagged)) / (others_quiet / len(others)) if others_quiet and flagged else None
        assert backtest["lift"] == (pytest.approx(expected_lift, abs=1e-6) if expected_lift is not None else None)
        assert backtest["auc"] == pytest.approx(auc, abs=1e-6)
    assert check_invariants(document) == []


def test_auc_counts_ties_as_half(data_dir, fixed_fit):
    # Four customers with the same history share one p_quiet: two buy in the period, two don't → AUC = ½.
    customers = [(c, "X") for c in ("P", "Q", "R", "S")]
    orders = [(c, "2025-03-01", "10") for c in "PQRS"] + [(c, "2025-05-01", "10") for c in "PQRS"]
    orders += [("P", "2025-08-01", "10"), ("Q", "2025-08-01", "10")]
    backtest = card(compute(make_data(data_dir, customers, orders)))["at_risk"]["backtest"]
    assert backtest["auc"] == 0.5
    assert backtest["flagged"] + backtest["others"] == 4


def test_at_risk_list_breaks_ties_at_the_cut_by_customer_id(data_dir, fixed_fit):
    # Four customers with one history share one value at risk; the top 2 of the company are Z (worth more) and
    # the first of them by customer_id, of segment X the first two by customer_id.
    customers = [("K3", "X"), ("K1", "X"), ("K4", "X"), ("K2", "X"), ("Z", "Y"), ("Y1", "Y")]  # Y1: data into the period
    orders = [(c, day, "10") for c in ("K1", "K2", "K3", "K4") for day in ("2025-03-01", "2025-05-01")]
    orders += [("Z", "2025-03-01", "500"), ("Z", "2025-05-01", "500"), ("Y1", "2025-08-01", "5")]
    document = compute(make_data(data_dir, customers, orders), risk_threshold=D("0.01"), top_n=2)
    listed = {segment: [row["customer_id"] for row in card(document, segment)["at_risk"]["customers"]] for segment in (None, "X", "Y")}
    assert listed == {None: ["Z", "K1"], "X": ["K1", "K2"], "Y": ["Z", "Y1"]}
    assert card(document)["at_risk"]["count"] == 6


def test_thin_data_gives_a_note_and_no_list(data_dir):
    document = compute(make_data(data_dir, RISK_CUSTOMERS, RISK_ORDERS))
    at_risk = card(document)["at_risk"]
    assert at_risk["count"] is None and at_risk["value_at_risk"] is None and at_risk["customers"] == []
    assert "customers bought on more than one day" in at_risk["note"]
    assert at_risk["backtest"]["flagged"] is None and at_risk["backtest"]["auc"] is None
    assert card(document)["loss_reasons"]["lapsed"]["flagged_at_risk_before"] is None
    assert document["risk_model"]["end"]["r"] is None and document["risk_model"]["end"]["repeat_customers"] == 6
    assert check_invariants(document) == []


def test_redaction_covers_the_at_risk_list(data_dir, fixed_fit):
    document = compute(make_data(data_dir, RISK_CUSTOMERS, RISK_ORDERS), risk_threshold=D("0.4"))
    names = [row["name"] for row in redact(document)["scorecards"][0]["at_risk"]["customers"]]
    assert names and all(name.startswith("Customer ") for name in names)


def test_metrics_csv_holds_the_new_figures(data_dir, fixed_fit):
    document = compute(make_data(data_dir, RISK_CUSTOMERS, RISK_ORDERS), risk_threshold=D("0.4"))
    pairs = dict(flatten(card(document)))
    assert pairs["at_risk.count"] == 4
    assert pairs["at_risk.backtest.flagged"] == card(document)["at_risk"]["backtest"]["flagged"]
    assert pairs["loss_reasons.closed.Price.customers"] == 2
    assert pairs["cohorts.2025-Q1.size"] == card(document)["cohorts"][5]["size"]


# --- why customers left (§3.13) ----------------------------------------------------------------------


def test_closure_reasons_with_blanks(data_dir, fixed_fit):
    document = compute(make_data(data_dir, RISK_CUSTOMERS, RISK_ORDERS), risk_threshold=D("0.4"))
    # Lost by closing in the period: E (Price, RR(s) 160), J (Price, 40), I (blank, 45).
    assert card(document)["loss_reasons"]["closed"] == [
        {"reason": "Price", "customers": 2, "value": D("200.00")},
        {"reason": "no reason recorded", "customers": 1, "value": D("45.00")},
    ]
    assert card(document, "Y")["loss_reasons"]["closed"] == [{"reason": "no reason recorded", "customers": 1, "value": D("45.00")}]
    # Lapsed: F (refunded everything). Flagged at the start?
    lapsed = card(document)["loss_reasons"]["lapsed"]
    assert lapsed["customers"] == 1
    assert lapsed["flagged_at_risk_before"] == int(_p_quiet("F", START) >= 0.4)


def test_without_a_closed_reason_column_there_are_no_reasons(data_dir):
    make_data(data_dir, [("A", "X", "2025-08-01"), ("B", "X")], [("A", "2025-03-01", "10"), ("B", "2025-09-01", "10")])
    assert card(compute(data_dir))["loss_reasons"]["closed"] is None


def test_declining_before_lapsing(data_dir):
    # Q2 = [2025-04-01, 2025-07-01), run-rates over the year before each end. L1 declined in Q2 (200 → 100)
    # and lapsed in Q3; L2 held stable in Q2 (300 → 280) but ordered less often (3 purchases → 1), then
    # lapsed; L3 held steady (160 → 160, 2 → 2), then lapsed.
    customers = [(c, "X") for c in ("L1", "L2", "L3", "N")]
    orders = [
        ("N", "2025-09-01", "10"),  # a new customer, so the data covers the period
        ("L1", "2024-06-01", "100"), ("L1", "2024-09-01", "100"),
        ("L2", "2024-05-01", "10"), ("L2", "2024-05-20", "10"), ("L2", "2024-09-15", "280"),
        ("L3", "2024-08-01", "80"), ("L3", "2024-09-10", "80"),
    ]  # fmt: skip
    document = compute(make_data(data_dir, customers, orders))
    assert card(document)["customers"]["lost_lapsed"] == 3
    assert card(document)["loss_reasons"]["lapsed"]["declining_before"] == 2
