"""Numbers for people: 1,234; €1.2M; +4.5 %; and the terminal summary table of `scorecard metrics`."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF ", "SEK": "SEK ", "NOK": "NOK "}


def symbol(currency: str) -> str:
    return CURRENCY_SYMBOLS.get(currency.upper(), currency.upper() + " ")


def count(value: int, signed: bool = False) -> str:
    text = f"{abs(value):,}"
    if signed:
        return ("+" if value > 0 else "−" if value < 0 else "±") + text
    return ("−" if value < 0 else "") + text


def money(value: Decimal | float | None, currency: str = "EUR", signed: bool = False, exact: bool = False) -> str:
    """€1.2M, €45.3K, €812 — or €1,234.50 with exact=True. Negative values use a real minus sign."""
    if value is None:
        return "–"
    value = Decimal(value)
    sign = "+" if signed and value > 0 else "−" if value < 0 else "±" if signed else ""
    magnitude = abs(value)
    if exact:
        body = f"{magnitude:,.2f}"
    elif magnitude >= 1_000_000_000:
        body = f"{magnitude / 1_000_000_000:,.1f}B"
    elif magnitude >= 1_000_000:
        body = f"{magnitude / 1_000_000:,.1f}M"
    elif magnitude >= 10_000:
        body = f"{magnitude / 1_000:,.0f}K"
    elif magnitude >= 1_000:
        body = f"{magnitude / 1_000:,.1f}K"
    else:
        body = f"{magnitude:,.0f}"
    return f"{sign}{symbol(currency)}{body}"


def percent(value: float | None, signed: bool = False, digits: int = 1) -> str:
    if value is None:
        return "–"
    number = value * 100
    sign = "+" if signed and number > 0 else "−" if number < 0 else ""
    return f"{sign}{abs(number):.{digits}f} %"


def ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


_SWAPS = {
    "1,234.56": None,
    "1.234,56": str.maketrans({",": ".", ".": ","}),
    "1 234,56": str.maketrans({",": "\u202f", ".": ","}),  # narrow no-break space between thousands
}


@dataclass(frozen=True)
class Numbers:
    """Number formatting in one currency and one number format, for the reports."""

    currency: str = "EUR"
    number_format: str = "1,234.56"

    def _local(self, text: str) -> str:
        swap = _SWAPS[self.number_format]
        return text.translate(swap) if swap else text

    def count(self, value: int, signed: bool = False) -> str:
        return self._local(count(int(value), signed=signed))

    def money(self, value, signed: bool = False, exact: bool = False) -> str:
        return self._local(money(value, self.currency, signed=signed, exact=exact))

    def percent(self, value, signed: bool = False, digits: int = 1) -> str:
        return self._local(percent(value, signed=signed, digits=digits))

    def ratio(self, value) -> str:
        return self._local(ratio(value))

    @classmethod
    def for_document(cls, document: dict) -> Numbers:
        settings = document["settings"]
        return cls(settings["currency"], settings["number_format"])


def summary_table(document: dict) -> str:
    """The terminal face of `scorecard metrics`: gained versus lost per scorecard."""
    period = document["period"]
    currency = document["settings"]["currency"]
    partial = f", partial through {document['data_through']}" if period["partial"] else ""
    lines = [
        f"{period['label']} ({period['start']} to {period['end']}, end exclusive{partial}); "
        f"data through {document['data_through']}" + ("  [SAMPLE DATA]" if document.get("sample_data") else ""),
        "",
    ]
    header = ("Scorecard", "Start", "Gained", "Lost", "Net", "End", "Value gained", "Value lost", "Net value", "NRR")
    rows = []
    for card in document["scorecards"]:
        customers, value = card["customers"], card["value"]
        rows.append(
            (
                card["segment"] or "Company",
                count(customers["start"]),
                count(customers["gained"], signed=True),
                count(-customers["lost"], signed=True),
                count(customers["net"], signed=True),
                count(customers["end"]),
                money(value["new"] + value["reactivated"], currency, signed=True),
                money(-value["lost"], currency, signed=True),
                money(value["end"] - value["start"], currency, signed=True),
                percent(card["rates"]["nrr"]),
            )
        )
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]
    for index, row in enumerate([header] + rows):
        cells = [str(cell).ljust(widths[0]) if i == 0 else str(cell).rjust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(cells))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    excluded = sum(item["rows"] for item in document["data_quality"]["excluded"])
    if excluded:
        lines += ["", f"{excluded:,} input rows were excluded; see data_quality in --format json."]
    return "\n".join(lines)


def quality_report(check, currency: str = "EUR") -> str:
    """The terminal face of `scorecard validate`."""
    quality, source = check.quality, check.source
    lines = [f"Data source: {source.description}", ""]
    width = max(len(table.location) for table in source.tables.values())
    for name, table in source.tables.items():
        excluded = quality.excluded_rows(name)
        lines.append(f"  {table.location.ljust(width)}  {table.rows:>12,} rows read  {excluded:>10,} excluded")
    excluded = [e for e in quality.exclusions if e.kind == "excluded"]
    ignored = [e for e in quality.exclusions if e.kind == "ignored"]
    if excluded:
        lines += ["", "Excluded from every figure:"]
        for item in excluded:
            amount = f" ({money(item.amount, currency, exact=True)})" if item.amount is not None else ""
            lines.append(f"  {item.table}: {item.rows:,} {item.reason}{amount}")
    for item in ignored:
        lines.append(f"  {item.table}: {item.rows:,} {item.reason}")
    for item in (e for e in quality.exclusions if e.kind == "rounded"):
        lines.append(
            f"  {item.table}: {item.rows:,} {item.reason}, changing their total by {money(item.amount, currency, signed=True, exact=True)}"
        )
    lines += ["", f"Usable: yes. Data through {check.data_through}."]
    return "\n".join(lines)
