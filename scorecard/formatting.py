"""Numbers and words for people: 1,234; €1.2M; +4.5 %; "1 order" / "1,134 orders"; and the terminal
summary table of `scorecard metrics`.

Amounts carry a currency symbol only when the currency is known (an option, the config, or the orders'
`currency` column); otherwise they are plain numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import get_currency_symbol, is_currency

MINUS = "\u2212"
NO_BREAK_SPACE = "\u00a0"


def is_currency_code(code: str) -> bool:
    """True for an ISO 4217 code such as EUR, GBP or USD (any letter case)."""
    return bool(re.fullmatch(r"[A-Za-z]{3}", code.strip())) and is_currency(code.strip().upper())


def symbol(currency: str | None) -> str:
    """The sign written before an amount: € for EUR, £ for GBP, "CHF " for CHF; nothing without a currency."""
    if not currency:
        return ""
    sign = get_currency_symbol(currency.upper(), locale="en")
    # A symbol made of letters (CHF, SEK) needs a space before the number; a no-break one keeps them together.
    return sign + NO_BREAK_SPACE if sign[-1:].isalpha() else sign


def count(value: int, signed: bool = False) -> str:
    text = f"{abs(value):,}"
    if signed:
        return ("+" if value > 0 else MINUS if value < 0 else "±") + text
    return (MINUS if value < 0 else "") + text


def money(value: Decimal | float | None, currency: str | None = None, signed: bool = False, exact: bool = False) -> str:
    """€1.2M, €45.3K, €812 — or €1,234.50 with exact=True; 1.2M without a currency. Negative values use a
    real minus sign."""
    if value is None:
        return "–"
    value = Decimal(value)
    sign = "+" if signed and value > 0 else MINUS if value < 0 else "±" if signed else ""
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
    sign = "+" if signed and number > 0 else MINUS if number < 0 else ""
    return f"{sign}{abs(number):.{digits}f} %"


def ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


# --- words ------------------------------------------------------------------------------------------

_IRREGULAR = {"person": "people", "company": "companies", "this": "these", "is": "are", "was": "were", "has": "have"}
# Nouns that head the phrases the tool counts ("order with no customer", "cancelled order (ignored…)").
_COUNTED_NOUNS = ("order", "customer", "referral", "cost", "row", "value", "segment", "period", "closure", "amount")


def plural_form(word: str) -> str:
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


def plural(number: int, singular: str, plural: str | None = None, *, numbers: Numbers | None = None) -> str:
    """ "1 order", "0 orders", "1,134 orders": the count (with thousands separators) and the right form."""
    shown = numbers.count(number) if numbers else count(number)
    return f"{shown} {singular if abs(number) == 1 else plural or plural_form(singular)}"


def plural_phrase(number: int, phrase: str, *, numbers: Numbers | None = None) -> str:
    """A counted phrase whose head noun agrees with the number: (1134, "order with no customer") →
    "1,134 orders with no customer"; (1, "cancelled order") → "1 cancelled order"."""
    shown = numbers.count(number) if numbers else count(number)
    if abs(number) != 1:
        words = phrase.split(" ")
        for index, word in enumerate(words):
            if word in _COUNTED_NOUNS:
                words[index] = plural_form(word)
                break
        phrase = " ".join(words)
    return f"{shown} {phrase}"


def article(word: str) -> str:
    """ "a" or "an" before a word (or a quoted name): an 'order_date', a 'customer_id'."""
    letter = word.lstrip("'\"‘“(").lower()[:1]
    return "an" if letter and letter in "aeio" else "a"


_SWAPS = {
    "1,234.56": None,
    "1.234,56": str.maketrans({",": ".", ".": ","}),
    "1 234,56": str.maketrans({",": "\u202f", ".": ","}),  # narrow no-break space between thousands
}


@dataclass(frozen=True)
class Numbers:
    """Number formatting in one currency and one number format, for the reports."""

    currency: str | None = None
    number_format: str = "1,234.56"

    def localised(self, text: str) -> str:
        """Text written with 1,234.56 separators, in this number format."""
        swap = _SWAPS[self.number_format]
        return text.translate(swap) if swap else text

    def count(self, value: int, signed: bool = False) -> str:
        return self.localised(count(int(value), signed=signed))

    def money(self, value, signed: bool = False, exact: bool = False) -> str:
        return self.localised(money(value, self.currency, signed=signed, exact=exact))

    def percent(self, value, signed: bool = False, digits: int = 1) -> str:
        return self.localised(percent(value, signed=signed, digits=digits))

    def ratio(self, value) -> str:
        return self.localised(ratio(value))

    def plural(self, number: int, singular: str, plural_text: str | None = None) -> str:
        return plural(number, singular, plural_text, numbers=self)

    def plural_phrase(self, number: int, phrase: str) -> str:
        return plural_phrase(number, phrase, numbers=self)

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
        customers, headline = card["customers"], card["headline"]
        rows.append(
            (
                card["segment"] or "Company",
                count(customers["start"]),
                count(headline["customers_gained"], signed=True),
                count(-headline["customers_lost"], signed=True),
                count(headline["customers_net"], signed=True),
                count(customers["end"]),
                money(headline["value_gained"], currency, signed=True),
                money(-headline["value_lost"], currency, signed=True),
                money(headline["value_net"], currency, signed=True),
                percent(card["rates"]["nrr"]),
            )
        )
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]
    for index, row in enumerate([header] + rows):
        cells = [str(cell).ljust(widths[0]) if i == 0 else str(cell).rjust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(cells))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    lines.append("")
    lines.append("Value gained = new + won back + expansion; value lost = lost customers + contraction; net = end − start.")
    from .narrative import short_history  # narrative builds on this module

    if warning := short_history(document):
        lines.append(warning)
    excluded = sum(item["rows"] for item in document["data_quality"]["excluded"])
    if excluded:
        lines.append(f"{plural(excluded, 'input row')} {'was' if excluded == 1 else 'were'} excluded; see data_quality in --format json.")
    return "\n".join(lines)


def quality_report(check, currency: str | None = None) -> str:
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
            lines.append(f"  {item.table}: {plural_phrase(item.rows, item.reason)}{amount}")
    for item in ignored:
        lines.append(f"  {item.table}: {plural_phrase(item.rows, item.reason)}")
    for item in (e for e in quality.exclusions if e.kind == "rounded"):
        lines.append(
            f"  {item.table}: {plural_phrase(item.rows, item.reason)}, changing their total by {money(item.amount, currency, signed=True, exact=True)}"
        )
    lines += ["", f"Usable: yes. Data through {check.data_through}."]
    return "\n".join(lines)
