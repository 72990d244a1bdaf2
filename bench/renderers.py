"""What a scorecard PDF costs to print, with WeasyPrint (what the tool uses) and with headless Chromium:
the same scorecard HTML, the same chart SVGs, printed by each, alternating, in rounds.

    python bench/renderers.py                  # the bundled sample's six scorecards, 3 rounds
    python bench/renderers.py --rounds 5 --data-source bench/data/100k-parquet

The build's render time is almost all WeasyPrint; this measures how much a lighter renderer would take
off, and what it would not print as the tool's PDFs do today. Chromium is Debian's (apt-get install
chromium), driven by playwright as the tests do; every request it makes is answered from the packaged
templates folder or refused, so nothing reaches a network. Without Chromium only WeasyPrint is measured.

Per scorecard: CPU seconds (WeasyPrint: this process, split into layout and drawing the PDF; Chromium:
its processes and playwright's driver, reaped when the browser closes, less a start-up-only run of the
same round), wall seconds, PDF size and pages, the PDF's bookmarks, and whether every page carries the
running header and footer (the data-through date and the company, as the tool's PDFs do). The charts
(vl-convert) are drawn once beforehand and their CPU is given apart: either renderer needs them.
Results go to bench/results/renderers.json and renderers.md, with the commit measured.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import HERE, commit, machine

CHROMIUM = Path("/usr/lib/chromium/chromium")  # the binary, not Debian's /usr/bin wrapper script
ORIGIN = "http://scorecard.invalid/"  # never resolved: the route below answers every request


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def scorecard_pages(data: str | None, period: str) -> tuple[list[dict], float]:
    """Each scorecard's HTML (charts inlined, as the PDF writer makes it), its running texts, and the
    charts' CPU seconds per scorecard."""
    from scorecard import chart_markup, charts, engine, render
    from scorecard.settings import Settings
    from scorecard.source import resolve_source

    document = engine.compute(resolve_source(data), period, Settings(), today=date.today()).document
    env = render.environment()
    charts.warm_up()  # as a render worker does before its first scorecard
    pages, chart_cpu = [], 0.0
    for card in document["scorecards"]:
        started = _cpu(resource.RUSAGE_SELF)
        svgs = charts.for_scorecard(document, card)
        chart_cpu += _cpu(resource.RUSAGE_SELF) - started
        html = render.scorecard_html(document, card, {name: chart_markup.data_uri(svg) for name, svg in svgs.items()}, env)
        running = ["Data through " + document["data_through"], document["settings"]["company_name"]]
        pages.append({"html": html, "running": running})
    return pages, chart_cpu / len(pages)


def _outline(pdf: bytes, running: list[str]) -> dict:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))

    def count(items) -> int:
        return sum(count(item) if isinstance(item, list) else 1 for item in items)

    pages = [" ".join(page.extract_text().split()) for page in reader.pages]
    return {"bytes": len(pdf), "pages": len(pages), "bookmarks": count(reader.outline),
            "running_text": all(text in page for page in pages for text in running)}  # fmt: skip


def weasyprint_round(pages: list[dict]) -> dict:
    from weasyprint import HTML

    from scorecard import printing
    from scorecard.resources import resource_path

    root = resource_path("templates")
    layout = drawing = 0.0
    started, pdfs = time.perf_counter(), []
    for page in pages:
        before = _cpu(resource.RUSAGE_SELF)
        document = HTML(string=page["html"], base_url=root.as_uri() + "/", url_fetcher=printing.PackagedAssetsOnly(root)).render()
        laid_out = _cpu(resource.RUSAGE_SELF)
        pdfs.append(document.write_pdf())
        layout, drawing = layout + laid_out - before, drawing + _cpu(resource.RUSAGE_SELF) - laid_out
    wall, n = time.perf_counter() - started, len(pages)
    return {"cpu_s": (layout + drawing) / n, "layout_cpu_s": layout / n, "draw_cpu_s": drawing / n, "wall_s": wall / n,
            "outlines": [_outline(pdf, page["running"]) for pdf, page in zip(pdfs, pages, strict=True)]}  # fmt: skip


def _serve_templates(page, html: str) -> None:
    """Answer every request from the packaged templates folder (the scorecard itself at ORIGIN); refuse
    anything else, so the print is as offline as WeasyPrint's."""
    from scorecard.resources import resource_path

    root = resource_path("templates").resolve()
    types = {".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png"}

    def answer(route) -> None:
        url = route.request.url
        if url == ORIGIN:
            return route.fulfill(body=html, content_type="text/html")
        path = (root / url.removeprefix(ORIGIN)).resolve() if url.startswith(ORIGIN) else None
        if path and path.is_relative_to(root) and path.is_file():
            return route.fulfill(body=path.read_bytes(), content_type=types.get(path.suffix, "application/octet-stream"))
        return route.abort()

    page.route("**/*", answer)


def chromium_version() -> str | None:
    if not CHROMIUM.is_file():
        return None
    printed = subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True).stdout  # "Chromium 150.0… built on…"
    return printed.split()[1]


def chromium_round(pages: list[dict]) -> dict:
    from playwright.sync_api import sync_playwright

    def session(documents: list[dict]) -> tuple[float, float, list[bytes]]:
        """Start Chromium, print `documents`, close it: CPU of everything it ran, wall of the prints, the PDFs."""
        before, pdfs = _cpu(resource.RUSAGE_CHILDREN), []
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-background-networking"])
            tab = browser.new_page()
            started = time.perf_counter()
            for document in documents:
                tab.unroute("**/*")
                _serve_templates(tab, document["html"])
                tab.goto(ORIGIN, wait_until="load")
                pdfs.append(tab.pdf(prefer_css_page_size=True, print_background=True, outline=True, tagged=True))
            wall = time.perf_counter() - started
            browser.close()
        return _cpu(resource.RUSAGE_CHILDREN) - before, wall, pdfs

    startup_cpu, _, _ = session([])
    total_cpu, wall, pdfs = session(pages)
    n = len(pages)
    return {"cpu_s": (total_cpu - startup_cpu) / n, "startup_cpu_s": startup_cpu, "wall_s": wall / n,
            "outlines": [_outline(pdf, page["running"]) for pdf, page in zip(pdfs, pages, strict=True)]}  # fmt: skip


def summarise(rounds: list[dict]) -> dict:
    """Medians over the rounds; the PDFs' facts from the last round (they do not change between rounds)."""
    keys = [key for key in rounds[0] if key != "outlines"]
    outlines = rounds[-1]["outlines"]
    return {**{key: round(statistics.median(r[key] for r in rounds), 3) for key in keys},
            "per_round_cpu_s": [round(r["cpu_s"], 3) for r in rounds],
            "pdf_kb": round(statistics.median(o["bytes"] for o in outlines) / 1000),
            "pages": sorted({o["pages"] for o in outlines}), "bookmarks": sorted({o["bookmarks"] for o in outlines}),
            "running_text": all(o["running_text"] for o in outlines)}  # fmt: skip


def write(results: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "renderers.json").write_text(json.dumps(results, indent=2) + "\n")
    info = results["machine"]
    lines = [
        f"Renderer benchmark, run {results['run_at']} at commit {results['commit']} on {info['cpus']} cores, Python "
        f"{info['python']}, WeasyPrint {info['versions']['weasyprint']}{', Chromium ' + results['chromium'] if results.get('chromium') else ''}: "
        f"{results['scorecards']} scorecards of {results['data']}, {results['rounds']} rounds alternating, medians per scorecard. "
        f"The charts (vl-convert, needed by either) cost {results['charts_cpu_s']:.2f} CPU-s a scorecard on top.",
        "",
        "| renderer | CPU (s) | of which layout (s) | wall (s) | start-up CPU (s) | PDF (kB) | pages | bookmarks | header and footer on every page | CPU per round (s) |",
        "|---|---:|---:|---:|---:|---:|---|---|---|---|",
    ]
    for name, row in results["renderers"].items():
        lines.append(
            f"| {name} | {row['cpu_s']:.3f} | {row.get('layout_cpu_s', '–')} | {row['wall_s']:.3f} | {row.get('startup_cpu_s', '–')} | "
            f"{row['pdf_kb']} | {', '.join(map(str, row['pages']))} | {', '.join(map(str, row['bookmarks']))} | "
            f"{'yes' if row['running_text'] else 'no'} | {' '.join(map(str, row['per_round_cpu_s']))} |"
        )
    (out / "renderers.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'renderers.md'} and renderers.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-source", default=None, help="the data to build from (default: the bundled sample)")
    parser.add_argument("--period", default="Q3")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every scorecard per renderer, alternating")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="where results are written")
    args = parser.parse_args()

    pages, charts_cpu = scorecard_pages(args.data_source, args.period)
    renderers = {"WeasyPrint": weasyprint_round}
    if CHROMIUM.is_file():
        renderers["Chromium"] = chromium_round
    else:
        print(f"Chromium not measured: no {CHROMIUM} (apt-get install chromium)", flush=True)
    weasyprint_round(pages[:1])  # warm: imports and fonts, as a render worker has them before its first scorecard
    measured: dict[str, list[dict]] = {name: [] for name in renderers}
    for number in range(args.rounds):
        for name in renderers if number % 2 == 0 else reversed(renderers):
            measured[name].append(renderers[name](pages))
            print(f"round {number + 1} {name}: {measured[name][-1]['cpu_s']:.3f} CPU-s a scorecard", flush=True)
    results = {
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"), "commit": commit(), "machine": machine(),
        "data": args.data_source or "the bundled sample", "scorecards": len(pages), "rounds": args.rounds,
        "chromium": chromium_version(), "charts_cpu_s": round(charts_cpu, 3),
        "renderers": {name: summarise(rounds) for name, rounds in measured.items()},
    }  # fmt: skip
    write(results, args.out)


if __name__ == "__main__":
    main()
