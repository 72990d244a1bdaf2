"""The command line. Each command gathers its options, makes one library call and prints the result;
the tool's errors become `Error: …` and an exit code in one place (`_handle_errors`)."""

from __future__ import annotations

import functools
import json
import os
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from . import __version__
from .errors import MESSAGE_LINE_LIMIT, ScorecardError, UsageError

EXIT_CODES = (
    "Exit codes: 0 success, 1 data or build error, 2 usage error, 3 stale data, 4 output folder locked, 5 delivery failed, "
    "143 stopped by SIGTERM."
)
DEFINITIONS = "What every figure means: docs/definitions.md in the scorecard project (each PDF has a definitions page too)."

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Customer relationship health scorecards: customers gained versus lost, by count and by value.\n\n"
    + DEFINITIONS
    + "\n\n"
    + EXIT_CODES,
)

_state = {"debug": bool(os.environ.get("SCORECARD_DEBUG")), "log_format": "text"}


class LogFormat(StrEnum):
    text = "text"
    json = "json"


def _emit(event: str, message: str, stream=None, **fields) -> None:
    """One line of output: plain text, or a JSON object per line for log collectors."""
    if _state["log_format"] == "json":
        record = {"level": "error" if event == "error" else "info", "event": event, "message": message} | fields
        typer.echo(json.dumps(record, default=str), err=stream == "err")
    else:
        typer.echo(message, err=stream == "err")


def _handle_errors(command):
    """Map the tool's errors to `Error: …` on stderr and their exit code; no traceback unless --debug
    (tracebacks can hold customer data)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ScorecardError as error:
            if _state["debug"]:
                raise
            for line in str(error).splitlines() or ["unknown error"]:
                line = line if len(line) <= MESSAGE_LINE_LIMIT else line[:MESSAGE_LINE_LIMIT] + "… (message cut)"
                _emit("error", f"Error: {line}", stream="err", exit_code=error.exit_code)
            raise typer.Exit(error.exit_code) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as error:  # a bug: say so in one line, without data
            if _state["debug"]:
                raise
            _emit(
                "error",
                f"Error: internal error ({type(error).__name__}); rerun as scorecard --debug … (or with SCORECARD_DEBUG=1) for the details",
                stream="err",
                exit_code=1,
            )
            raise typer.Exit(1) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        typer.echo(f"scorecard {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    version: Annotated[bool | None, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = None,
) -> None:
    _state["debug"] = _state["debug"] or debug
    _state["log_format"] = "text"


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class SampleFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


# Options shared by several commands. None means "not given": the config file, environment or default applies.
Period = Annotated[
    str, typer.Option("--period", "-p", help="Q3, 2025-Q3, 2025Q3, 2025-07, 2025-H2, 2025, last-quarter, last-month or last-year.")
]
Data = Annotated[
    str | None,
    typer.Option(
        "--data",
        "-d",
        help="Folder of customers/orders/referrals/costs CSV or Parquet files, a DuckDB file, or a PostgreSQL URL (postgresql://user@host:5432/dbname[?schema=crm]; the password from PGPASSWORD or ~/.pgpass). Default: [data] source in the config, $SCORECARD_DATA, else the bundled sample.",
    ),
]
Config = Annotated[
    Path | None, typer.Option("--config", help="Config file (default: $SCORECARD_CONFIG, else ./scorecard.toml if present).")
]
WindowDays = Annotated[int | None, typer.Option(help="Value window W in days, 1–3660 (default 365; at least the period's length in days).")]
ChangeThreshold = Annotated[str | None, typer.Option(help="Change threshold t for grew/declined (default 0.10).")]
TierQuantiles = Annotated[str | None, typer.Option(help="Core and top tier quantiles (default 0.5,0.8).")]
TierThresholds = Annotated[str | None, typer.Option(help="Fixed core,top tier thresholds in money (replaces the quantiles).")]
SegmentBy = Annotated[str | None, typer.Option(help="Customers column that defines segments (default: segment).")]
FiscalYearStart = Annotated[int | None, typer.Option(help="First month of the fiscal year, 1–12 (default 1).")]
TimeZone = Annotated[str | None, typer.Option(help="Time zone that order timestamps are dated in (default UTC).")]
MaxExcluded = Annotated[str | None, typer.Option(help="Stop when more than this share of a table's rows would be excluded (default 0.05).")]
GrossMargin = Annotated[str | None, typer.Option(help="Gross margin for the profitability page, e.g. 0.35 (needs a costs table).")]
MinSegmentCustomers = Annotated[
    int | None,
    typer.Option(
        help='Segments with fewer customers active at the start or end of the period are reported together as "Other segments" '
        "(default 30; 0 keeps every segment)."
    ),
]
Resend = Annotated[
    bool, typer.Option("--resend", help="Send again to readers who were already sent this period (also after a rebuild with new figures).")
]
RiskThreshold = Annotated[
    str | None, typer.Option(help="At risk: customers whose chance of buying nothing next period is at least this (default 0.5).")
]
AsOf = Annotated[str | None, typer.Option(help="Treat this date (YYYY-MM-DD) as today, for relative periods and future-dated orders.")]
Engine = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="Where the SQL models run: duckdb (default, this machine) or spark (Apache Spark; needs pip install 'scorecard[spark]' and Java 17).",
    ),
]
SparkMaster = Annotated[
    str | None,
    typer.Option(
        "--spark-master",
        help="With --engine spark: local[*] (default), local[N], spark://host:7077, yarn, or sc://host:15002 (Spark Connect).",
    ),
]


def _resolve(config: Path | None, **cli):
    from .config import resolve

    return resolve(cli, config=config)


def _date(text: str | None, option: str = "--as-of") -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} must be a date like 2025-10-01, got {text!r}") from None


@app.command()
@_handle_errors
def metrics(
    period: Period,
    data: Data = None,
    format: Annotated[
        OutputFormat,
        typer.Option(
            "--format", "-f", help="table (readable summary), json (the metrics.json document) or csv (one row per scorecard × metric)."
        ),
    ] = OutputFormat.table,
    config: Config = None,
    window_days: WindowDays = None,
    change_threshold: ChangeThreshold = None,
    tier_quantiles: TierQuantiles = None,
    tier_thresholds: TierThresholds = None,
    segment_by: SegmentBy = None,
    fiscal_year_start: FiscalYearStart = None,
    time_zone: TimeZone = None,
    max_excluded: MaxExcluded = None,
    gross_margin: GrossMargin = None,
    risk_threshold: RiskThreshold = None,
    min_segment_customers: MinSegmentCustomers = None,
    redact: Annotated[
        bool | None, typer.Option("--redact", help="Replace customer names by stable pseudonyms (and withhold referral notes).")
    ] = None,
    as_of: AsOf = None,
    engine_name: Engine = None,
    spark_master: SparkMaster = None,
) -> None:
    """Compute the scorecard figures for a period and print them; nothing is written to disk."""
    from . import engine, formatting
    from . import metrics as metrics_document
    from .source import resolve_source

    resolved = _resolve(config, data=data, window_days=window_days, change_threshold=change_threshold, tier_quantiles=tier_quantiles,
                        tier_thresholds=tier_thresholds, segment_by=segment_by, fiscal_year_start=fiscal_year_start,
                        time_zone=time_zone, max_excluded=max_excluded, gross_margin=gross_margin, redact=redact,
                        risk_threshold=risk_threshold, min_segment_customers=min_segment_customers, engine=engine_name,
                        spark_master=spark_master)  # fmt: skip
    source = resolve_source(resolved.get("data"), resolved.get("tables"))
    progress = _TerminalProgress()  # on a terminal's stderr only: stdout carries the figures
    try:
        result = engine.compute(source, period, resolved.settings(), as_of=_date(as_of), progress=progress, engine=resolved.engine())
    finally:
        progress.close()
    if format is OutputFormat.json:
        sys.stdout.write(metrics_document.to_json(result.document))
    elif format is OutputFormat.csv:
        sys.stdout.write(metrics_document.to_csv(result.document))
    else:
        if source.is_sample:
            typer.echo("Using the bundled SAMPLE DATA (pass --data or set SCORECARD_DATA for your own).", err=True)
        typer.echo(formatting.summary_table(result.document))


class _TerminalProgress:
    """A one-line progress bar on a terminal's stderr; silent anywhere else."""

    def __init__(self):
        self.active = sys.stderr.isatty()
        self.shown = False

    def __call__(self, stage: str, done: int, total: int, item: str = "") -> None:
        if not self.active or not total:
            return
        width = 24
        filled = int(width * done / total)
        line = f"\r{stage:<9} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {item[:40]:<40}"
        sys.stderr.write(line)
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r" + " " * 90 + "\r")
            sys.stderr.flush()


@app.command()
@_handle_errors
def build(
    period: Period,
    data: Data = None,
    out: Annotated[
        str | None, typer.Option("--out", "-o", help="Output folder (default ./scorecards); files go to OUT/<period label>/.")
    ] = None,
    segment: Annotated[
        list[str] | None,
        typer.Option(
            "--segment",
            "-s",
            help="Render only this segment's PDF (repeatable). The company scorecard and metrics.json always cover everything.",
        ),
    ] = None,
    redact: Annotated[
        bool | None,
        typer.Option("--redact", help="Replace customer names by stable pseudonyms (and withhold referral notes) in every output."),
    ] = None,
    company: Annotated[str | None, typer.Option(help="Company name printed on every page.")] = None,
    currency: Annotated[
        str | None,
        typer.Option(
            help="ISO currency code of the amounts, e.g. EUR, USD, GBP (default: the orders' currency column; without either, "
            "amounts carry no currency sign)."
        ),
    ] = None,
    config: Config = None,
    jobs: Annotated[int | None, typer.Option(help="PDFs typeset at once, in threads (default: one per core, at most 4).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Render even when nothing changed since the last build.")] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="If another build is writing to the output folder, wait for it instead of exiting with code 4.")
    ] = False,
    require_fresh: Annotated[
        int | None, typer.Option(help="Fail with exit code 3 when the newest order is older than this many days.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    log_format: Annotated[LogFormat, typer.Option(help="text, or json: one JSON object per line for log collectors.")] = LogFormat.text,
    send: Annotated[
        bool,
        typer.Option(
            "--send", help="Then email the scorecards to the readers in [mail] (as `scorecard send`; exit code 5 if delivery fails)."
        ),
    ] = False,
    resend: Resend = False,
    window_days: WindowDays = None,
    change_threshold: ChangeThreshold = None,
    tier_quantiles: TierQuantiles = None,
    tier_thresholds: TierThresholds = None,
    segment_by: SegmentBy = None,
    fiscal_year_start: FiscalYearStart = None,
    time_zone: TimeZone = None,
    max_excluded: MaxExcluded = None,
    gross_margin: GrossMargin = None,
    risk_threshold: RiskThreshold = None,
    min_segment_customers: MinSegmentCustomers = None,
    as_of: AsOf = None,
    engine_name: Engine = None,
    spark_master: SparkMaster = None,
) -> None:
    """Write the PDF scorecards (company and each segment), a board pack, an HTML summary beside each PDF,
    metrics.json, metrics.csv and manifest.json into OUT/<period label>/. Outputs appear all at once or
    not at all; a build whose figures did not change since the last one is skipped (use --force).
    With --send, then email them as `scorecard send` does."""
    from .build import BuildOptions
    from .build import build as build_scorecards
    from .source import resolve_source

    _state["log_format"] = log_format.value
    resolved = _resolve(config, data=data, out=out, redact=redact, company_name=company, currency=currency, require_fresh=require_fresh,
                        window_days=window_days, change_threshold=change_threshold, tier_quantiles=tier_quantiles,
                        tier_thresholds=tier_thresholds, segment_by=segment_by, fiscal_year_start=fiscal_year_start,
                        time_zone=time_zone, max_excluded=max_excluded, gross_margin=gross_margin,
                        risk_threshold=risk_threshold, min_segment_customers=min_segment_customers, engine=engine_name,
                        spark_master=spark_master)  # fmt: skip
    source = resolve_source(resolved.get("data"), resolved.get("tables"))
    progress = _TerminalProgress() if not quiet and log_format is LogFormat.text else None
    options = BuildOptions(
        out=Path(resolved.get("out", "scorecards")), segments=segment, jobs=jobs, force=force, wait=wait,
        as_of=_date(as_of), require_fresh_days=resolved.get("require_fresh"), progress=progress, engine=resolved.engine(),
    )  # fmt: skip
    try:
        report = build_scorecards(source, period, resolved.settings(), options)
    finally:
        if progress:
            progress.close()
    if not quiet:
        _report_build(report, source.is_sample)
    if send:
        _send(resolved, report.document["period"]["label"], Path(resolved.get("out", "scorecards")), resend=resend, dry_run=None,
              wait=True, as_of=_date(as_of), quiet=quiet)  # fmt: skip


def _report_build(report, is_sample: bool) -> None:
    if is_sample:
        _emit("sample", "Built from the bundled SAMPLE DATA (every page says so).")
    if report.skipped:
        _emit(
            "skipped",
            f"Nothing changed since the last build; {report.folder} is up to date (use --force to render again).",
            folder=report.folder,
        )
        return
    _emit("written", f"Wrote {len(report.files)} files to {report.folder}", folder=report.folder, files=report.files)
    _emit("timing", f"Metrics: {report.metrics_seconds:.1f} s", stage="metrics", seconds=round(report.metrics_seconds, 3))
    for name, seconds in report.render_seconds.items():
        _emit("timing", f"Rendered {name}: {seconds:.1f} s", stage="render", file=name, seconds=round(seconds, 3))
    _emit("done", f"Total: {report.total_seconds:.1f} s", seconds=round(report.total_seconds, 3))


def _send(resolved, period: str, out: Path, *, resend: bool, dry_run: Path | None, wait: bool, as_of: date | None, quiet: bool):
    from .mail import SendOptions
    from .mail import send as send_scorecards

    def on_event(event: str, message: str, **fields) -> None:
        if not quiet:
            _emit(event, message, **fields)

    options = SendOptions(out=out, resend=resend, dry_run=dry_run, wait=wait, as_of=as_of,
                          fiscal_year_start=resolved.settings().fiscal_year_start, on_event=on_event)  # fmt: skip
    report = send_scorecards(resolved.mail(), period, options)
    if not quiet:
        done = "written to " + str(dry_run) if dry_run is not None else "sent"
        _emit(
            "send-done",
            f"{report.label}: {len(report.sent)} message{'s' if len(report.sent) != 1 else ''} {done}, "
            f"{len(report.already_sent)} already sent, {len(report.changed)} held back (figures changed; --resend)",
            period=report.label, sent=len(report.sent), already_sent=len(report.already_sent), changed=len(report.changed),
        )  # fmt: skip


@app.command("send")
@_handle_errors
def send_command(
    period: Period,
    out: Annotated[str | None, typer.Option("--out", "-o", help="Output folder the period was built into (default ./scorecards).")] = None,
    config: Config = None,
    resend: Resend = False,
    dry_run: Annotated[
        Path | None,
        typer.Option(
            "--dry-run", metavar="FOLDER", help="Write each message as an .eml file into FOLDER instead of sending; records nothing."
        ),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="If a build is writing to the output folder, wait for it instead of exiting with code 4.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    log_format: Annotated[LogFormat, typer.Option(help="text, or json: one JSON object per line for log collectors.")] = LogFormat.text,
    as_of: AsOf = None,
) -> None:
    """Email each reader in [[mail.recipients]] the already-built scorecards of their scopes: one message
    per reader, the HTML summary of their first scope as the body, their PDFs attached. What was sent is
    recorded in OUT/deliveries/<period>.jsonl; a rerun sends only what is missing (--resend: everything
    again). A bare Q3 means the latest Q3 built in OUT. Exit code 5 when delivery fails."""
    _state["log_format"] = log_format.value
    resolved = _resolve(config, out=out)
    _send(resolved, period, Path(resolved.get("out", "scorecards")), resend=resend, dry_run=dry_run, wait=wait,
          as_of=_date(as_of), quiet=quiet)  # fmt: skip


@app.command()
@_handle_errors
def validate(
    data: Data = None,
    config: Config = None,
    segment_by: SegmentBy = None,
    time_zone: TimeZone = None,
    max_excluded: MaxExcluded = None,
    as_of: AsOf = None,
    engine_name: Engine = None,
    spark_master: SparkMaster = None,
) -> None:
    """Check the data source against the input contract (the tables and columns listed under "Your data" in the README) and report, per table, the rows read and
    the rows excluded by reason. Exit 0 when the data is usable, 1 when it is not."""
    from .engine import check
    from .formatting import quality_report
    from .source import resolve_source

    resolved = _resolve(config, data=data, segment_by=segment_by, time_zone=time_zone, max_excluded=max_excluded, engine=engine_name,
                        spark_master=spark_master)  # fmt: skip
    settings = resolved.settings()
    result = check(resolve_source(resolved.get("data"), resolved.get("tables")), settings, as_of=_date(as_of), engine=resolved.engine())
    typer.echo(quality_report(result, result.currency))


@app.command("config")
@_handle_errors
def show_config(config: Config = None) -> None:
    """Print every effective setting and where it came from: default, config file, environment variable
    or command line (later ones win, in that order)."""
    from .config import describe

    resolved = _resolve(config)
    resolved.settings()  # validates the combination, so errors show here rather than at 2 a.m.
    resolved.engine()
    resolved.mail()
    typer.echo(f"Config file: {resolved.config_file or 'none (defaults and environment only)'}")
    rows = describe(resolved)
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for name, value, origin in rows:
        typer.echo(f"  {name.ljust(widths[0])}  {value.ljust(widths[1])}  {origin}")


@app.command()
@_handle_errors
def init(
    path: Annotated[Path, typer.Option("--path", help="Where to write the file.")] = Path("scorecard.toml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter scorecard.toml with every setting and its default."""
    from .config import STARTER

    if path.exists() and not force:
        raise UsageError(f"{path} already exists; pass --force to overwrite it")
    path.write_text(STARTER, encoding="utf-8")
    typer.echo(f"Wrote {path}; edit it, then run `scorecard config` to check the effective settings.")


@app.command()
@_handle_errors
def sample(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write customers, orders, referrals and costs into.")],
    customers: Annotated[int, typer.Option(help="Number of customers (about 13 orders each).")] = 4000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives byte-identical files.")] = 7,
    segments: Annotated[int, typer.Option(help="Number of segments, 1–12.")] = 5,
    through: Annotated[
        str | None, typer.Option(help="Last day of data, YYYY-MM-DD (default 2025-12-31); four years before it are generated.")
    ] = None,
    format: Annotated[SampleFormat, typer.Option("--format", help="csv or parquet.")] = SampleFormat.csv,
    costs: Annotated[bool, typer.Option("--costs/--no-costs", help="Also write a cost-to-serve table.")] = True,
    force: Annotated[
        bool, typer.Option("--force", help="Write into a non-empty folder that holds no earlier sample (its table files are replaced).")
    ] = False,
) -> None:
    """Generate realistic sample data: four years, segments that grow and shrink, seasonality, refunds,
    cancellations, closures, win-backs, referrals with notes and cost-to-serve events. A non-empty --out
    folder is refused unless it holds an earlier sample (or --force is given): it may hold real data."""
    from .sample import DEFAULT_END, generate, years_before

    end = _date(through, "--through") if through else DEFAULT_END
    counts = generate(out, customers=customers, seed=seed, segments=segments, start=years_before(end, 4), end=end,
                      file_format=format.value, costs=costs, force=force)  # fmt: skip
    typer.echo(f"Wrote {out}: " + ", ".join(f"{rows:,} {table}" for table, rows in counts.items()))


def main() -> None:
    app()
