"""Metric and report settings (SPEC §3 defaults), validated once, then passed everywhere."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation

from .errors import UsageError
from .formatting import is_currency_code

NUMBER_FORMATS = ("1,234.56", "1.234,56", "1 234,56")
MAX_WINDOW_DAYS = 3660


@dataclass(frozen=True)
class Targets:
    """Traffic-light targets for the headline figures; None = no light for that figure."""

    net_customers: int | None = None
    net_value: Decimal | None = None
    nrr: Decimal | None = None
    grr: Decimal | None = None
    logo_retention: Decimal | None = None
    gain_loss_ratio: Decimal | None = None


@dataclass(frozen=True)
class Settings:
    window_days: int = 365
    change_threshold: Decimal = Decimal("0.10")
    tier_quantiles: tuple[Decimal, Decimal] = (Decimal("0.5"), Decimal("0.8"))
    # Fixed money thresholds (core, top) replace the quantiles when set.
    tier_thresholds: tuple[Decimal, Decimal] | None = None
    trend_periods: int = 8
    top_n: int = 10
    segment_by: str = "segment"
    fiscal_year_start: int = 1
    time_zone: str = "UTC"
    max_excluded: Decimal = Decimal("0.05")
    gross_margin: Decimal | None = None
    # A customer is at risk when the chance of buying nothing next period is at least this (SPEC §3.12).
    risk_threshold: Decimal = Decimal("0.5")
    company_name: str | None = None  # None: "Sample Co." for the sample, else the data folder's name
    currency: str | None = None  # ISO code; None: the orders' currency column, else no currency symbol
    number_format: str = "1,234.56"
    logo: str | None = None
    redact: bool = False
    # Segments with their own scorecard: a list, and a minimum of customers active at the start or end of
    # the reported period (0: no minimum); the rest are reported together as "Other segments".
    segments: tuple[str, ...] | None = None
    min_segment_customers: int = 30
    targets: Targets = field(default_factory=Targets)

    def __post_init__(self) -> None:
        if not 1 <= self.window_days <= MAX_WINDOW_DAYS:
            raise UsageError(f"--window-days must be a number of days from 1 to {MAX_WINDOW_DAYS} (ten years), got {self.window_days}")
        if not Decimal("0") <= self.change_threshold < Decimal("10"):
            raise UsageError(f"--change-threshold must be a fraction like 0.10, got {self.change_threshold}")
        core, top = self.tier_quantiles
        if not Decimal("0") < core < top <= Decimal("1"):
            raise UsageError(f"--tier-quantiles must be two increasing fractions in (0, 1], like 0.5,0.8; got {core},{top}")
        if self.tier_thresholds is not None and not Decimal("0") < self.tier_thresholds[0] < self.tier_thresholds[1]:
            raise UsageError("--tier-thresholds must be two increasing positive amounts, like 1000,5000")
        if not 1 <= self.trend_periods <= 40:
            raise UsageError(f"--trend-periods must be between 1 and 40, got {self.trend_periods}")
        if not 1 <= self.top_n <= 100:
            raise UsageError(f"--top-n must be between 1 and 100, got {self.top_n}")
        if not 1 <= self.fiscal_year_start <= 12:
            raise UsageError(f"--fiscal-year-start must be a month number 1–12, got {self.fiscal_year_start}")
        if not Decimal("0") <= self.max_excluded <= Decimal("1"):
            raise UsageError(f"--max-excluded must be a fraction between 0 and 1, got {self.max_excluded}")
        if self.gross_margin is not None and not Decimal("-1") <= self.gross_margin <= Decimal("1"):
            raise UsageError(f"--gross-margin must be a fraction like 0.35, got {self.gross_margin}")
        if not Decimal("0") < self.risk_threshold <= Decimal("1"):
            raise UsageError(f"--risk-threshold must be a fraction above 0 and at most 1, like 0.5; got {self.risk_threshold}")
        if not self.segment_by.strip():
            raise UsageError("--segment-by needs a column name")
        if self.number_format not in NUMBER_FORMATS:
            raise UsageError(f"number format must be one of {', '.join(NUMBER_FORMATS)}, got {self.number_format!r}")
        if self.min_segment_customers < 0:
            raise UsageError(f"--min-segment-customers must be 0 (keep every segment) or more, got {self.min_segment_customers}")
        if self.currency is not None:
            if not is_currency_code(self.currency):
                raise UsageError(f"--currency must be an ISO 4217 code like EUR, USD or GBP, got {self.currency!r}")
            object.__setattr__(self, "currency", self.currency.strip().upper())
        if self.logo is not None and not self.logo.lower().endswith((".png", ".jpg", ".jpeg", ".svg")):
            raise UsageError(f"logo must be a .png, .jpg or .svg file, got {self.logo}")

    def as_json(self) -> dict:
        """The settings as they appear in metrics.json and manifest.json."""
        values = asdict(self)
        values["change_threshold"] = float(self.change_threshold)
        values["tier_quantiles"] = [float(q) for q in self.tier_quantiles]
        values["tier_thresholds"] = [float(t) for t in self.tier_thresholds] if self.tier_thresholds else None
        values["max_excluded"] = float(self.max_excluded)
        values["gross_margin"] = float(self.gross_margin) if self.gross_margin is not None else None
        values["risk_threshold"] = float(self.risk_threshold)
        values["segments"] = list(self.segments) if self.segments is not None else None
        values["targets"] = {k: (float(v) if isinstance(v, Decimal) else v) for k, v in values["targets"].items()}
        return values


def parse_fraction(text: str, option: str) -> Decimal:
    try:
        value = Decimal(str(text).strip().rstrip("%"))
    except InvalidOperation:
        raise UsageError(f"{option} must be a number like 0.10, got {text!r}") from None
    if str(text).strip().endswith("%"):
        value /= 100
    if not value.is_finite():
        raise UsageError(f"{option} must be a finite number, got {text!r}")
    return value


def parse_pair(text: str, option: str) -> tuple[Decimal, Decimal]:
    parts = [part for part in str(text).replace(" ", "").split(",") if part]
    if len(parts) != 2:
        raise UsageError(f"{option} takes two comma-separated numbers, like 0.5,0.8; got {text!r}")
    return parse_fraction(parts[0], option), parse_fraction(parts[1], option)
