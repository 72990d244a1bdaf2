"""The story in words: a few plain sentences per scorecard, written from its figures, and the warnings
that belong where the headline is read (short history, material exclusions).

Deterministic and figure-bound: every number in a sentence is one of the scorecard's figures, formatted
as the PDF formats it (a test parses them back). Wording is right for zero, one and many.
"""

from __future__ import annotations

from decimal import Decimal

from .formatting import Numbers
from .periods import Period, parse_period

# What each movement is called in a sentence, by how many customers it involved (one, many).
MOVEMENTS = {
    "new": ("new customer", "new customers"),
    "reactivated": ("won-back customer", "won-back customers"),
    "expansion": ("expansion of {n} retained customer", "expansion of {n} retained customers"),
    "lost_lapsed": ("lapsed customer", "lapsed customers"),
    "lost_closed": ("closed account", "closed accounts"),
    "contraction": ("contraction of {n} retained customer", "contraction of {n} retained customers"),
}

# What a period of each kind is called in a sentence ("next quarter").
PERIOD_NOUNS = {"month": "month", "quarter": "quarter", "half": "half-year", "year": "year"}

# Exclusions above this share of the run-rate at the end of the period are said on page 1.
MATERIAL_EXCLUSION_SHARE = Decimal("0.03")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _movement(driver: dict, numbers: Numbers, in_segment: bool) -> str:
    one, many = MOVEMENTS[driver["movement"]]
    form = one if driver["customers"] == 1 else many
    count = numbers.count(driver["customers"])
    phrase = form.format(n=count) if "{n}" in form else f"{count} {form}"
    if in_segment:
        phrase += f" in {driver['segment']}"
    return phrase


def _what_happened(card: dict, numbers: Numbers) -> str:
    c, h, v = card["customers"], card["headline"], card["value"]
    where = "the customer base" if card["scope"] == "company" else f"in {card['segment']}, the customer base"
    net = h["customers_net"]
    if c["start"] == 0 and c["end"] == 0 and h["customers_gained"] == 0 and h["customers_lost"] == 0:
        return _capital(f"{where} had no active customer at the start or the end of the period.")
    active = numbers.plural(c["end"], "active customer")
    if net > 0:
        change = f"grew by {numbers.count(net)} to {active}"
    elif net < 0:
        change = f"shrank by {numbers.count(-net)} to {active}"
    else:
        change = f"held at {active}"
    value_net = h["value_net"]
    if value_net > 0:
        value = f"annual run-rate value rose by {numbers.money(value_net)} to {numbers.money(v['end'])}"
    elif value_net < 0:
        value = f"annual run-rate value fell by {numbers.money(-value_net)} to {numbers.money(v['end'])}"
    else:
        value = f"annual run-rate value held at {numbers.money(v['end'])}"
    sentence = f"{where} {change} ({numbers.count(h['customers_gained'])} gained, {numbers.count(h['customers_lost'])} lost); {value}"
    if card["history"]["short"]:
        sentence += ", but the data starts too late to see every customer, so gains are overstated and losses understated"
    return _capital(sentence + ".")


def _driver_sentence(card: dict, direction: str, numbers: Numbers) -> str:
    h = card["headline"]
    driver = h[f"{direction}_driver"]
    if driver is None:
        if direction == "gain":
            return "Nothing was gained: no new or won-back customer, and no retained customer spent more."
        return "Nothing was lost: no customer left, and no retained customer spent less."
    total = numbers.money(h[f"value_{'gained' if direction == 'gain' else 'lost'}"])
    movement = _movement(driver, numbers, in_segment=card["scope"] == "company")
    what = "Value gained" if direction == "gain" else "Value lost"
    if driver["share"] is not None and driver["share"] >= 1:
        return f"{what} was {total}, all of it from {movement}."
    return (
        f"{what} was {total}; the largest part, {numbers.money(driver['value'])} "
        f"({numbers.percent(driver['share'], digits=0)}), came from {movement}."
    )


def _net(figures: dict, numbers: Numbers) -> str:
    return (
        f"the net was {numbers.count(figures['customers_net'], signed=True)} "
        f"{'customer' if abs(figures['customers_net']) == 1 else 'customers'} and {numbers.money(figures['value_net'], signed=True)}"
    )


def _comparison_sentence(card: dict, document: dict, numbers: Numbers) -> str:
    h = card["headline"]
    previous, year_ago = h["previous"], h["year_ago"]
    labels = comparison_labels(document)
    data_from = card["history"]["data_from"]
    short = lambda figures: " (short history too)" if figures["short_history"] else ""
    if labels["previous"] == labels["year_ago"]:  # yearly periods: the previous period is the year before
        if previous is None:
            return f"There is no comparison with {labels['previous']}: the data begins on {data_from}."
        return f"In {previous['period']}{short(previous)} {_net(previous, numbers)}."
    parts = [f"in {f['period']}{short(f)} {_net(f, numbers)}" for f in (previous, year_ago) if f is not None]
    missing = [labels[key] for key, f in (("previous", previous), ("year_ago", year_ago)) if f is None]
    if not parts:
        return f"Neither {missing[0]} nor {missing[1]} can be compared: the data begins on {data_from}."
    sentence = "; ".join(parts)
    if missing:
        sentence += f"; {missing[0]} is before the data begins ({data_from})"
    return _capital(sentence + ".")


def _segment_sentence(card: dict, numbers: Numbers) -> str | None:
    moved = card["headline"]["segment_moved_most"]
    if moved is None:
        return None
    customers = numbers.count(moved["customers_net"], signed=True)
    return (
        f"{moved['segment']} moved most: net value {numbers.money(moved['value_net'], signed=True)}, "
        f"net {customers} {'customer' if abs(moved['customers_net']) == 1 else 'customers'}."
    )


def _at_risk_sentence(card: dict, document: dict, numbers: Numbers) -> str | None:
    """Looking ahead: who may buy nothing next period, and how the same test did at this period's start."""
    at_risk, backtest = card["at_risk"], card["at_risk"]["backtest"]
    if not at_risk["count"]:  # no list (too little data) or nobody at risk: the at-risk page says why
        return None
    noun = PERIOD_NOUNS[document["period"]["kind"]]
    sentence = (
        f"{numbers.plural(at_risk['count'], 'customer')} worth {numbers.money(at_risk['run_rate'])} a year "
        f"{'is' if at_risk['count'] == 1 else 'are'} at risk of buying nothing next {noun}"
    )
    if backtest["flagged"]:
        sentence += (
            f"; of the {numbers.count(backtest['flagged'])} the same test flagged at the start of this {noun}, "
            f"{numbers.count(backtest['flagged_quiet'])} then bought nothing"
        )
    return _capital(sentence + ".")


def comparison_labels(document: dict) -> dict[str, str]:
    """The labels of the previous period and of the same period a year ago, covered by the data or not."""
    current = _period_of(document)
    return {"previous": current.shifted(-1).label, "year_ago": current.shifted(-current.per_year).label}


def _period_of(document: dict) -> Period:
    return parse_period(document["period"]["label"], fiscal_year_start=document["settings"]["fiscal_year_start"])


def sentences(document: dict, card: dict) -> list[str]:
    """Three to five sentences on the period: what happened, the biggest loss and gain, the comparisons, and
    for the company the segment that moved most; then, for the company, one looking ahead (who is at risk)."""
    numbers = Numbers.for_document(document)
    story = [
        _what_happened(card, numbers),
        _driver_sentence(card, "loss", numbers),
        _driver_sentence(card, "gain", numbers),
        _comparison_sentence(card, document, numbers),
    ]
    if card["scope"] == "company" and (segment := _segment_sentence(card, numbers)):
        story.append(segment)
    if card["scope"] == "company" and (ahead := _at_risk_sentence(card, document, numbers)):
        story.append(ahead)
    return story


def short_history(document: dict) -> str | None:
    """Where the headline is read: the data starts too late for the value window, and what to do."""
    history = document["scorecards"][0]["history"]
    if not history["short"]:
        return None
    window = document["settings"]["window_days"]
    remedy = f"report a period starting on or after {history['full_history_from']}"
    period_days = _period_of(document).shortest_window
    if history["max_window_days"] >= period_days:
        remedy = f"rebuild with --window-days {history['max_window_days']} or less, or " + remedy
    return (
        f"Short history: the data begins on {history['data_from']}, but run-rates at the period start look back "
        f"{window} days, to {history['needed_from']}. Customers who bought only before {history['data_from']} are "
        f"invisible, so gains are overstated and losses understated. For a true picture, {remedy}."
    )


def material_exclusions(document: dict, numbers: Numbers) -> str | None:
    """Excluded orders worth more than a few percent of the run-rate at the end: say it on page 1."""
    excluded = [item for item in document["data_quality"]["excluded"] if item["table"] == "orders" and item["amount"] is not None]
    amount = sum((item["amount"] for item in excluded), Decimal(0))
    end_value = document["scorecards"][0]["value"]["end"]
    if amount <= 0 or (end_value > 0 and amount / end_value <= MATERIAL_EXCLUSION_SHARE):
        return None
    rows = sum(item["rows"] for item in excluded)
    largest = max(excluded, key=lambda item: item["amount"])
    share = f", {numbers.percent(amount / end_value, digits=0)} of the company's run-rate at the end of the period" if end_value > 0 else ""
    return (
        f"Excluded from every figure: {numbers.plural(rows, 'order')} worth {numbers.money(amount)}{share}"
        f" (largest reason: {numbers.plural_phrase(largest['rows'], largest['reason'])}). See the data-quality notes."
    )
