"""The metric engine: input tables → SQL models → the metrics document of SPEC §5.

One call, `compute`, does the whole run in a private engine (an in-memory DuckDB database unless
another engine is chosen, see scorecard/engines/): load the source, stage and check it, resolve the
period against the data, run the remaining models, read the marts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date

from . import engines, metrics, risk, validation
from .engines import Engine, EngineChoice
from .errors import DataError, ScorecardError, StaleDataError, UsageError, excerpt
from .formatting import plural
from .models import INPUT_TABLES, PERIOD_TABLES, ModelRunner, Progress
from .periods import Period, cohort_periods, parse_period
from .settings import Settings
from .source import Source


@dataclass
class Result:
    document: dict
    period: Period
    data_through: date
    source: Source
    settings: Settings
    quality: validation.DataQuality
    timings: dict[str, float] = field(default_factory=dict)
    engine: dict[str, str] = field(default_factory=dict)  # which engine computed it (for the manifest)


def connect(choice: EngineChoice | None = None) -> Engine:
    """A private engine for one run: DuckDB in memory unless `choice` says otherwise."""
    return engines.connect(choice)


# The parameter tables: the models read the run's settings and periods from these, never from SQL text.
RUN_SETTINGS_COLUMNS = (
    ("window_days", "integer"), ("change_threshold", "decimal(9, 6)"), ("core_quantile", "decimal(9, 6)"),
    ("top_quantile", "decimal(9, 6)"), ("core_threshold", "decimal(18, 2)"), ("top_threshold", "decimal(18, 2)"),
    ("top_n", "integer"), ("as_of", "date"), ("time_zone", "varchar"), ("gross_margin", "decimal(9, 6)"),
    ("min_segment_customers", "integer"), ("risk_threshold", "decimal(9, 6)"),
)  # fmt: skip
RUN_PERIODS_COLUMNS = (
    ("period_index", "integer"), ("label", "varchar"), ("start_date", "date"), ("end_date", "date"),
    ("in_trend", "boolean"), ("is_previous", "boolean"), ("is_year_ago", "boolean"),
)  # fmt: skip
RUN_COHORT_PERIODS_COLUMNS = (("cohort_index", "integer"), ("label", "varchar"), ("start_date", "date"), ("end_date", "date"))


def _create_run_settings(con: Engine, settings: Settings, as_of: date) -> None:
    if not con.known_time_zone(settings.time_zone):
        raise UsageError(f"unknown time zone {excerpt(settings.time_zone)}; use an IANA name like 'Europe/Berlin' or 'UTC'")
    core_threshold, top_threshold = settings.tier_thresholds or (None, None)
    con.create_table(
        "run_settings",
        RUN_SETTINGS_COLUMNS,
        [
            (
                settings.window_days,
                settings.change_threshold,
                settings.tier_quantiles[0],
                settings.tier_quantiles[1],
                core_threshold,
                top_threshold,
                settings.top_n,
                as_of,
                settings.time_zone,
                settings.gross_margin,
                settings.min_segment_customers,
                settings.risk_threshold,
            )
        ],
    )
    # The segments that keep a scorecard of their own (empty: all of them).
    con.create_table("run_segments", [("segment", "varchar")], [(name,) for name in settings.segments or ()])


def comparison_periods(period: Period, trend_periods: int) -> list[tuple[Period, bool, bool, bool]]:
    """Every period the models compute, oldest first: the trend's last `trend_periods` periods (ending with
    `period`), plus the previous period and the same period a year earlier when the trend does not reach
    them (e.g. a month a year back, beyond an 8-month trend). Each with (in_trend, is_previous, is_year_ago)."""
    trend = period.trend(trend_periods)
    previous, year_ago = period.shifted(-1), period.shifted(-period.per_year)
    periods = {p.label: p for p in [previous, year_ago, *trend]}
    in_trend = {p.label for p in trend}
    ordered = sorted(periods.values(), key=lambda p: p.start)
    return [(p, p.label in in_trend, p.label == previous.label, p.label == year_ago.label) for p in ordered]


def _create_run_periods(con: Engine, period: Period, trend_periods: int) -> None:
    """The reported period is the last (highest period_index); the models read the others by their flags."""
    con.create_table(
        "run_periods",
        RUN_PERIODS_COLUMNS,
        [
            (index, p.label, p.start, p.end, in_trend, is_previous, is_year_ago)
            for index, (p, in_trend, is_previous, is_year_ago) in enumerate(comparison_periods(period, trend_periods), start=1)
        ],
    )


def _create_run_cohort_periods(con: Engine, period: Period) -> None:
    """The acquisition cohorts' periods (SPEC §3.11): the last 8 of the report's kind up to the reported one."""
    con.create_table(
        "run_cohort_periods",
        RUN_COHORT_PERIODS_COLUMNS,
        [(index, cohort.label, cohort.start, cohort.end) for index, cohort in enumerate(cohort_periods(period), start=1)],
    )


def prepare(
    con: Engine, source: Source, settings: Settings, as_of: date, progress: Progress | None = None
) -> tuple[ModelRunner, validation.DataQuality]:
    """Load, stage and check the source: everything that does not depend on the period."""
    _create_run_settings(con, settings, as_of)  # first: the input views read the report time zone from it
    con.load(source, settings.segment_by)
    con.lock_down(source)
    # The purchase histories first, so that the at-risk fits can run beside the rest (see _compute).
    runner = ModelRunner(con, first=(risk.HISTORIES,))
    runner.run(available=set(INPUT_TABLES - PERIOD_TABLES), progress=progress)
    validation.check_structure(con, source)
    quality = validation.summarise(con, source)
    return runner, quality


@dataclass
class Check:
    """What `scorecard validate` reports: the data is usable, with these exclusions."""

    source: Source
    quality: validation.DataQuality
    data_through: date | None
    currency: str | None = None


def check(source: Source, settings: Settings, *, as_of: date | None = None, engine: EngineChoice | None = None) -> Check:
    """Run every input check without computing metrics; raise DataError when the data is unusable."""
    with connect(engine) as con, con.within_limits():
        _, quality = prepare(con, source, settings, as_of or date.today())
        validation.check_tolerance(quality, source, settings.max_excluded)
        currency = validation.reporting_currency(quality, source, settings.currency)
        return Check(source, quality, _data_through(con, source), currency)


def _data_through(con: Engine, source: Source) -> date:
    data_through = con.execute("select max(order_date) from int_orders").fetchone()[0]
    if data_through is None:
        raise DataError(f"{source.tables['orders'].location}: no usable orders (all are cancelled or excluded); check the orders table")
    return data_through


def compute(
    source: Source,
    period_text: str,
    settings: Settings,
    *,
    as_of: date | None = None,
    today: date | None = None,
    require_fresh_days: int | None = None,
    progress: Progress | None = None,
    engine: EngineChoice | None = None,
) -> Result:
    """Run the whole metric engine and return the metrics document with what produced it."""
    as_of = as_of or today or date.today()
    with connect(engine) as con, con.within_limits():
        return _compute(con, source, period_text, settings, as_of, require_fresh_days, progress)


def _compute(
    con: Engine,
    source: Source,
    period_text: str,
    settings: Settings,
    as_of: date,
    require_fresh_days: int | None,
    progress: Progress | None,
) -> Result:
    timings = {}
    started = time.perf_counter()
    runner, quality = prepare(con, source, settings, as_of, progress)
    validation.check_tolerance(quality, source, settings.max_excluded)
    # Checked and summarised: the staged copies of the input are not read again.
    runner.release(("int_orders_checked", "int_referrals_checked", "int_costs_checked", "stg_"))
    timings["load_and_check"] = time.perf_counter() - started

    data_through = _data_through(con, source)
    if require_fresh_days is not None and (as_of - data_through).days > require_fresh_days:
        raise StaleDataError(
            f"the newest order is from {data_through}, {(as_of - data_through).days} days before {as_of}; "
            f"--require-fresh allows {require_fresh_days}. Check that the data export ran"
        )
    period = parse_period(period_text, fiscal_year_start=settings.fiscal_year_start, data_through=data_through, today=as_of)
    if settings.window_days < period.shortest_window:
        raise UsageError(
            f"--window-days {settings.window_days} is shorter than the period {period.label} ({period.days} days); "
            f"use a window of at least {period.shortest_window} days"
        )
    if period.start > data_through:
        raise DataError(
            f"period {period.label} starts on {period.start}, after the last order in the data ({data_through}); "
            "choose an earlier period or load newer data"
        )

    has_costs = "costs" in source.tables
    has_margin = settings.gross_margin is not None or con.execute("select count(margin) from int_orders").fetchone()[0] > 0
    started = time.perf_counter()
    _create_run_periods(con, period, settings.trend_periods)
    _create_run_cohort_periods(con, period)
    features = frozenset({"profitability"}) if has_costs and has_margin else frozenset()
    # The at-risk models need the BG/NBD fits, which need the purchase histories: the fits start as soon as
    # the histories are built, in a thread of their own, and the other models run meanwhile.
    fits = risk.Fits(period.start, period.end)
    runner.run(
        available=set(INPUT_TABLES - {"run_risk_models"}), progress=progress, features=features,
        after={risk.HISTORIES: lambda: fits.start(con)},
    )  # fmt: skip
    timings["models"] = time.perf_counter() - started
    started = time.perf_counter()
    risk_models = fits.finish(con)
    timings["risk_fits_wait"] = time.perf_counter() - started
    timings["risk_fits"], timings["risk_fits_cpu"] = fits.seconds, fits.cpu_seconds
    started = time.perf_counter()
    runner.run(available=set(INPUT_TABLES), progress=progress, features=features)
    timings["risk_models"] = time.perf_counter() - started

    document = metrics.build_document(
        con, period=period, data_through=data_through, settings=settings, quality=quality, source=source,
        with_profitability=has_costs and has_margin, risk_models=risk_models,
        currency=validation.reporting_currency(quality, source, settings.currency),
    )  # fmt: skip
    if has_costs and not has_margin:
        document["notes"].append(
            "A costs table was given but no gross margin, so profitability is not shown: "
            "set --gross-margin (or [metrics] gross_margin), or add a margin column to the orders."
        )
    currency = document["settings"]["currency"]
    for rounded in document["data_quality"]["rounded"]:
        document["notes"].append(
            f"{plural(rounded['rows'], 'amount')} in the {rounded['table']} table had more than two decimals and "
            f"{'was' if rounded['rows'] == 1 else 'were'} rounded to the cent (half away from zero), changing their total by "
            f"{rounded['amount']:+.2f}{' ' + currency if currency else ''}."
        )
    broken = metrics.check_invariants(document)
    if broken:  # a bug, never a data problem: refuse to publish figures that do not add up
        raise ScorecardError("internal check failed, no output written: " + "; ".join(broken[:3]) + " (please report this)")
    if settings.redact:  # before anything leaves the engine: every output is built from this document
        document = metrics.redact(document)
    timings |= {"model_" + k: v for k, v in runner.timings.items()}
    return Result(document, period, data_through, source, settings, quality, timings, con.describe())
