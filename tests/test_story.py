"""Page 1 tells the story honestly: the narrative holds only the scorecard's own figures, in the right
words for zero, one and many; signs stay with their numbers; plurals, articles and thousands separators
everywhere; one rule for who is who; the short-history warning where the headline is read."""

from __future__ import annotations

import re
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import REALDATA, card, compute, make_data
from scorecard import formatting, narrative, pages, render, typesetting
from scorecard.engine import Check
from scorecard.errors import DataError
from scorecard.source import Source

D = Decimal
NUMBER = re.compile(r"[+\u2212±]?(?:[€£$¥]|[A-Z]{3}\u00a0)?\d(?:[\d,.]*\d)?[KMB]?(?: %)?")
DATE_OR_LABEL = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b(?:FY)?\d{4}(?:-(?:Q[1-4]|H[12]|\d{2}))?\b")


def _leaves(value):
    if isinstance(value, dict):
        for inner in value.values():
            yield from _leaves(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _leaves(inner)
    elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        yield value


def figures(document: dict, scorecard: dict) -> set[str]:
    """Every figure of the scorecard, formatted every way the report formats figures."""
    numbers = formatting.Numbers.for_document(document)
    shown = set()
    for value in _leaves({key: value for key, value in scorecard.items() if key != "narrative"}):
        if isinstance(value, int):
            shown |= {numbers.count(value), numbers.count(abs(value)), numbers.count(value, signed=True)}
        if isinstance(value, Decimal):
            shown |= {numbers.money(value), numbers.money(abs(value)), numbers.money(value, signed=True)}
        if isinstance(value, float):
            shown |= {numbers.percent(value, digits=0), numbers.percent(value)}
    return shown


def numbers_in(sentence: str) -> list[str]:
    return NUMBER.findall(DATE_OR_LABEL.sub(" ", sentence))


def assert_narrative_holds_only_figures(document: dict) -> None:
    for scorecard in document["scorecards"]:
        story = scorecard["narrative"]
        ahead = scorecard["scope"] == "company" and bool(scorecard["at_risk"]["count"])  # one more sentence, looking ahead
        assert 3 <= len(story) - ahead <= 5, story
        known = figures(document, scorecard)
        for sentence in story:
            labels_and_dates = set(DATE_OR_LABEL.findall(sentence))
            allowed = {t["period"] for t in scorecard["trend"]} | {scorecard["history"]["data_from"]}
            allowed |= set(narrative.comparison_labels(document).values())
            assert labels_and_dates <= allowed, (sentence, labels_and_dates - allowed)
            for number in numbers_in(sentence):
                assert number in known, (scorecard["segment"], number, sentence)


def test_every_number_in_the_sample_narratives_is_a_figure():
    for period in ("2025-Q3", "2025-07", "2024"):
        assert_narrative_holds_only_figures(compute(None, period))
    assert_narrative_holds_only_figures(compute(None, "2025-Q3", currency="EUR", number_format="1.234,56"))


def test_every_number_in_the_real_data_narratives_is_a_figure():
    document = compute(REALDATA, "2011-Q3", max_excluded=Decimal("0.10"), currency="GBP", min_segment_customers=30)
    assert_narrative_holds_only_figures(document)
    company = card(document)["narrative"]
    assert "so gains are overstated and losses understated" in company[0]
    assert company[3].endswith("2010-Q3 is before the data begins (2010-12-01).")


def test_the_company_narrative_looks_ahead_with_the_at_risk_figures():
    document = compute(None, "2025-Q3")
    company = card(document)
    at_risk, backtest = company["at_risk"], company["at_risk"]["backtest"]
    numbers = formatting.Numbers.for_document(document)
    assert at_risk["count"] > 1 and backtest["flagged"] > 1
    assert company["narrative"][-1] == (
        f"{numbers.count(at_risk['count'])} customers worth {numbers.money(at_risk['run_rate'])} a year are at risk of buying "
        f"nothing next quarter; of the {numbers.count(backtest['flagged'])} the same test flagged at the start of this quarter, "
        f"{numbers.count(backtest['flagged_quiet'])} then bought nothing."
    )
    assert all("at risk" not in sentence for scorecard in document["scorecards"][1:] for sentence in scorecard["narrative"])


def test_the_parser_finds_numbers_and_refuses_strangers():
    assert numbers_in("Value lost was €716K; the largest part, €255K (36 %), came from 10 closed accounts in 2025-Q2.") == [
        "€716K", "€255K", "36 %", "10",
    ]  # fmt: skip
    document = compute(None, "2025-Q3")
    scorecard = dict(card(document), narrative=["The customer base grew by 196 to 2,950 active customers."])
    with pytest.raises(AssertionError):
        assert_narrative_holds_only_figures({**document, "scorecards": [scorecard]})


def test_narrative_wording_for_zero_one_and_many(data_dir):
    customers = [("A", "Calm"), ("B", "Busy"), ("C", "Busy", "2025-08-01"), ("D", "Busy", "2025-08-01"), ("E", "Busy")]
    orders = [
        ("A", "2024-09-01", "100"), ("A", "2025-08-01", "100"),  # Calm: one retained customer, unchanged
        ("B", "2025-08-05", "40"),  # Busy: 1 new customer
        ("C", "2025-03-01", "70"), ("D", "2025-04-01", "30"),  # Busy: 2 closed accounts, 100 lost
        ("E", "2025-07-02", "20"), ("E", "2025-07-03", "-20"),  # in and out
    ]  # fmt: skip
    document = compute(make_data(data_dir, customers, orders), "2025-Q3")
    calm, busy, company = card(document, "Calm"), card(document, "Busy"), card(document)
    assert calm["narrative"] == [
        "In Calm, the customer base held at 1 active customer (0 gained, 0 lost); annual run-rate value held at 100, "
        "but the data starts too late to see every customer, so gains are overstated and losses understated.",
        "Nothing was lost: no customer left, and no retained customer spent less.",
        "Nothing was gained: no new or won-back customer, and no retained customer spent more.",
        "In 2025-Q2 (short history too) the net was ±0 customers and ±0; 2024-Q3 is before the data begins (2024-09-01).",
    ]
    assert busy["narrative"][:3] == [
        "In Busy, the customer base shrank by 1 to 1 active customer (1 gained, 2 lost); annual run-rate value fell by 60 "
        "to 40, but the data starts too late to see every customer, so gains are overstated and losses understated.",
        "Value lost was 100, all of it from 2 closed accounts.",
        "Value gained was 40, all of it from 1 new customer.",
    ]
    assert company["narrative"][1] == "Value lost was 100, all of it from 2 closed accounts in Busy."
    assert (
        company["narrative"][3]
        == "In 2025-Q2 (short history too) the net was +1 customer and +30; 2024-Q3 is before the data begins (2024-09-01)."
    )
    assert company["narrative"][4] == "Busy moved most: net value −60, net −1 customer."
    late = compute(make_data(data_dir / "late", [("A", "X")], [("A", "2025-07-10", "5")]), "2025-Q3")
    assert card(late)["narrative"][3] == "Neither 2025-Q2 nor 2024-Q3 can be compared: the data begins on 2025-07-10."
    assert card(late)["narrative"][0].startswith("The customer base grew by 1 to 1 active customer (1 gained, 0 lost)")


def test_plurals_articles_and_thousands_separators():
    assert formatting.plural(1, "order") == "1 order"
    assert formatting.plural(0, "order") == "0 orders"
    assert formatting.plural(1134, "order") == "1,134 orders"
    assert formatting.plural(2, "company") == "2 companies"
    assert formatting.plural_phrase(793, "cancelled order (ignored by definition)") == "793 cancelled orders (ignored by definition)"
    assert formatting.plural_phrase(1, "order with no customer") == "1 order with no customer"
    assert formatting.plural_phrase(13199, "customer with no customer_id") == "13,199 customers with no customer_id"
    assert formatting.Numbers(number_format="1.234,56").plural(1134, "order") == "1.134 orders"
    assert [formatting.article(word) for word in ("'order_date'", "'customer_id'", "'amount'", "'referred_at'")] == ["an", "a", "an", "a"]


def test_validation_messages_count_with_separators_and_plurals(data_dir):
    customers = [("A", "X")]
    orders = [("A", "2025-08-01", "10")] * 700 + [("GHOST", "2025-08-01", "10")] * 1300
    data = make_data(data_dir, customers, orders)
    with pytest.raises(DataError) as stopped:
        compute(data)
    message = str(stopped.value)
    assert "1,300 of 2,000 rows (65.0%) would be excluded (1,300 orders for a customer not in customers)" in message
    (data_dir / "orders.csv").write_text((data_dir / "orders.csv").read_text().replace("order_date", "date"))
    with pytest.raises(DataError, match="add an 'order_date' column"):
        compute(data)


def test_validate_report_plurals_each_reason():
    quality = type("Q", (), {})()
    quality.exclusions = [
        type(
            "E",
            (),
            {"table": "orders", "reason": "cancelled order (ignored by definition)", "kind": "ignored", "rows": 793, "amount": None},
        )(),
        type("E", (), {"table": "orders", "reason": "order with no customer", "kind": "excluded", "rows": 1134, "amount": D("1.50")})(),
    ]
    quality.excluded_rows = lambda table: 1134
    source = Source(Path("data"), False)
    source.tables = {"orders": type("T", (), {"location": "orders.csv", "rows": 13199})()}
    text = formatting.quality_report(Check(source, quality, date(2025, 1, 1)))
    assert "orders: 1,134 orders with no customer (1.50)" in text
    assert "orders: 793 cancelled orders (ignored by definition)" in text
    assert "13,199 rows read" in text


def test_a_sign_never_parts_from_its_number_at_a_line_break(tmp_path):
    """A column too narrow for the figures: every line break falls between figures, never after a sign,
    an arrow or the hyphen of a period label (the templates' rule), though the text alone would break there."""
    numbers = formatting.Numbers(currency="EUR")
    figures_text = " ".join(
        [numbers.money(D(amount), signed=True) for amount in ("147000", "-2500", "0", "1234567")] + ["▲\u00a012", "2010-Q4", "net +606"]
    )
    folder = tmp_path / "templates"
    shutil.copytree(typesetting.templates_folder(), folder)
    (folder / "narrow.typ").write_text(
        '#import "style.typ": unbreakable, whole\n#let model = json(bytes(sys.inputs.model))\n#set text(font: "DejaVu Sans", size: 9pt)\n'
        "#if model.keep { show unbreakable: whole; block(width: 9mm, model.text) } else { block(width: 9mm, model.text) }\n"
    )
    for keep, expect_split in ((True, False), (False, True)):
        (tmp_path / "narrow.pdf").write_bytes(typesetting.compile_document("narrow.typ", {"text": figures_text, "keep": keep}, root=folder))
        lines = [line.strip() for line in PdfReader(tmp_path / "narrow.pdf").pages[0].extract_text().splitlines() if line.strip()]
        split = any(line in ("+", "\u2212", "±", "▲", "+€", "2010-") or line.endswith(("+", "\u2212", "-")) for line in lines)
        assert split is expect_split, lines


def test_who_is_who_one_rule_for_every_list():
    scorecard = {
        "top_lost": [{"customer_id": "C1", "name": "Ben Eriksen"}, {"customer_id": "C2", "name": None}],
        "top_decliners": [{"customer_id": "C3", "name": "Ben Eriksen"}, {"customer_id": "C4", "name": "Ada Lind"}],
        "profitability": {"top_destroyers": [{"customer_id": "C1", "name": "Ben Eriksen"}]},
        "referrals": {
            "highlights": [{"referrer_id": "C4", "referrer_name": "Ada Lind", "referred_customer_id": None, "referred_name": None}]
        },
    }
    who = render.Names(scorecard)
    assert who("C1", "Ben Eriksen") == "Ben Eriksen (C1)"
    assert who("C3", "Ben Eriksen") == "Ben Eriksen (C3)"
    assert who("C4", "Ada Lind") == "Ada Lind"
    assert who("C2", None) == "customer C2"


def test_material_exclusions_are_said_on_page_1():
    document = compute(REALDATA, "2011-Q3", max_excluded=Decimal("0.10"), currency="GBP")
    note = narrative.material_exclusions(document, formatting.Numbers.for_document(document))
    assert note.startswith("Excluded from every figure: 1,134 orders worth £127K, 31 % of the company's run-rate")
    assert narrative.material_exclusions(compute(None), formatting.Numbers()) is None


def test_real_data_page_1_warns_of_short_history_with_the_remedy(tmp_path):
    document = compute(REALDATA, "2011-Q3", max_excluded=Decimal("0.10"), min_segment_customers=30)
    company = card(document)
    (tmp_path / "company.pdf").write_bytes(typesetting.compile_document("scorecard.typ", pages.scorecard(document, company)))
    page_1 = " ".join(PdfReader(tmp_path / "company.pdf").pages[0].extract_text().split())
    assert "Short history: the data begins on 2010-12-01, but run-rates at the period start look back 365 days, to 2010-07-01" in page_1
    assert "rebuild with --window-days 212 or less, or report a period starting on or after 2011-12-01" in page_1
    assert "Excluded from every figure: 1,134 orders worth 127K" in page_1
    assert "€" not in page_1 and "£" not in page_1  # no currency given, none in the data
    assert "⚠ short" in page_1  # the trend marks its short-history periods


def test_no_user_facing_text_cites_the_spec():
    """Users have the README and docs/definitions.md, not the project's specification: help texts,
    messages, templates and docs never cite it (code comments and docstrings may)."""
    import ast

    from typer.testing import CliRunner

    from conftest import REPO
    from scorecard.cli import app

    runner = CliRunner()
    for command in ([], ["build"], ["metrics"], ["validate"], ["config"], ["init"], ["sample"]):
        shown = runner.invoke(app, [*command, "--help"]).output
        assert "SPEC" not in shown, command
    assert "docs/definitions.md" in runner.invoke(app, ["--help"]).output
    templates = [
        path for path in (REPO / "templates").rglob("*.*") if "fonts" not in path.parts
    ]  # the fonts and their licence are DejaVu's
    for path in [*templates, REPO / "README.md", *(REPO / "docs").glob("*.md")]:
        assert "SPEC" not in path.read_text(encoding="utf-8"), path
    for path in (REPO / "scorecard").glob("*.py"):
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                assert "SPEC" not in node.value, (path.name, node.value[:80])
    assert "[docs/definitions.md](docs/definitions.md)" in (REPO / "README.md").read_text()
