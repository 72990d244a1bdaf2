"""The command line. Each command parses options, makes one library call and prints the result;
errors of the tool become `Error: …` and an exit code in one place (`_handle_errors`)."""

from __future__ import annotations

import functools
import os
import sys
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import __version__
from .errors import ScorecardError, UsageError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Customer relationship health scorecards: customers gained versus lost, by count and by value.\n\n"
    "Exit codes: 0 success, 1 data or build error, 2 usage error, 3 stale data, 4 output folder locked.",
)

_state = {"debug": bool(os.environ.get("SCORECARD_DEBUG"))}


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
                typer.echo(f"Error: {line}", err=True)
            raise typer.Exit(error.exit_code) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as error:  # a bug: say so in one line, without data
            if _state["debug"]:
                raise
            typer.echo(f"Error: internal error ({type(error).__name__}); rerun with --debug for details", err=True)
            raise typer.Exit(1) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        typer.echo(f"scorecard {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = None,
) -> None:
    _state["debug"] = _state["debug"] or debug


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


class SampleFormat(str, Enum):
    csv = "csv"
    parquet = "parquet"


# Options shared by the commands that compute metrics. None means "not given": the default (or, later,
# the config file) applies.
Period = Annotated[str, typer.Option("--period", "-p", help="Q3, 2025-Q3, 2025Q3, 2025-07, 2025-H2, 2025, last-quarter, last-month, last-year.")]
Data = Annotated[
    Optional[Path],
    typer.Option("--data", "-d", help="Folder of customers/orders/referrals/costs CSV or Parquet files, or a DuckDB file. Default: $SCORECARD_DATA, else the bundled sample."),
]
WindowDays = Annotated[Optional[int], typer.Option(help="Value window W in days (default 365; at least the period length).")]
ChangeThreshold = Annotated[Optional[str], typer.Option(help="Change threshold t for grew/declined (default 0.10).")]
TierQuantiles = Annotated[Optional[str], typer.Option(help="Core and top tier quantiles (default 0.5,0.8).")]
TierThresholds = Annotated[Optional[str], typer.Option(help="Fixed core,top tier thresholds in money (replaces quantiles).")]
SegmentBy = Annotated[Optional[str], typer.Option(help="Customers column that defines segments (default: segment).")]
FiscalYearStart = Annotated[Optional[int], typer.Option(help="First month of the fiscal year, 1–12 (default 1).")]
TimeZone = Annotated[Optional[str], typer.Option(help="Report time zone for order timestamps (default UTC).")]
MaxExcluded = Annotated[Optional[str], typer.Option(help="Stop when more than this share of a table's rows is excluded (default 0.05).")]
AsOf = Annotated[Optional[str], typer.Option(help="Treat this date (YYYY-MM-DD) as today: relative periods and future-dated orders.")]


def _settings(**options):
    from .settings import Settings, parse_fraction, parse_pair

    values = {}
    if options.get("window_days") is not None:
        values["window_days"] = options["window_days"]
    if options.get("change_threshold") is not None:
        values["change_threshold"] = parse_fraction(options["change_threshold"], "--change-threshold")
    if options.get("tier_quantiles") is not None:
        values["tier_quantiles"] = parse_pair(options["tier_quantiles"], "--tier-quantiles")
    if options.get("tier_thresholds") is not None:
        values["tier_thresholds"] = parse_pair(options["tier_thresholds"], "--tier-thresholds")
    if options.get("max_excluded") is not None:
        values["max_excluded"] = parse_fraction(options["max_excluded"], "--max-excluded")
    if options.get("company") is not None:
        values["company_name"] = options["company"]
    if options.get("currency") is not None:
        values["currency"] = options["currency"].upper()
    if options.get("redact"):
        values["redact"] = True
    for name in ("segment_by", "fiscal_year_start", "time_zone"):
        if options.get(name) is not None:
            values[name] = options[name]
    return Settings(**values)


def _as_of(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--as-of must be a date like 2025-10-01, got {text!r}") from None


@app.command()
@_handle_errors
def metrics(
    period: Period,
    data: Data = None,
    format: Annotated[OutputFormat, typer.Option("--format", "-f", help="table (readable summary), json (the metrics.json document) or csv (one row per scorecard × metric).")] = OutputFormat.table,
    window_days: WindowDays = None,
    change_threshold: ChangeThreshold = None,
    tier_quantiles: TierQuantiles = None,
    tier_thresholds: TierThresholds = None,
    segment_by: SegmentBy = None,
    fiscal_year_start: FiscalYearStart = None,
    time_zone: TimeZone = None,
    max_excluded: MaxExcluded = None,
    as_of: AsOf = None,
) -> None:
    """Compute the scorecard figures for a period and print them (nothing is written to disk)."""
    from . import engine, formatting
    from . import metrics as metrics_document
    from .source import resolve_source

    settings = _settings(**locals())
    source = resolve_source(data)
    result = engine.compute(source, period, settings, as_of=_as_of(as_of))
    if format is OutputFormat.json:
        sys.stdout.write(metrics_document.to_json(result.document))
    elif format is OutputFormat.csv:
        sys.stdout.write(metrics_document.to_csv(result.document))
    else:
        if source.is_sample:
            typer.echo("Using the bundled SAMPLE DATA (pass --data or set SCORECARD_DATA for your own).", err=True)
        typer.echo(formatting.summary_table(result.document))


@app.command()
@_handle_errors
def build(
    period: Period,
    data: Data = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder; the period's files go to OUT/<period label>/.")] = Path("scorecards"),
    segment: Annotated[Optional[list[str]], typer.Option("--segment", "-s", help="Only this segment's PDF (repeatable). The company scorecard and metrics.json always cover everything.")] = None,
    redact: Annotated[bool, typer.Option("--redact", help="Replace customer names by stable pseudonyms (and withhold referral notes) in every output.")] = False,
    company: Annotated[Optional[str], typer.Option(help="Company name printed on every page.")] = None,
    currency: Annotated[Optional[str], typer.Option(help="Reporting currency code, e.g. EUR, USD, GBP (default EUR).")] = None,
    jobs: Annotated[Optional[int], typer.Option(help="Render processes (default: one per core, at most 4).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Render even when nothing changed since the last build.")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="If another build is writing to OUT, wait for it instead of exiting with code 4.")] = False,
    window_days: WindowDays = None,
    change_threshold: ChangeThreshold = None,
    tier_quantiles: TierQuantiles = None,
    tier_thresholds: TierThresholds = None,
    segment_by: SegmentBy = None,
    fiscal_year_start: FiscalYearStart = None,
    time_zone: TimeZone = None,
    max_excluded: MaxExcluded = None,
    as_of: AsOf = None,
) -> None:
    """Write the PDF scorecards (company and each segment), a board pack, metrics.json, metrics.csv and
    manifest.json into OUT/<period label>/. Outputs appear all at once, or not at all."""
    from .build import BuildOptions, build as build_scorecards
    from .source import resolve_source

    settings = _settings(**locals())
    source = resolve_source(data)
    options = BuildOptions(out=out, segments=segment, jobs=jobs, force=force, wait=wait, as_of=_as_of(as_of))
    report = build_scorecards(source, period, settings, options)
    if source.is_sample:
        typer.echo("Built from the bundled SAMPLE DATA (every page says so).")
    if report.skipped:
        typer.echo(f"Nothing changed since the last build; {report.folder} is up to date (use --force to render again).")
        return
    typer.echo(f"Wrote {len(report.files)} files to {report.folder}")
    typer.echo(f"Metrics: {report.metrics_seconds:.1f} s")
    for name, seconds in report.render_seconds.items():
        typer.echo(f"Rendered {name}: {seconds:.1f} s")
    typer.echo(f"Total: {report.total_seconds:.1f} s")


@app.command()
@_handle_errors
def validate(
    data: Data = None,
    segment_by: SegmentBy = None,
    time_zone: TimeZone = None,
    max_excluded: MaxExcluded = None,
    as_of: AsOf = None,
) -> None:
    """Check the data source against the input contract (SPEC §2) and report, per table, the rows read and
    the rows excluded by reason. Exit 0 when the data is usable, 1 when it is not."""
    from .engine import check
    from .formatting import quality_report
    from .source import resolve_source

    settings = _settings(**locals())
    result = check(resolve_source(data), settings, as_of=_as_of(as_of))
    typer.echo(quality_report(result, settings.currency))


@app.command()
@_handle_errors
def sample(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write customers, orders, referrals and costs into.")],
    customers: Annotated[int, typer.Option(help="Number of customers (about 13 orders each).")] = 4000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives byte-identical files.")] = 7,
    segments: Annotated[int, typer.Option(help="Number of segments, 1–12.")] = 5,
    format: Annotated[SampleFormat, typer.Option("--format", help="csv or parquet.")] = SampleFormat.csv,
    costs: Annotated[bool, typer.Option("--costs/--no-costs", help="Also write a cost-to-serve table.")] = True,
) -> None:
    """Generate realistic sample data: four years, segments that grow and shrink, seasonality, refunds,
    cancellations, closures, win-backs, referrals with notes and cost-to-serve events."""
    from .sample import generate

    counts = generate(out, customers=customers, seed=seed, segments=segments, file_format=format.value, costs=costs)
    typer.echo(f"Wrote {out}: " + ", ".join(f"{rows:,} {table}" for table, rows in counts.items()))


def main() -> None:
    app()
