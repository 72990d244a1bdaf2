"""Reporting periods (SPEC §4): parse what the user types into a half-open date range [start, end).

Quarters, halves and years follow the fiscal year (start month setting); a fiscal year is named by the
calendar year in which it ends. Months are always calendar months.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .errors import UsageError

KINDS = ("month", "quarter", "half", "year")
_MONTHS_IN = {"month": 1, "quarter": 3, "half": 6, "year": 12}

PERIOD_FORMS = "Q3 (latest Q3 in the data), 2025-Q3, 2025Q3, 2025-07 (month), 2025-H2, 2025 (year), last-quarter, last-month, last-year"


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    kind: str  # one of KINDS
    year: int  # fiscal year for quarter/half/year, calendar year for month
    number: int  # month 1–12, quarter 1–4, half 1–2, 1 for a year
    fiscal_year_start: int = 1

    @property
    def start(self) -> date:
        if self.kind == "month":
            return date(self.year, self.number, 1)
        # A fiscal year starting in April 2025 ends in March 2026 and is named 2026.
        fiscal_start = date(self.year if self.fiscal_year_start == 1 else self.year - 1, self.fiscal_year_start, 1)
        return _add_months(fiscal_start, (self.number - 1) * _MONTHS_IN[self.kind])

    @property
    def end(self) -> date:
        return _add_months(self.start, _MONTHS_IN[self.kind])

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def shortest_window(self) -> int:
        """The shortest value window W this period allows: its true length in days (91 for 2024-Q1, 29
        for February 2024), so that W covers the whole period. One exception: a leap year also accepts
        W = 365, the default, so the default window serves every year (its models read the period's
        orders in full even where the window falls one day short)."""
        return 365 if self.kind == "year" and self.days == 366 else self.days

    @property
    def label(self) -> str:
        prefix = "FY" if self.fiscal_year_start != 1 and self.kind != "month" else ""
        if self.kind == "month":
            return f"{self.year}-{self.number:02d}"
        if self.kind == "quarter":
            return f"{prefix}{self.year}-Q{self.number}"
        if self.kind == "half":
            return f"{prefix}{self.year}-H{self.number}"
        return f"{prefix}{self.year}"

    @property
    def per_year(self) -> int:
        """How many periods of this kind make a year: 12 months, 4 quarters, 2 halves, 1 year."""
        return 12 // _MONTHS_IN[self.kind]

    def shifted(self, steps: int) -> Period:
        """The period `steps` periods later (negative: earlier) of the same kind."""
        index = self.year * self.per_year + (self.number - 1) + steps
        return Period(self.kind, index // self.per_year, index % self.per_year + 1, self.fiscal_year_start)

    def trend(self, length: int) -> list[Period]:
        """The last `length` periods of this kind, oldest first, ending with this one."""
        return [self.shifted(step) for step in range(1 - length, 1)]

    def is_partial(self, data_through: date) -> bool:
        """True when the data stops before the last day of the period."""
        return data_through < _last_day(self)


def _last_day(period: Period) -> date:
    return date.fromordinal(period.end.toordinal() - 1)


def containing(kind: str, day: date, fiscal_year_start: int = 1) -> Period:
    """The period of `kind` that contains `day`."""
    if kind == "month":
        return Period("month", day.year, day.month, fiscal_year_start)
    months_into_year = (day.month - fiscal_year_start) % 12
    fiscal_year = day.year if fiscal_year_start == 1 or day.month < fiscal_year_start else day.year + 1
    number = months_into_year // _MONTHS_IN[kind] + 1
    return Period(kind, fiscal_year, number, fiscal_year_start)


COHORTS = 8
COHORT_KINDS = ("month", "quarter", "year")


def cohort_periods(period: Period) -> list[Period]:
    """The last 8 acquisition cohorts up to and including the reported period (SPEC §3.11): periods of the
    report's kind, or quarters for other kinds (a half-year ends with its second quarter)."""
    kind = period.kind if period.kind in COHORT_KINDS else "quarter"
    last = containing(kind, _last_day(period), period.fiscal_year_start)
    return last.trend(COHORTS)


_RELATIVE = {"last-quarter": "quarter", "last-month": "month", "last-year": "year"}
_BARE = re.compile(r"^(Q[1-4]|H[12])$")
_QUARTER = re.compile(r"^(?:FY)?(\d{4})-?Q([1-4])$")
_HALF = re.compile(r"^(?:FY)?(\d{4})-?H([12])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(?:FY)?(\d{4})$")


def needs_data_through(text: str) -> bool:
    """A bare `Q3` is resolved against the last order date, so the data must be read first."""
    return bool(_BARE.match(text.strip().upper()))


def parse_period(
    text: str,
    *,
    fiscal_year_start: int = 1,
    data_through: date | None = None,
    today: date | None = None,
) -> Period:
    """Turn `Q3`, `2025-Q3`, `2025Q3`, `2025-07`, `2025-H2`, `2025` or `last-quarter` into a Period."""
    if not 1 <= fiscal_year_start <= 12:
        raise UsageError(f"fiscal year start month must be 1–12, got {fiscal_year_start}")
    raw = text.strip()
    upper = raw.upper()
    lower = raw.lower()

    if lower in _RELATIVE:
        today = today or date.today()
        return containing(_RELATIVE[lower], today, fiscal_year_start).shifted(-1)

    if _BARE.match(upper):
        if data_through is None:
            raise UsageError(f"period {raw!r} needs the data's last order date to be resolved")
        kind = "quarter" if upper.startswith("Q") else "half"
        number = int(upper[1])
        candidate = containing(kind, data_through, fiscal_year_start)
        candidate = Period(kind, candidate.year, number, fiscal_year_start)
        # The most recent such period that has started on or before the last order date.
        return candidate if candidate.start <= data_through else candidate.shifted(-12 // _MONTHS_IN[kind])

    for pattern, kind in ((_QUARTER, "quarter"), (_HALF, "half"), (_YEAR, "year")):
        if match := pattern.match(upper):
            year = int(match.group(1))
            number = int(match.group(2)) if kind != "year" else 1
            return Period(kind, year, number, fiscal_year_start)

    if match := _MONTH.match(raw):
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise UsageError(f"unknown period {raw!r}: month {month} does not exist. Use one of: {PERIOD_FORMS}")
        return Period("month", year, month, fiscal_year_start)

    raise UsageError(f"unknown period {raw!r}. Use one of: {PERIOD_FORMS}")
