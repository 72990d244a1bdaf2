"""SPEC §4: every period form, fiscal years, relative periods, partial periods, clear errors."""

from __future__ import annotations

from datetime import date

import pytest

from scorecard.errors import UsageError
from scorecard.periods import parse_period

THROUGH = date(2025, 12, 31)


@pytest.mark.parametrize(
    "text, label, start, end",
    [
        ("2025-Q3", "2025-Q3", date(2025, 7, 1), date(2025, 10, 1)),
        ("2025Q3", "2025-Q3", date(2025, 7, 1), date(2025, 10, 1)),
        ("2025-q4", "2025-Q4", date(2025, 10, 1), date(2026, 1, 1)),
        ("2025-07", "2025-07", date(2025, 7, 1), date(2025, 8, 1)),
        ("2025-12", "2025-12", date(2025, 12, 1), date(2026, 1, 1)),
        ("2025-H2", "2025-H2", date(2025, 7, 1), date(2026, 1, 1)),
        ("2025H1", "2025-H1", date(2025, 1, 1), date(2025, 7, 1)),
        ("2025", "2025", date(2025, 1, 1), date(2026, 1, 1)),
    ],
)
def test_explicit_forms(text, label, start, end):
    period = parse_period(text)
    assert (period.label, period.start, period.end) == (label, start, end)


def test_bare_quarter_is_the_latest_one_started_in_the_data():
    assert parse_period("Q3", data_through=date(2025, 8, 14)).label == "2025-Q3"
    assert parse_period("Q3", data_through=date(2025, 7, 1)).label == "2025-Q3"
    assert parse_period("Q3", data_through=date(2025, 6, 30)).label == "2024-Q3"
    assert parse_period("Q1", data_through=THROUGH).label == "2025-Q1"
    assert parse_period("H2", data_through=date(2025, 3, 1)).label == "2024-H2"


def test_relative_periods_are_the_last_completed_ones():
    today = date(2026, 11, 23)
    assert parse_period("last-quarter", today=today).label == "2026-Q3"
    assert parse_period("last-month", today=today).label == "2026-10"
    assert parse_period("last-year", today=today).label == "2025"
    assert parse_period("last-month", today=date(2026, 1, 1)).label == "2025-12"
    assert parse_period("last-quarter", today=date(2026, 1, 1)).label == "2025-Q4"


def test_fiscal_year_named_by_the_calendar_year_it_ends_in():
    fy = parse_period("2026", fiscal_year_start=4)
    assert (fy.label, fy.start, fy.end) == ("FY2026", date(2025, 4, 1), date(2026, 4, 1))
    q1 = parse_period("2026-Q1", fiscal_year_start=4)
    assert (q1.start, q1.end) == (date(2025, 4, 1), date(2025, 7, 1))
    q4 = parse_period("FY2026-Q4", fiscal_year_start=4)
    assert (q4.start, q4.end) == (date(2026, 1, 1), date(2026, 4, 1))
    h2 = parse_period("2026-H2", fiscal_year_start=7)
    assert (h2.start, h2.end) == (date(2026, 1, 1), date(2026, 7, 1))
    # Months stay calendar months.
    assert parse_period("2025-07", fiscal_year_start=4).start == date(2025, 7, 1)
    # Relative and bare forms follow the fiscal calendar too.
    assert parse_period("last-year", fiscal_year_start=4, today=date(2026, 5, 1)).label == "FY2026"
    assert parse_period("last-quarter", fiscal_year_start=4, today=date(2026, 5, 1)).label == "FY2026-Q4"
    assert parse_period("Q3", fiscal_year_start=4, data_through=date(2025, 12, 31)).label == "FY2026-Q3"


def test_trend_periods_run_back_across_years():
    labels = [p.label for p in parse_period("2025-Q2").trend(8)]
    assert labels == ["2023-Q3", "2023-Q4", "2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2"]
    assert [p.label for p in parse_period("2025-02").trend(3)] == ["2024-12", "2025-01", "2025-02"]


def test_partial_periods():
    q3 = parse_period("2025-Q3")
    assert q3.is_partial(date(2025, 8, 14))
    assert not q3.is_partial(date(2025, 9, 30))
    assert not q3.is_partial(date(2025, 12, 31))


def test_leap_year_fits_the_default_window():
    assert parse_period("2024").days == 366
    assert parse_period("2024").shortest_window == 365  # the one documented exception: W = 365 serves a leap year


def test_the_window_check_uses_the_true_length_of_months_quarters_and_halves():
    assert parse_period("2024-02").shortest_window == 29 and parse_period("2025-02").shortest_window == 28
    assert parse_period("2024-Q1").shortest_window == 91 and parse_period("2025-Q1").shortest_window == 90
    assert parse_period("2024-H1").shortest_window == 182 and parse_period("2025-H1").shortest_window == 181
    assert parse_period("2025").shortest_window == 365


@pytest.mark.parametrize("text", ["Q5", "2025-Q0", "2025-13", "2025-00", "last-week", "H3", "20255", "", "2025-W01", "next-quarter"])
def test_unknown_forms_are_clear_errors(text):
    with pytest.raises(UsageError, match="period"):
        parse_period(text, data_through=THROUGH)
