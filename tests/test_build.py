"""`scorecard build`: the folder of outputs, PDF text equal to metrics.json, no network, autoescaping,
redaction, atomic outputs."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from conftest import compute, make_data
from scorecard import build as build_module
from scorecard import charts, formatting, pages, render, typesetting
from scorecard.build import BuildOptions, build
from scorecard.cli import app
from scorecard.errors import ScorecardError
from scorecard.metrics import pseudonym
from scorecard.outputs import scorecard_file_names, slug
from scorecard.settings import Settings
from scorecard.source import resolve_source
from scorecard.writers import pdf as pdf_writer


def flowing(text: str) -> str:
    """PDF text as one line: the page's line breaks (also after a hyphen, as in run-⏎rate) undone."""
    return re.sub(r"-\s+", "-", " ".join(text.split()))


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def small_data(folder: Path, name: str = "Acme Ltd", note: str = "Great service") -> Path:
    customers = [
        ("A1", "Retail", None, name),
        ("A2", "Retail", None, "Bravo GmbH"),
        ("B1", "Wholesale", "2025-08-15", "Charlie SA"),
        ("B2", "Wholesale", None, "Delta BV"),
    ]
    orders = [
        ("A1", "2024-09-01", "1200.50"), ("A1", "2025-08-01", "300.25"),
        ("A2", "2025-08-10", "99.99"),
        ("B1", "2025-02-01", "5000"),
        ("B2", "2024-12-01", "750"), ("B2", "2025-09-30", "80"),
    ]  # fmt: skip
    referrals = [["r1", "A1", "A2", "2025-08-05", note]]
    return make_data(folder, customers, orders, referrals=referrals)


def run_build(data: Path | None, out: Path, **settings) -> build_module.BuildReport:
    """A build of the tiny tables: each of their tiny segments keeps its own scorecard."""
    settings.setdefault("min_segment_customers", 0)
    options = BuildOptions(out=out, jobs=1, force=True)
    return build(resolve_source(data), "2025-Q3", Settings(**settings), options)


@pytest.fixture(scope="module")
def sample_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample-build")
    result = CliRunner().invoke(app, ["build", "--period", "Q3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out / "2025-Q3", result.output


def test_sample_build_writes_the_whole_folder(sample_build):
    folder, output = sample_build
    names = sorted(p.name for p in folder.iterdir())
    stems = ["board-pack-2025-Q3", "scorecard-2025-Q3-company"] + [
        f"scorecard-2025-Q3-segment-{s}" for s in ("consumer", "enterprise", "mid-market", "public-sector", "smb")
    ]
    assert names == sorted(
        ["manifest.json", "metrics.csv", "metrics.json"] + [stem + ".pdf" for stem in stems] + [stem + ".html" for stem in stems]
    )
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "success"
    assert {f["name"] for f in manifest["files"]} == set(names) - {"manifest.json"}
    assert {i["table"] for i in manifest["inputs"]} == {"customers", "orders", "referrals", "costs"}
    assert all(len(i["sha256"]) == 64 and i["rows"] > 0 for i in manifest["inputs"])
    assert {"duckdb", "typst", "scorecard", "python"} <= set(manifest["versions"])
    assert manifest["scopes"]["board-pack"] == {"title": "Board pack", "pdf": "board-pack-2025-Q3.pdf", "html": "board-pack-2025-Q3.html"}
    assert manifest["scopes"]["segment:Public Sector"] == {
        "title": "Public Sector",
        "pdf": "scorecard-2025-Q3-segment-public-sector.pdf",
        "html": "scorecard-2025-Q3-segment-public-sector.html",
    }
    assert set(manifest["scopes"]) == {"company", "board-pack"} | {
        f"segment:{s}" for s in ("Consumer", "Enterprise", "Mid-Market", "Public Sector", "SMB")
    }
    assert "Rendered scorecard-2025-Q3-company.pdf" in output and "s\n" in output


def test_every_page_carries_company_period_page_numbers_and_sample_mark(sample_build):
    folder, _ = sample_build
    for pdf in folder.glob("*.pdf"):
        reader = PdfReader(pdf)
        for number, page in enumerate(reader.pages, start=1):
            text = page.extract_text()
            assert "SAMPLE DATA" in text, (pdf.name, number)
            assert "Data through 2025-12-31" in text and "2025-Q3" in text
            assert "Sample Co." in text
            assert "Page " in text and " of " in text
        if pdf.name.startswith("scorecard-"):
            assert 2 <= len(reader.pages) <= 6  # headline, bridges, losses, at risk and cohorts, notes, profitability


def test_pdf_headline_figures_equal_metrics_json(sample_build):
    folder, _ = sample_build
    document = json.loads((folder / "metrics.json").read_text(), parse_float=Decimal)
    numbers = formatting.Numbers.for_document(document)
    names = scorecard_file_names("2025-Q3", [c["segment"] for c in document["scorecards"]])
    for card in document["scorecards"]:
        reader = PdfReader(folder / names[card["segment"]])
        page_1 = reader.pages[0].extract_text()
        text = pdf_text(folder / names[card["segment"]])
        c, v, h = card["customers"], card["value"], card["headline"]
        # The tiles: each figure with the parts that add up to it
        for shown in (
            numbers.count(h["customers_gained"], signed=True), numbers.count(-h["customers_lost"], signed=True),
            numbers.count(h["customers_net"], signed=True), numbers.money(h["value_gained"], signed=True),
            numbers.money(-h["value_lost"], signed=True), numbers.money(h["value_net"], signed=True),
            *(f"{label} {numbers.money(h['parts'][key])}" for key, label in (("new", "new"), ("reactivated", "won back"),
              ("expansion", "expansion"), ("lost_lapsed", "lapsed"), ("lost_closed", "closed"), ("contraction", "contraction"))),
        ):  # fmt: skip
            assert shown in page_1, (card["segment"], shown)
        assert " ".join(card["narrative"]) in flowing(page_1)
        for comparison in ("previous", "year_ago"):
            assert f"vs {h[comparison]['period']} ({numbers.count(h[comparison]['customers_gained'])})" in page_1
        for key in ("start", "new", "reactivated", "expansion", "contraction", "lost", "end"):
            assert numbers.money(abs(v[key]), exact=True) in text, (card["segment"], key)
        for key in ("start", "end", "new", "reactivated", "lost_lapsed", "lost_closed", "retained", "grew", "declined"):
            assert numbers.count(c[key]) in text, (card["segment"], key)
        for row in card["top_lost"]:
            assert numbers.money(row["value"], exact=True) in text


def test_profitability_page_matches_metrics_json(sample_build):
    folder, _ = sample_build
    document = json.loads((folder / "metrics.json").read_text(), parse_float=Decimal)
    names = scorecard_file_names("2025-Q3", [c["segment"] for c in document["scorecards"]])
    for card in document["scorecards"]:
        p = card["profitability"]
        text = pdf_text(folder / names[card["segment"]]).replace("\n", " ")
        numbers = formatting.Numbers.for_document(document)
        assert "Value creators and value destroyers" in text
        destroyers = p["destroyers"]
        erosion = f"{formatting.percent(destroyers['customers_share'], digits=0)} of customers destroy {numbers.money(destroyers['profit_eroded'])}"
        assert erosion in text, card["segment"]
        if p["total_profit"] > 0:
            peak = p["peak"]
            assert (
                f"The top {formatting.percent(peak['customers_share'], digits=0)} of customers earn "
                f"{formatting.percent(peak['profit_share'], digits=0)} of profit" in text
            )
        for row in p["top_destroyers"]:
            assert numbers.money(row["profit"], signed=True) in text
        for row in p["cost_by_kind"]:
            assert row["kind"] in text and numbers.money(row["amount"]) in text


def test_pdf_metadata_and_bookmarks(sample_build):
    folder, _ = sample_build
    reader = PdfReader(folder / "scorecard-2025-Q3-segment-smb.pdf")
    assert reader.metadata.title == "Sample Co. · SMB scorecard · 2025-Q3"
    assert reader.metadata.author == "Sample Co."
    titles = [item.title for item in reader.outline if not isinstance(item, list)]
    assert "SMB: customers gained versus lost" in titles
    flat = " | ".join(str(item) for item in reader.outline)
    for section in ("The bridges, exact to the cent", "Movement across value tiers", "Referrals", "Data-quality notes"):
        assert section in flat
    pack = PdfReader(folder / "board-pack-2025-Q3.pdf")
    top = [item.title for item in pack.outline if not isinstance(item, list)]
    assert top[:3] == ["Cover and segment comparison", "Contents", "Company"] and "SMB" in top
    sections = [
        item.title for item in pack.outline[pack.outline.index(next(i for i in pack.outline if getattr(i, "title", "") == "SMB")) + 1]
    ]
    assert "The bridges, exact to the cent" in sections and "Data-quality notes" in sections


def test_board_pack_compares_segments_by_net_value_change(sample_build):
    folder, _ = sample_build
    document = json.loads((folder / "metrics.json").read_text(), parse_float=Decimal)
    numbers = formatting.Numbers.for_document(document)
    segments = [c for c in document["scorecards"] if c["segment"]]
    expected = [c["segment"] for c in sorted(segments, key=lambda c: -c["headline"]["value_net"])]
    cover = PdfReader(folder / "board-pack-2025-Q3.pdf").pages[0].extract_text()
    value_table = cover[cover.index("Annual run-rate value") :]
    positions = [value_table.index(name) for name in expected]
    assert positions == sorted(positions)
    company = document["scorecards"][0]
    assert " ".join(company["narrative"]) in flowing(cover)
    for key in ("value_gained", "value_net"):
        assert numbers.money(company["headline"][key], signed=True) in cover
    assert numbers.money(-company["headline"]["value_lost"], signed=True) in cover
    for key in ("new", "reactivated", "expansion", "contraction"):
        assert numbers.money(company["headline"]["parts"][key]) in value_table


def test_board_pack_numbers_pages_across_the_pack_and_lists_its_contents(sample_build):
    """Cover, contents with each scorecard's first page (and a link to it), then the scorecards, reused
    page for page, numbered "Page x of y" across the pack."""
    folder, _ = sample_build
    document = json.loads((folder / "metrics.json").read_text(), parse_float=Decimal)
    names = scorecard_file_names("2025-Q3", [c["segment"] for c in document["scorecards"]])
    pack = PdfReader(folder / "board-pack-2025-Q3.pdf")
    total = len(pack.pages)
    for number, page in enumerate(pack.pages, start=1):
        text = page.extract_text()
        assert re.findall(r"Page \d+ of \d+", text) == [f"Page {number} of {total}"], (number, text[-200:])
    contents = pack.pages[1].extract_text()
    assert "Contents" in contents
    links = {}
    for annotation in pack.pages[1]["/Annots"]:
        annotation = annotation.get_object()
        destination = annotation["/Dest"] if "/Dest" in annotation else annotation["/A"]["/D"]
        if isinstance(destination, str):  # a named destination
            links[pack.get_destination_page_number(pack.named_destinations[destination])] = True
        else:
            links[pack.get_page_number(destination[0].get_object())] = True
    first = total - sum(len(PdfReader(folder / name).pages) for name in names.values()) + 1
    order = ["Company"] + [name for name in re.findall(r"^(.+?) \d+ pages", contents, re.MULTILINE) if name != "Company"]
    for title in order:
        segment = None if title == "Company" else title
        entry = re.search(rf"^{re.escape(title)} (\d+) pages\W*(\d+)$", contents, re.MULTILINE)
        assert entry, (title, contents)
        pages = len(PdfReader(folder / names[segment]).pages)
        assert (int(entry.group(1)), int(entry.group(2))) == (pages, first), title
        assert first - 1 in links, (title, sorted(links))
        own = PdfReader(folder / names[segment]).pages[0].extract_text()
        assert own.splitlines()[0] in pack.pages[first - 1].extract_text()
        first += pages
    assert first == total + 1


def _templates_with(tmp_path: Path, line: str) -> Path:
    """A copy of the PDF templates whose scorecard template also holds `line`."""
    import shutil

    folder = tmp_path / "pdf-templates"
    shutil.copytree(typesetting.templates_folder(), folder)
    main = folder / "scorecard.typ"
    main.write_text(main.read_text() + line + "\n")
    return folder


@pytest.mark.parametrize(
    "line",
    [
        '#image("http://example.com/logo.png")',
        '#image("file:///etc/passwd")',
        '#read("/etc/passwd")',
        '#read("../../../../../../etc/passwd")',
        '#read("../scorecard.py")',
    ],
)
def test_typesetting_reads_only_the_templates_folder_and_fetches_nothing(tmp_path, line):
    """Typst resolves every path inside the templates folder: a URL is a file name that is not there,
    and a path out of the folder is refused, so nothing outside it is read, let alone fetched."""
    document = compute(small_data(tmp_path / "data"))
    model = pages.scorecard(document, document["scorecards"][0])
    folder = _templates_with(tmp_path, line)
    with pytest.raises(ScorecardError, match="could not be typeset: (file not found|path .* would escape the project root)"):
        typesetting.compile_document("scorecard.typ", model, root=folder)
    assert typesetting.compile_document("scorecard.typ", model)[:5] == b"%PDF-"


def test_a_template_that_imports_a_package_is_refused_before_anything_is_fetched(tmp_path):
    """A Typst package (`@preview/…`) would be downloaded: the templates may import none."""
    folder = _templates_with(tmp_path, '#import "@preview/cetz:0.3.4"')
    with pytest.raises(ScorecardError, match=r"imports the Typst package @preview/cetz:0.3.4"):
        typesetting.compile_document("scorecard.typ", {}, root=folder)
    assert not typesetting.package_imports(typesetting.templates_folder())


def test_the_build_process_loads_scipy_only_for_the_fits():
    """SciPy (~0.4 CPU-s to import) is loaded by the fits' thread, beside the SQL, not up front."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from scorecard import build, cli, engine, render\n"
        "from scorecard.writers import default_writers\n"
        "default_writers()\n"
        "print(sorted(name for name in ('scipy',) if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout.strip() == "[]"


def test_the_html_templates_are_compiled_once_per_process(tmp_path, monkeypatch):
    """Each HTML summary reuses the compiled templates (compiling them again cost ~0.08 s a scorecard)."""
    import jinja2

    compiled = []
    compile_template = jinja2.Environment.compile
    monkeypatch.setattr(jinja2.Environment, "compile", lambda env, *args, **kw: compiled.append(1) or compile_template(env, *args, **kw))
    document = compute(small_data(tmp_path / "data"))
    assert len(document["scorecards"]) >= 2
    for index, card in enumerate(document["scorecards"]):
        compiled.clear()
        html = render.summary_html(document, card, charts.for_scorecard(document, card), render.environment())
        assert "customers gained versus lost" in html
        if index:
            assert compiled == [], "the templates were compiled again for another scorecard"


def test_a_template_error_stops_the_build_and_nothing_is_written(tmp_path, monkeypatch):
    folder = _templates_with(tmp_path, '#image("http://example.com/pixel.gif")')
    monkeypatch.setattr(typesetting, "templates_folder", lambda: folder)
    data = small_data(tmp_path / "data")
    with pytest.raises(ScorecardError, match="the report template scorecard.typ could not be typeset: file not found"):
        run_build(data, tmp_path / "out")
    assert not (tmp_path / "out" / "2025-Q3").exists()
    assert [p.name for p in (tmp_path / "out").iterdir()] == [".scorecard.lock"]


def test_customer_text_is_escaped_never_markup(tmp_path):
    name = '<script>alert("x")</script><img src="http://example.com/t.gif">'
    note = '<b>bold</b> & <a href="file:///etc/passwd">link</a>'
    data = small_data(tmp_path / "data", name=name, note=note)
    report = run_build(data, tmp_path / "out")
    text = pdf_text(report.folder / "scorecard-2025-Q3-segment-retail.pdf")
    assert "<b>bold</b> & <a href=" in text.replace("\n", " ")
    assert "<script>alert(" in text.replace("\n", "")


def test_redact_leaves_no_customer_name_in_any_output(tmp_path):
    data = small_data(tmp_path / "data")
    names = ["Acme Ltd", "Bravo GmbH", "Charlie SA", "Delta BV", "Great service"]
    plain = run_build(data, tmp_path / "plain")
    assert any(n in pdf_text(plain.folder / "scorecard-2025-Q3-company.pdf") for n in names)
    report = build(resolve_source(data), "2025-Q3", Settings(redact=True), BuildOptions(out=tmp_path / "out", jobs=1))
    for path in report.folder.iterdir():
        text = pdf_text(path) if path.suffix == ".pdf" else path.read_text()
        for name in names:
            assert name not in text, (path.name, name)
    assert "Customer " in pdf_text(report.folder / "scorecard-2025-Q3-company.pdf")
    assert pseudonym("A1") == pseudonym("A1") != pseudonym("A2")
    printed = CliRunner().invoke(app, ["metrics", "-p", "2025-Q3", "--data", str(data), "-f", "json", "--redact"]).stdout
    assert all(name not in printed for name in names) and pseudonym("A1") in printed


def test_a_failed_build_leaves_the_previous_outputs_untouched(tmp_path, monkeypatch):
    data = small_data(tmp_path / "data")
    first = run_build(data, tmp_path / "out")
    before = {p.name: p.read_bytes() for p in first.folder.iterdir()}

    def explode(template, model, target):
        if model.get("scope_title") != "Company":
            raise RuntimeError("disk full")
        target.write_bytes(b"%PDF-half")

    monkeypatch.setattr(pdf_writer, "_typeset", explode)
    with pytest.raises(RuntimeError):
        run_build(data, tmp_path / "out")
    after = {p.name: p.read_bytes() for p in first.folder.iterdir()}
    assert after == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".scorecard.lock", "2025-Q3"]


def test_bad_data_writes_nothing(tmp_path):
    data = make_data(tmp_path / "data", [("A", "X")], [("A", "not a date", "5")])
    result = CliRunner().invoke(app, ["build", "-p", "2025-Q3", "--data", str(data), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "order_date" in result.output
    assert not (tmp_path / "out").exists()


def test_segment_file_names_are_safe_and_unique():
    assert slug("Public Sector") == "public-sector"
    assert slug("../../etc/passwd") == "etc-passwd"
    assert slug("Ünïcödé Ärger") == "unicode-arger"
    assert slug("日本") == "segment"
    names = scorecard_file_names("2025-Q3", [None, "SMB", "smb", "../SMB", "company", ""])
    assert len(set(names.values())) == 6
    assert all("/" not in n and n.startswith("scorecard-2025-Q3-") and n.endswith(".pdf") for n in names.values())


def test_only_chosen_segments_get_pdfs(tmp_path):
    data = small_data(tmp_path / "data")
    report = build(
        resolve_source(data), "2025-Q3", Settings(min_segment_customers=0), BuildOptions(out=tmp_path / "out", segments=["Retail"], jobs=1)
    )
    assert sorted(p.name for p in report.folder.glob("scorecard-*.pdf")) == [
        "scorecard-2025-Q3-company.pdf",
        "scorecard-2025-Q3-segment-retail.pdf",
    ]
    with pytest.raises(ScorecardError, match="no segment named 'Nope'"):
        build(
            resolve_source(data),
            "2025-Q3",
            Settings(min_segment_customers=0),
            BuildOptions(out=tmp_path / "out", segments=["Nope"], jobs=1),
        )


@pytest.mark.slow
def test_real_data_builds_in_parallel_with_its_exclusions_in_the_notes(tmp_path):
    """36 scorecards (every country kept), typeset two at a time; by default the small countries are
    grouped into "Other segments"."""
    from conftest import REALDATA

    result = CliRunner().invoke(app, ["build", "-p", "2011-Q3", "--data", str(REALDATA), "--max-excluded", "0.10",
                                      "--out", str(tmp_path), "--jobs", "2", "--currency", "GBP", "--min-segment-customers", "0"])  # fmt: skip
    assert result.exit_code == 0, result.output
    folder = tmp_path / "2011-Q3"
    assert len(list(folder.glob("scorecard-*.pdf"))) == 36
    text = pdf_text(folder / "scorecard-2011-Q3-company.pdf")
    assert "order with no customer" in text and "1,134" in text and "£126,889.57" in text
    page_1 = " ".join(PdfReader(folder / "scorecard-2011-Q3-company.pdf").pages[0].extract_text().split())
    assert "Short history: the data begins on 2010-12-01" in page_1 and "--window-days 212 or less" in page_1
    cover = " ".join(PdfReader(folder / "board-pack-2011-Q3.pdf").pages[0].extract_text().split())
    assert "Short history: the data begins on 2010-12-01" in cover
    grouped = CliRunner().invoke(app, ["build", "-p", "2011-Q3", "--data", str(REALDATA), "--max-excluded", "0.10",
                                       "--out", str(tmp_path / "grouped"), "--jobs", "2"])  # fmt: skip
    assert grouped.exit_code == 0, grouped.output
    files = sorted(p.name for p in (tmp_path / "grouped" / "2011-Q3").glob("scorecard-*.pdf"))
    assert files == [f"scorecard-2011-Q3-{name}.pdf" for name in ("company", "segment-france", "segment-germany",
                                                                   "segment-other-segments", "segment-united-kingdom")]  # fmt: skip
    document = json.loads((folder / "metrics.json").read_text())
    assert document["data_quality"]["excluded"][0]["rows"] == 1134
    assert document["data_from"] == "2010-12-01"


def test_small_print_reads_right(tmp_path):
    """No "0 referrals … by 0 customers" without a referrals table, no "Also 0 customers came and went",
    no "1 → 1 active customers"; no currency sign unless the currency is known; unnamed customers by id."""
    customers = [("A1", "Retail", None, ""), ("A2", "Retail", None, "Bravo GmbH")]
    orders = [("A1", "2024-09-01", "1200.50"), ("A1", "2025-08-01", "300.25"), ("A2", "2024-11-01", "99.99")]
    data = make_data(tmp_path / "data", customers, orders)
    report = run_build(data, tmp_path / "out")
    text = flowing(pdf_text(report.folder / "scorecard-2025-Q3-company.pdf"))
    assert "No referral data: the data has no referrals table." in text
    assert "0 referrals" not in text and "came and went" not in text
    assert "active: 2 at start → 2 at end" in text and "→ 2 active customers" not in text
    assert "customer A1" in text  # the top decliner, who has no name
    assert "CUSTOMERS LOST 0 0 lapsed" in text and "±0 lapsed" not in text
    assert "▼ 900 vs 2025-Q2 (±0)" in text  # value net fell by 900: the change has no sign of its own
    assert "€" not in text and "no currency given" in text
    priced = run_build(data, tmp_path / "priced", currency="EUR")
    assert "€1,300.49" in pdf_text(priced.folder / "scorecard-2025-Q3-company.pdf")
