"""Shared helpers: tiny input tables written as CSV, and one call that runs the metric engine on them."""

from __future__ import annotations

import csv
import os
import sys
from datetime import date
from pathlib import Path

import pytest

from scorecard import engine
from scorecard.settings import Settings
from scorecard.source import resolve_source

REPO = Path(__file__).resolve().parent.parent
REALDATA = REPO / "tests" / "data" / "online-retail"  # copied from shared/realdata (CC BY 4.0)
TODAY = date(2026, 11, 23)
SCORECARD = [sys.executable, "-m", "scorecard"]  # the CLI, run as a user runs it: in a process of its own


def require_component(available: bool, reason: str) -> None:
    """Skip a test whose real component (a PostgreSQL server, an SMTP server, Chromium, Java…) is absent,
    saying why and how to install it, so the README's test command passes on a bare machine. CI sets
    SCORECARD_TESTS_REQUIRE_ALL=1 (in .ci/run, after installing every component): there a missing
    component fails the test instead of skipping it."""
    if available:
        return
    if os.environ.get("SCORECARD_TESTS_REQUIRE_ALL") == "1":
        pytest.fail(f"required component missing in CI: {reason}")
    pytest.skip(reason)


def write_csv(path: Path, rows: list[dict] | list[list], header: list[str] | None = None) -> Path:
    """Write rows (dicts, or lists under `header`) as a CSV file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if rows and isinstance(rows[0], dict):
        header = header or list(dict.fromkeys(key for row in rows for key in row))
        rows = [[row.get(column) for column in header] for row in rows]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(["" if value is None else value for value in row] for row in rows)
    return path


def make_data(folder: Path, customers, orders, referrals=None, costs=None) -> Path:
    """customers: (id, segment[, closed_at[, name]]) tuples or dicts; orders: (customer_id, date, amount[, status])
    tuples or dicts. Order ids are made up when not given."""
    folder.mkdir(parents=True, exist_ok=True)
    customer_rows = []
    for row in customers:
        if isinstance(row, dict):
            customer_rows.append(row)
        else:
            fields = dict(zip(("customer_id", "segment", "closed_at", "name"), row, strict=False))
            fields.setdefault("closed_at", None)
            fields.setdefault("name", f"Name of {fields['customer_id']}")
            customer_rows.append(fields)
    write_csv(
        folder / "customers.csv",
        customer_rows,
        ["customer_id", "name", "segment", "closed_at"] if not isinstance(customers[0], dict) else None,
    )
    order_rows = []
    for number, row in enumerate(orders, start=1):
        if isinstance(row, dict):
            order_rows.append({"order_id": f"o{number}", **row})
        else:
            fields = dict(zip(("customer_id", "order_date", "amount", "status"), row, strict=False))
            order_rows.append({"order_id": f"o{number}", **fields, "status": fields.get("status", "completed")})
    write_csv(folder / "orders.csv", order_rows)
    if referrals is not None:
        write_csv(
            folder / "referrals.csv",
            referrals,
            ["referral_id", "referrer_id", "referred_customer_id", "referred_at", "note"]
            if referrals and not isinstance(referrals[0], dict)
            else None,
        )
    if costs is not None:
        write_csv(
            folder / "costs.csv",
            costs,
            ["customer_id", "cost_date", "amount", "kind"] if costs and not isinstance(costs[0], dict) else None,
        )
    return folder


def compute(data: Path | None, period: str = "2025-Q3", as_of: date = TODAY, **settings) -> dict:
    """The metrics document. The tiny tables of most tests have tiny segments: unless a test says
    otherwise, every segment keeps its own scorecard (no grouping into "Other segments")."""
    settings.setdefault("min_segment_customers", 0)
    result = engine.compute(resolve_source(data), period, Settings(**settings), as_of=as_of, today=as_of)
    return result.document


def record_queries(monkeypatch) -> list[str]:
    """Every query sent to the DuckDB engine from here on (validation checks, mart reads, …), in order."""
    from scorecard.engines.duckdb import DuckDBEngine

    queries: list[str] = []
    original = DuckDBEngine.execute

    def recording(self, sql, parameters=()):
        queries.append(sql)
        return original(self, sql, parameters)

    monkeypatch.setattr(DuckDBEngine, "execute", recording)
    return queries


def card(document: dict, segment: str | None = None) -> dict:
    for scorecard in document["scorecards"]:
        if scorecard["segment"] == segment:
            return scorecard
    raise KeyError(segment)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the session (see postgres_server.py), stopped and removed at the end."""
    from postgres_server import Server, driver_installed, find_bindir

    bindir = find_bindir()
    require_component(bindir is not None, "PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian's postgresql package")
    require_component(driver_installed(), "the PostgreSQL driver is not installed; pip install '.[postgres]'")
    server = Server(bindir).start()
    try:
        yield server
    finally:
        server.stop()


# --- a real headless Chromium (Debian's `chromium`, driven by playwright) -------------------------------

CHROMIUM = Path(os.environ.get("SCORECARD_CHROMIUM", "/usr/lib/chromium/chromium"))


def chromium_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return CHROMIUM.is_file()


class BrowserVisit:
    """What a page did in the browser: every request it made, console messages, script errors."""

    def __init__(self, page, url: str):
        self.page = page
        self.url = url
        self.requests: list[str] = []
        self.console: list[tuple[str, str]] = []
        self.page_errors: list[str] = []

    @property
    def other_requests(self) -> list[str]:
        """Requests for anything but the file itself (none for a self-contained page)."""
        return [url for url in self.requests if url != self.url]

    @property
    def console_errors(self) -> list[str]:
        return [text for kind, text in self.console if kind in ("error", "warning")] + self.page_errors


@pytest.fixture
def chromium():
    """open(path, screenshot) → BrowserVisit, in a fresh headless Chromium that may not reach any network:
    every request other than the file is recorded and aborted."""
    require_component(
        chromium_available(),
        f"needs Chromium at {CHROMIUM} and playwright for Python (apt-get install chromium; pip install '.[test]')",
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        visits = []

        def open_page(path: Path, screenshot: Path, width: int = 1000) -> BrowserVisit:
            context = browser.new_context(viewport={"width": width, "height": 900})
            page = context.new_page()
            visit = BrowserVisit(page, path.resolve().as_uri())
            page.on("request", lambda request: visit.requests.append(request.url))
            page.on("console", lambda message: visit.console.append((message.type, message.text)))
            page.on("pageerror", lambda error: visit.page_errors.append(str(error)))
            page.route("**/*", lambda route: route.continue_() if route.request.url == visit.url else route.abort())
            page.goto(visit.url, wait_until="load")
            page.screenshot(path=str(screenshot), full_page=True)
            visits.append(context)
            return visit

        try:
            yield open_page
        finally:
            for context in visits:
                context.close()
            browser.close()
