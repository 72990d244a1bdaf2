"""Rendering: the view models every report shares (tiles, tables in words, the outlook's sentences…),
derived from the metrics document only (every figure traces to metrics.json), and the HTML summaries
made from them (Jinja2, autoescaped, strict). The PDFs' page models (scorecard/pages.py) build on the
same view models."""

from __future__ import annotations

import base64
import functools
import math
import re
import unicodedata
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import jinja2
from markupsafe import Markup

from . import chart_markup, formatting, narrative
from .errors import ScorecardError, excerpt
from .resources import resource_path


def environment(templates: Path | None = None) -> jinja2.Environment:
    """The HTML summaries' templates environment, one per process and templates folder: each template is
    compiled once, not once per summary (~0.08 s a summary)."""
    return _environment(templates or resource_path("templates"))


@functools.cache
def _environment(templates: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    # Filters format with the document's currency and number format (the `numbers` in every context);
    # a sign never parts from its number at a line break.
    env.filters["money"] = jinja2.pass_context(
        lambda context, value, signed=False, exact=False: keep_signs(context["numbers"].money(value, signed, exact))
    )
    env.filters["count"] = jinja2.pass_context(lambda context, value, signed=False: keep_signs(context["numbers"].count(value, signed)))
    env.filters["percent"] = jinja2.pass_context(
        lambda context, value, signed=False, digits=1: keep_signs(context["numbers"].percent(value, signed, digits))
    )
    env.filters["ratio"] = jinja2.pass_context(lambda context, value: context["numbers"].ratio(value))
    env.filters["plural"] = jinja2.pass_context(
        lambda context, value, singular, plural=None: context["numbers"].plural(value, singular, plural)
    )
    env.filters["plural_phrase"] = jinja2.pass_context(lambda context, value, phrase: context["numbers"].plural_phrase(value, phrase))
    env.filters["keep_signs"] = keep_signs
    return env


# U+2060 WORD JOINER: no line break on either side, invisible, and absent from the PDF's text.
_SIGN_BEFORE_FIGURE = re.compile(r"(?<![\w])([+\u2212±▲▼])(?=\S)")


_HYPHEN_IN_LABEL = re.compile(r"(?<=\d)-(?=[QH\d])")


def keep_signs(text: str) -> str:
    """Join every sign (and ▲/▼ arrow) to the figure after it, so a line never breaks between them:
    "+€147K" may wrap as a whole, never as "+" / "€147K"; nor do period labels and dates (2010-Q3)."""
    return _HYPHEN_IN_LABEL.sub("-\u2060", _SIGN_BEFORE_FIGURE.sub("\\1\u2060", text))


# --- view models: what each template needs, derived from the metrics document only ----------------


# Customer-supplied text, by the document key that holds it, and the most characters a page shows of it.
# metrics.json and metrics.csv keep every value whole; the PDF shows at most this much (a 10,000-character
# word in a table cell would crowd out the rest of its page).
DISPLAYED_TEXT = {
    "segment": 60, "name": 80, "customer_id": 40, "referrer_name": 80, "referrer_id": 40, "referred_name": 80,
    "referred_customer_id": 40, "note": 280, "kind": 40, "main_cost_kind": 40, "company_name": 80, "segment_by": 40,
}  # fmt: skip
_ISOLATES = dict.fromkeys(map(ord, "\u2066\u2067\u2068\u2069"))  # LRI, RLI, FSI, PDI
_BIDI_SENSITIVE = frozenset({"R", "AL", "AN", "LRE", "LRO", "RLE", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"})


def displayed(text: str, limit: int) -> str:
    """Customer text as a page shows it: cut to `limit` characters, and, when it holds right-to-left
    letters or direction controls (U+202E…), wrapped in a first-strong isolate (U+2068 … U+2069) so it
    can never reorder the text around it — the page header's period included. Isolates inside the text
    are dropped first, so it cannot close ours early."""
    text = text.translate(_ISOLATES)
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    if any(unicodedata.bidirectional(character) in _BIDI_SENSITIVE for character in text):
        text = "\u2068" + text + "\u2069"
    return text


def for_display(value):
    """A copy of (part of) the metrics document with every customer-supplied text `displayed`."""
    if isinstance(value, dict):
        return {
            key: displayed(item, DISPLAYED_TEXT[key]) if key in DISPLAYED_TEXT and isinstance(item, str) else for_display(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [for_display(item) for item in value]
    return value


def story(document: dict, card: dict) -> list[str]:
    """The scorecard's narrative as its pages show it: metrics.json's sentences, written again from the
    displayed document, so the customer text in them (segment names) is cut and isolated like all other."""
    return narrative.sentences(document, card)


def _period_title(document: dict) -> str:
    period = document["period"]
    title = f"{period['label']} ({_human_date(period['start'])} – {_human_date(_last_day(period))})"
    if period["partial"]:
        title += f", partial through {_human_date(document['data_through'])}"
    return title


def _last_day(period: dict) -> str:
    return (date.fromisoformat(period["end"]) - timedelta(days=1)).isoformat()


def _human_date(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day.day} {day:%b %Y}"


TARGETS = (
    # (target key, label, how to read the figure from a scorecard, how to show it)
    ("net_customers", "Net customers", lambda card: card["customers"]["net"], "count"),
    ("net_value", "Net value change", lambda card: card["headline"]["value_net"], "money"),
    ("nrr", "Net revenue retention", lambda card: card["rates"]["nrr"], "percent"),
    ("grr", "Gross revenue retention", lambda card: card["rates"]["grr"], "percent"),
    ("logo_retention", "Logo retention", lambda card: card["rates"]["logo_retention"], "percent"),
    ("gain_loss_ratio", "Gained per lost", lambda card: card["rates"]["gain_loss_ratio"], "ratio"),
)


def targets(card: dict, configured: dict, numbers: formatting.Numbers) -> list[dict]:
    """Traffic lights for the configured targets: met, missed, or no figure (a rate over nothing)."""
    lights = []
    for key, label, read, kind in TARGETS:
        target = configured.get(key)
        if target is None:
            continue
        figure = read(card)
        show = {"count": lambda x: numbers.count(x, signed=True), "money": lambda x: numbers.money(x, signed=True),
                "percent": numbers.percent, "ratio": numbers.ratio}[kind]  # fmt: skip
        status = "none" if figure is None else "met" if Decimal(str(figure)) >= Decimal(str(target)) else "missed"
        lights.append({"label": label, "figure": show(figure) if figure is not None else "–", "target": show(target), "status": status})
    return lights


def check_logo(path: str | None) -> bytes | None:
    """The configured logo's bytes, checked: it exists, is at most 2 MB, and, for an SVG, is plain XML
    that refers to nothing outside itself. An SVG with a DTD or entities (XXE), an http/file link, an
    @import or a url() to anything but itself stops the build with ScorecardError: reports never fetch."""
    if path is None:
        return None
    file = Path(path)
    if not file.is_file():
        raise ScorecardError(f"logo file {file} does not exist; fix [report] logo in the config")
    if file.stat().st_size > 2_000_000:
        raise ScorecardError(f"logo file {file} is larger than 2 MB; use a smaller image")
    data = file.read_bytes()
    if file.suffix.lower() == ".svg":
        reference = _svg_outside_reference(data)
        if reference:
            raise ScorecardError(
                f"logo file {file} {reference}; a report never fetches anything, so this logo stops the build. "
                "Embed images in the SVG as data: URIs (no DTD, no @import), or use a PNG"
            )
    return data


_CSS_REFERENCE = re.compile(r"@import|url\(\s*['\"]?\s*([^'\")\s]*)", re.IGNORECASE)


def _inside(reference: str) -> bool:
    return reference.startswith(("#", "data:"))


def _svg_outside_reference(data: bytes) -> str | None:
    """What in an SVG points outside it (or cannot be checked), in words; None when nothing does."""
    if re.search(rb"<!(DOCTYPE|ENTITY)", data, re.IGNORECASE):
        return "declares a DTD or entities (which can read other files)"
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return "is not a well-formed SVG file"
    for element in root.iter():
        for name, value in element.attrib.items():
            if name.rsplit("}", 1)[-1] in ("href", "src") and not _inside(value.strip()):
                return f"refers to {excerpt(value.strip(), 60)}"
        for text in [*element.attrib.values(), element.text or ""]:
            for match in _CSS_REFERENCE.finditer(text):
                target = "@import" if match.group(0).lower() == "@import" else match.group(1) or ""
                if target == "@import" or not _inside(target):
                    return f"refers to {excerpt(target, 60)}"
    return None


def _logo(path: str | None) -> str | None:
    """The configured logo as a data: URI (the renderer fetches nothing from disk or network)."""
    data = check_logo(path)
    if data is None:
        return None
    kind = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}[Path(path).suffix.lower()]
    return f"data:{kind};base64," + base64.b64encode(data).decode("ascii")


def _tone(value) -> str:
    return "good" if value > 0 else "bad" if value < 0 else ""


ARROW_UP, ARROW_DOWN = "▲", "▼"


def _change(current, before, size) -> str:
    """▲ 31 / ▼ €12K / = : how a tile's figure moved against a comparison period (`size` shows the
    difference, unsigned: the arrow is its sign)."""
    difference = current - before
    if difference == 0:
        return "= no change"
    return f"{ARROW_UP if difference > 0 else ARROW_DOWN}\u00a0{size(abs(difference))}"


def _comparisons(card: dict, key: str, show, labels: dict[str, str], size=None) -> list[str]:
    """The tile's line per comparison period: the change and the figure then, or why there is none."""
    lines = []
    current = card["headline"][key]
    for comparison in ("previous", "year_ago"):
        figures = card["headline"][comparison]
        if comparison == "year_ago" and labels["year_ago"] == labels["previous"]:
            continue  # yearly periods: the previous period is the year ago
        if figures is None:
            lines.append(f"vs {labels[comparison]}: no data")
        else:
            short = " ⚠" if figures["short_history"] else ""
            lines.append(f"{_change(current, figures[key], size or show)} vs {figures['period']} ({show(figures[key])}){short}")
    return lines


def tiles(card: dict, numbers: formatting.Numbers, labels: dict[str, str]) -> list[dict]:
    """The six headline tiles: customers gained, lost, net; value gained, lost, net — each with the parts
    that add up to it and the comparison with the previous period and a year ago."""
    c, v, h = card["customers"], card["value"], card["headline"]
    parts = h["parts"]
    money = lambda amount, signed=False: numbers.money(amount, signed=signed)
    count = numbers.count
    signed_count = lambda n: numbers.count(n, signed=True)
    signed_money = lambda amount: numbers.money(amount, signed=True)
    # gained and lost: +328 and −133, but a plain 0 when nothing moved
    moved_count = lambda n: numbers.count(n, signed=True) if n else "0"
    moved_money = lambda amount: numbers.money(amount, signed=True) if amount else numbers.money(0)
    return [
        {"label": "Customers gained", "figure": moved_count(h["customers_gained"]), "tone": "good" if h["customers_gained"] else "",
         "parts": [f"{count(c['new'])} new", f"{count(c['reactivated'])} won back"],
         "comparisons": _comparisons(card, "customers_gained", count, labels)},
        {"label": "Customers lost", "figure": moved_count(-h["customers_lost"]), "tone": "bad" if h["customers_lost"] else "",
         "parts": [f"{count(c['lost_lapsed'])} lapsed", f"{count(c['lost_closed'])} closed"],
         "comparisons": _comparisons(card, "customers_lost", count, labels)},
        {"label": "Net customers", "figure": signed_count(h["customers_net"]), "tone": _tone(h["customers_net"]),
         "parts": [f"active: {count(c['start'])} at start → {count(c['end'])} at end"],
         "comparisons": _comparisons(card, "customers_net", signed_count, labels, size=count)},
        {"label": "Value gained", "figure": moved_money(h["value_gained"]), "tone": "good" if h["value_gained"] else "",
         "parts": [f"new {money(parts['new'])}", f"won back {money(parts['reactivated'])}", f"expansion {money(parts['expansion'])}"],
         "comparisons": _comparisons(card, "value_gained", money, labels)},
        {"label": "Value lost", "figure": moved_money(-h["value_lost"]), "tone": "bad" if h["value_lost"] else "",
         "parts": [f"lapsed {money(parts['lost_lapsed'])}", f"closed {money(parts['lost_closed'])}", f"contraction {money(parts['contraction'])}"],
         "comparisons": _comparisons(card, "value_lost", money, labels)},
        {"label": "Net value change", "figure": signed_money(h["value_net"]), "tone": _tone(h["value_net"]),
         "parts": [f"run-rate {money(v['start'])} → {money(v['end'])}"]
         + ([f"net revenue retention {numbers.percent(card['rates']['nrr'])}"] if card["rates"]["nrr"] is not None else []),
         "comparisons": _comparisons(card, "value_net", signed_money, labels, size=money)},
    ]  # fmt: skip


class Names:
    """Who is who, one rule for every customer list of a scorecard: the name; the name and the id when
    another customer on the scorecard has the same name; the id alone when there is no name."""

    def __init__(self, card: dict):
        ids_by_name: dict[str, set[str]] = {}
        for customer_id, name in _people(card):
            if name:
                ids_by_name.setdefault(name, set()).add(customer_id)
        self.shared = {name for name, ids in ids_by_name.items() if len(ids) > 1}

    def __call__(self, customer_id: str, name: str | None) -> str:
        if not name:
            return f"customer {customer_id}"
        return f"{name} ({customer_id})" if name in self.shared else name


def _people(card: dict) -> list[tuple[str, str | None]]:
    people = [(row["customer_id"], row["name"]) for row in card["top_lost"] + card["top_decliners"]]
    people += [(row["customer_id"], row["name"]) for row in (card.get("at_risk") or {}).get("customers", [])]
    people += [(row["customer_id"], row["name"]) for row in (card["profitability"] or {}).get("top_destroyers", [])]
    for highlight in card["referrals"]["highlights"]:
        people.append((highlight["referrer_id"], highlight["referrer_name"]))
        if highlight["referred_customer_id"] is not None:
            people.append((highlight["referred_customer_id"], highlight["referred_name"]))
    return people


def engagement(card: dict) -> list[dict]:
    c, values = card["customers"], card["engagement_value"]
    share = lambda n: n / c["retained"] if c["retained"] else None
    return [
        {"label": "grew", "customers": c["grew"], "share": share(c["grew"]), "value": values["grew"]},
        {"label": "held stable", "customers": c["stable"], "share": share(c["stable"]), "value": values["stable"]},
        {"label": "declined", "customers": c["declined"], "share": share(c["declined"]), "value": values["declined"]},
        {"label": "order less often (any of the above)", "customers": c["ordering_less_often"], "share": share(c["ordering_less_often"]),
         "value": values["ordering_less_often"]},
    ]  # fmt: skip


FROM_LABELS = {"new": "New", "reactivated": "Won back", "base": "Base", "core": "Core", "top": "Top"}
TO_LABELS = {"base": "Base", "core": "Core", "top": "Top", "lost": "Lost"}


def migration(card: dict) -> dict:
    cells = card["migration"]
    largest = max([cell["customers"] for cell in cells] + [1])
    rows = []
    for source, label in FROM_LABELS.items():
        row_cells = []
        for target in TO_LABELS:
            cell = next(x for x in cells if x["from"] == source and x["to"] == target)
            strength = 0.08 + 0.5 * cell["customers"] / largest if cell["customers"] else 0
            colour = "213, 94, 0" if target == "lost" else "0, 114, 178"
            row_cells.append({**cell, "background": f"rgba({colour}, {strength:.2f})"})
        rows.append({"label": label, "cells": row_cells, "total": sum(x["customers"] for x in row_cells)})
    totals = [sum(x["customers"] for x in cells if x["to"] == target) for target in TO_LABELS]
    return {"columns": list(TO_LABELS.values()), "rows": rows, "totals": totals, "grand_total": sum(totals)}


def definitions(settings: dict, numbers: formatting.Numbers, columns: int = 3) -> list[list[tuple[str, str]]]:
    """The plain-words definitions, in `columns` runs of about equal height (in lines of ~40 characters)."""
    terms = _definitions(settings, numbers)
    lines = [1.6 + math.ceil(len(meaning) / 40) for _, meaning in terms]  # the bold term, then the meaning
    target = sum(lines) / columns
    runs, run, height = [], [], 0.0
    for term, size in zip(terms, lines, strict=True):
        if run and height + size / 2 > target and len(runs) < columns - 1:
            runs.append(run)
            run, height = [], 0.0
        run.append(term)
        height += size
    return runs + [run]


def _definitions(settings: dict, numbers: formatting.Numbers) -> list[tuple[str, str]]:
    window = settings["window_days"]
    threshold = numbers.percent(settings["change_threshold"], digits=0)
    return [
        ("Annual run-rate (value)", f"What a customer spent in the {window} days before a date: orders minus refunds, "
         "cancelled orders ignored. A closed account counts as zero."),
        ("Active customer", "A customer whose run-rate is above zero on that date."),
        ("New", "Active at the end, not at the start, and made their first ever purchase during the period."),
        ("Won back", "Active at the end, not at the start, but had bought before the period."),
        ("Lost", "Active at the start, not at the end. Closed: the account was explicitly closed; lapsed: they simply stopped buying."),
        ("In and out", "Bought during the period but was active at neither end (for example, bought and returned everything)."),
        ("Retained", "Active at both the start and the end."),
        ("Value gained / lost / net", "Gained: run-rate of new and won-back customers plus expansion of retained ones. Lost: "
         "run-rate of lost customers plus contraction of retained ones. Net = gained − lost = run-rate at end − at start."),
        ("Grew / declined / stable", f"A retained customer whose run-rate rose, or fell, by more than {threshold} of their start run-rate; stable otherwise."),
        ("Ordering less often", f"A retained customer with fewer purchases in the {window} days before the end than in the {window} days before the start."),
        ("Net revenue retention (NRR)", "Run-rate kept from the customers active at the start, including expansion: (start + expansion − contraction − lost) ÷ start."),
        ("Gross revenue retention (GRR)", "As NRR but without expansion: (start − contraction − lost) ÷ start."),
        ("Comparisons (▲ ▼)", "Each headline figure against the period before and the same period a year earlier, same "
         "settings and segments; “no data” when the data does not reach back that far."),
        ("Short history", f"The data begins less than {window} days before the period start, so customers who bought only "
         "before the data begins are invisible: gains are overstated and losses understated."),
        ("Other segments", "Segments too small for a scorecard of their own, reported together (listed in the data-quality "
         "notes). Every definition in full: docs/definitions.md of the scorecard project."),
    ]  # fmt: skip


def shared_context(document: dict, company: str) -> dict:
    """What every report of the build shows alike: company, period, warnings, number formats."""
    period = document["period"]
    numbers = formatting.Numbers.for_document(document)
    return {
        "company": company,
        "numbers": numbers,
        "currency": document["settings"]["currency"],
        "logo": _logo(document["settings"]["logo"]),
        "data_through": document["data_through"],
        "is_sample": document["sample_data"],
        "created": document["data_through"],  # fixed, so identical input gives identical bytes
        "period": {**period, "last_day": _last_day(period)},
        "period_title": _period_title(document),
        "settings": document["settings"],
        "threshold": numbers.percent(document["settings"]["change_threshold"], digits=0),
        "source": "bundled sample data" if document["sample_data"] else "your data",
        "short_history": narrative.short_history(document),
        "material_exclusions": narrative.material_exclusions(document, numbers),
        "segment_grouping": _segment_grouping(document, numbers),
        "has_referrals": "referrals" in document["data_quality"]["rows_read"],
    }


def _segment_grouping(document: dict, numbers: formatting.Numbers) -> str | None:
    """Which segments of the data are reported together as "Other segments", and why."""
    grouping = document["segment_grouping"]
    grouped = grouping["other_segments"]
    if not grouped:
        return None
    reasons = []
    if grouping["only"] is not None:
        reasons.append("not in the configured list of segments")
    if grouping["min_customers"]:
        reasons.append(f"fewer than {numbers.plural(grouping['min_customers'], 'customer')} active at the start or end of the period")
    names = ", ".join(f"{g['segment']} ({numbers.count(g['customers'])})" for g in grouped)
    return (
        f"“Other segments” groups {numbers.plural(len(grouped), 'segment')} ({' or '.join(reasons)}; "
        f"--min-segment-customers 0 keeps them all), with the customers active at the start or end of the period: {names}."
    )


def profitability(card: dict, settings: dict, numbers: formatting.Numbers) -> dict | None:
    """The plain-words headline of the profitability page."""
    p = card["profitability"]
    if p is None:
        return None
    destroyers = p["destroyers"]
    destroy = (
        f"{numbers.percent(destroyers['customers_share'], digits=0)} of customers destroy {numbers.money(destroyers['profit_eroded'])}"
        if destroyers["customers"]
        else "no customer destroys value"
    )
    if p["total_profit"] > 0:
        headline = (
            f"The top {numbers.percent(p['peak']['customers_share'], digits=0)} of customers earn "
            f"{numbers.percent(p['peak']['profit_share'], digits=0)} of profit; {destroy}."
        )
    else:
        headline = f"Customers lost money overall: profit {numbers.money(p['total_profit'], signed=True)}; {destroy}."
    margin = settings["gross_margin"]
    margin_note = (
        f"{numbers.percent(margin, digits=0)}, orders' own margins where given" if margin is not None else "each order's own margin"
    )
    return {"headline": headline, "margin_note": margin_note}


def _days_text(days: float) -> str:
    return f"{days:.0f} day" + ("" if round(days) == 1 else "s")


def outlook(card: dict, document: dict, numbers: formatting.Numbers) -> dict:
    """The plain words of the at-risk, cohorts and why-they-left page."""
    at_risk, backtest, loss = card["at_risk"], card["at_risk"]["backtest"], card["loss_reasons"]
    noun = narrative.PERIOD_NOUNS[document["period"]["kind"]]
    end = date.fromisoformat(document["period"]["end"])
    if at_risk["count"] is None:
        headline = f"No at-risk list this time: {at_risk['note']}."
    elif at_risk["count"] == 0:
        headline = f"No active customer is at risk of buying nothing next {noun}."
    else:
        headline = (
            f"{numbers.count(at_risk['count'])} customer{'s' if at_risk['count'] != 1 else ''} worth {numbers.money(at_risk['run_rate'])} "
            f"a year {'are' if at_risk['count'] != 1 else 'is'} at risk of buying nothing next {noun}; weighted by that chance, "
            f"{numbers.money(at_risk['value_at_risk'])} a year is at risk."
        )
    rows = []
    for row in at_risk["customers"]:
        ago = (end - date.fromisoformat(row["last_purchase"])).days
        usual = f"every {_days_text(row['usual_gap_days'])}" if row["usual_gap_days"] is not None else "bought once"
        rows.append({**row, "chance": numbers.percent(row["p_quiet"], digits=0), "rhythm": f"{_days_text(ago)} ago · {usual}"})
    as_of = _human_date(backtest["as_of"])
    if backtest["flagged"] is None:
        check, strength, weak = f"No backtest this time: {backtest['note']}.", None, False
    elif not backtest["flagged"] or not backtest["others"]:
        who = "no customer" if not backtest["flagged"] else "every customer"
        check, strength, weak = f"On {as_of} this method would have flagged {who} active then, so there is nothing to compare.", None, False
    else:
        flagged_share = backtest["flagged_quiet"] / backtest["flagged"]
        others_share = backtest["others_quiet"] / backtest["others"]
        times = f" ({numbers.ratio(backtest['lift'])} as likely)" if backtest["lift"] is not None else ""
        check = (
            f"Of {numbers.count(backtest['flagged'])} customers this method would have flagged on {as_of}, "
            f"{numbers.percent(flagged_share, digits=0)} bought nothing this {noun}, against "
            f"{numbers.percent(others_share, digits=0)} of the other {numbers.count(backtest['others'])}{times}."
        )
        auc = backtest["auc"]
        strength = (
            f"A customer who went quiet had been given a higher chance than one who kept buying "
            f"{numbers.percent(auc, digits=0)} of the time (AUC {auc:.2f}; 50 % is a coin toss)."
            if auc is not None
            else None
        )
        weak = auc is not None and auc < 0.6
    return {
        "noun": noun,
        "headline": headline,
        "rows": rows,
        "backtest": check,
        "strength": strength,
        "weak": weak,
        "threshold": numbers.percent(at_risk["threshold"], digits=0),
        "end": _human_date(document["period"]["end"]),
        "cohorts": _cohort_rows(card["cohorts"], numbers),
        "cohorts_before_data": bool(card["cohorts"]) and document["data_from"] > card["cohorts"][0]["start"],
        "data_from": _human_date(document["data_from"]),
        "cohort_columns": max((len(cohort["retention"]) for cohort in card["cohorts"]), default=0),
        "closed": loss["closed"],
        "lapsed": _lapsed_text(loss["lapsed"], as_of, noun, numbers),
    }


def _cohort_rows(cohorts: list[dict], numbers: formatting.Numbers) -> list[dict]:
    rows = []
    for cohort in reversed(cohorts):  # newest first, like the trend reads
        cells = [
            {
                "retention": numbers.percent(retention, digits=0) if retention is not None else "–",
                "revenue": numbers.percent(revenue, digits=0) if revenue is not None else "–",
                "background": f"rgba(0, 114, 178, {0.06 + 0.5 * retention:.2f})" if retention is not None else "transparent",
            }
            for retention, revenue in zip(cohort["retention"], cohort["revenue_retention"], strict=True)
        ]
        rows.append({"cohort": cohort["cohort"], "size": cohort["size"], "cells": cells, "start": cohort["start"]})
    return rows


def _lapsed_text(lapsed: dict, as_of: str, noun: str, numbers: formatting.Numbers) -> str:
    count = lapsed["customers"]
    if not count:
        return f"No customer lapsed this {noun}."
    parts = []
    if lapsed["flagged_at_risk_before"] is not None:
        parts.append(f"{numbers.count(lapsed['flagged_at_risk_before'])} had been flagged at risk on {as_of}")
    if lapsed["declining_before"] is not None:
        parts.append(f"{numbers.count(lapsed['declining_before'])} had been declining or ordering less often the {noun} before")
    who = f"{numbers.count(count)} customer{'s' if count != 1 else ''} lapsed this {noun} (stopped buying without closing the account)"
    return who + (": " + " and ".join(parts) + "." if parts else ".")


def comparison(document: dict) -> list[dict]:
    """The board pack's segment comparison: each scorecard's headline with the parts of its value gained
    and lost; segments by net value change, largest first, then the company total."""
    rows = []
    for card in document["scorecards"]:
        c, h = card["customers"], card["headline"]
        rows.append(
            {
                "name": card["segment"] if card["segment"] is not None else "Company total",
                "is_company": card["scope"] == "company",
                "start": c["start"], "gained": h["customers_gained"], "lost": h["customers_lost"], "net": h["customers_net"], "end": c["end"],
                "value_gained": h["value_gained"], "value_lost": h["value_lost"], "value_net": h["value_net"], "parts": h["parts"],
                "nrr": card["rates"]["nrr"], "net_tone": "gain" if h["customers_net"] > 0 else "loss" if h["customers_net"] < 0 else "",
                "value_tone": "gain" if h["value_net"] > 0 else "loss" if h["value_net"] < 0 else "",
            }
        )  # fmt: skip
    segments = sorted((r for r in rows if not r["is_company"]), key=lambda r: (-r["value_net"], r["name"]))
    return segments + [r for r in rows if r["is_company"]]


# --- HTML summaries: page 1's content as one self-contained file (beside each PDF; the email body) -----

# Where a message's note (what is attached, or where the files are) goes in an HTML summary.
MAIL_NOTE_MARKER = "<!-- scorecard:mail-note -->"
SUMMARY_FOOTER = "The PDF holds the whole scorecard; every figure here is also in metrics.json."


def _summary_css(env: jinja2.Environment) -> Markup:
    source, _, _ = env.loader.get_source(env, "summary.css")
    return Markup(source)


def summary_html(document: dict, card: dict, chart_svgs: dict[str, str], env: jinja2.Environment) -> str:
    """A scorecard's headline (tiles, narrative, bridges) as one HTML file, from the same view models
    and partials as the PDF. `chart_svgs` are the charts as SVG text; they are inlined, sanitised."""
    document, card = for_display(document), for_display(card)
    company = document["settings"]["company_name"]
    numbers = formatting.Numbers.for_document(document)
    scope_title = card["segment"] if card["segment"] is not None else "Company"
    labels = {
        "count_bridge": "Customer bridge: start, new, won back, lapsed, closed, end",
        "value_bridge": "Value bridge: start, new, won back, expansion, contraction, lost, end",
        "trend": "Customers gained versus lost over the last periods",
        "value_trend": "Value gained versus lost over the last periods, with NRR and GRR",
    }
    glyphs: dict[str, str] = {}  # the charts share their glyph outlines (see chart_markup.inline_svg)
    context = shared_context(document, company) | {
        "doc_title": f"{company} · {scope_title} scorecard · {document['period']['label']}",
        "description": f"Customers gained versus lost, {scope_title}, {document['period']['label']}",
        "scope_title": scope_title,
        "card": card,
        "c": card["customers"],
        "v": card["value"],
        "narrative": story(document, card),
        "tiles": tiles(card, numbers, narrative.comparison_labels(document)),
        "targets": targets(card, document["settings"]["targets"], numbers),
        "notes": document["notes"],
        "charts": {
            name: chart_markup.inline_svg(chart_svgs[name], name.replace("_", "-"), label, glyphs) for name, label in labels.items()
        },
        "css": _summary_css(env),
        "footer": SUMMARY_FOOTER,
    }
    return env.get_template("summary.html").render(context)


def board_pack_summary_html(document: dict, env: jinja2.Environment) -> str:
    """The board pack's headline: the company's tiles and the segments compared."""
    document = for_display(document)
    company = document["settings"]["company_name"]
    numbers = formatting.Numbers.for_document(document)
    company_card = document["scorecards"][0]
    context = shared_context(document, company) | {
        "doc_title": f"{company} · customer scorecards · {document['period']['label']}",
        "description": f"Board pack: customers gained versus lost by segment, {document['period']['label']}",
        "card": company_card,
        "narrative": story(document, company_card),
        "tiles": tiles(company_card, numbers, narrative.comparison_labels(document)),
        "targets": targets(company_card, document["settings"]["targets"], numbers),
        "notes": document["notes"],
        "comparison": comparison(document),
        "css": _summary_css(env),
        "footer": "The board pack PDF holds every scorecard; every figure here is also in metrics.json.",
    }
    return env.get_template("summary_board_pack.html").render(context)


def summary_text(document: dict, card: dict | None) -> str:
    """The plain-text twin of an HTML summary (the text part of an email): the same view models.
    `card` None: the board pack's summary."""
    document, card = for_display(document), for_display(card)
    numbers = formatting.Numbers.for_document(document)
    company = document["settings"]["company_name"]
    board_pack = card is None
    card = document["scorecards"][0] if board_pack else card
    scope_title = "Board pack" if board_pack else card["segment"] if card["segment"] is not None else "Company"
    lines = [f"{company} · {scope_title} · {_period_title(document)}", ""]
    if document["sample_data"]:
        lines += ["SAMPLE DATA — generated figures, not a real business", ""]
    warnings = [narrative.short_history(document), narrative.material_exclusions(document, numbers)]
    lines += [" ".join(story(document, card))]
    for block in ([warning for warning in warnings if warning], [f"Note: {note}" for note in document["notes"]]):
        lines += [""] + block if block else []
    lines += ["", "Company" if board_pack else scope_title]
    card_tiles = tiles(card, numbers, narrative.comparison_labels(document))
    width = max(len(tile["label"]) for tile in card_tiles)
    for tile in card_tiles:
        lines.append(f"  {tile['label'].ljust(width)}  {tile['figure']:>10}   {' · '.join(tile['parts'])}")
        lines += [f"  {'':{width}}  {'':>10}   {line}" for line in tile["comparisons"]]
    if board_pack:
        lines += ["", "Segments compared, by value net (customers net · value net · NRR)"]
        rows = comparison(document)
        name_width = max(len(row["name"]) for row in rows)
        for row in rows:
            lines.append(
                f"  {row['name'].ljust(name_width)}  {numbers.count(row['net'], signed=True):>8}  "
                f"{numbers.money(row['value_net'], signed=True):>10}  {numbers.percent(row['nrr']):>8}"
            )
    else:
        c, v = card["customers"], card["value"]
        lines += [
            "",
            f"Customers: {numbers.count(c['start'])} at start {numbers.count(c['new'], signed=True)} new "
            f"{numbers.count(c['reactivated'], signed=True)} won back {numbers.count(-c['lost_lapsed'], signed=True)} lapsed "
            f"{numbers.count(-c['lost_closed'], signed=True)} closed = {numbers.count(c['end'])} at end",
            f"Value: {numbers.money(v['start'], exact=True)} at start {numbers.money(v['new'], signed=True, exact=True)} new "
            f"{numbers.money(v['reactivated'], signed=True, exact=True)} won back {numbers.money(v['expansion'], signed=True, exact=True)} expansion "
            f"{numbers.money(-v['contraction'], signed=True, exact=True)} contraction {numbers.money(-v['lost'], signed=True, exact=True)} lost "
            f"= {numbers.money(v['end'], exact=True)} at end",
        ]
    lines += ["", f"Data through {document['data_through']}."]
    return "\n".join(lines) + "\n"


def mail_note_html(attached: list[str], left_out: list[dict], limit: str, location: str) -> Markup:
    """The note at the top of an emailed summary (autoescaped like everything else)."""
    template = environment().get_template("partials/mail_note.html")
    return Markup(template.render(attached=attached, left_out=left_out, limit=limit, location=location))


def with_mail_note(html: str, note: Markup) -> str:
    """The built HTML summary with the note in its place (or first in the body, for a file without the marker)."""
    if MAIL_NOTE_MARKER in html:
        return html.replace(MAIL_NOTE_MARKER, str(note), 1)
    return html.replace("<body>", "<body>\n" + str(note), 1)
