"""Does fitting the at-risk model on a fixed-seed sample of customers change anyone's p_quiet?

    python bench/risk_sample.py bench/data/10m-parquet --period Q3

Reads the purchase histories at the period's end and start the way `scorecard metrics` does, fits the
BG/NBD model on every customer and on the sample the tool uses above bgnbd.FIT_CUSTOMERS, and prints
both parameter sets, the time of each fit, and the largest difference in p_quiet over all customers.
"""

from __future__ import annotations

import argparse
import time
from datetime import date

import numpy as np

from scorecard import bgnbd, engine
from scorecard.models import INPUT_TABLES, PERIOD_TABLES
from scorecard.periods import parse_period
from scorecard.risk import FITS
from scorecard.settings import Settings
from scorecard.source import resolve_source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", help="data folder")
    parser.add_argument("--period", default="Q3")
    args = parser.parse_args()
    settings = Settings()
    with engine.connect() as con:
        runner, _ = engine.prepare(con, resolve_source(args.data), settings, date.today())
        data_through = con.execute("select max(order_date) from int_orders").fetchone()[0]
        period = parse_period(args.period, data_through=data_through)
        engine._create_run_periods(con, period, settings.trend_periods)
        engine._create_run_cohort_periods(con, period)
        runner.run(available=set(INPUT_TABLES - PERIOD_TABLES) | {"run_periods", "run_cohort_periods"})
        rows = {
            fit_name: con.execute(
                f"select x_{fit_name} as x, t_x_{fit_name} as t_x, t_{fit_name} as t from int_purchase_histories "
                f"where x_{fit_name} is not null"
            ).fetchnumpy()
            for fit_name in FITS
        }
    for fit_name in FITS:
        histories = bgnbd.Histories.grouped(rows[fit_name]["x"], rows[fit_name]["t_x"], rows[fit_name]["t"])
        results = {}
        for label, limit in (("all customers", histories.total), (f"sample of {bgnbd.FIT_CUSTOMERS:,}", bgnbd.FIT_CUSTOMERS)):
            started = time.perf_counter()
            results[label] = bgnbd.fit(histories, fit_customers=limit)
            print(f"{fit_name}: {label:>20}: {time.perf_counter() - started:5.2f} s  {results[label].parameters}")
        full, sampled = results.values()
        gap = np.abs(
            bgnbd.p_quiet(full.parameters, histories.x, histories.t_x, histories.T, period.days)
            - bgnbd.p_quiet(sampled.parameters, histories.x, histories.t_x, histories.T, period.days)
        )
        print(
            f"{fit_name}: {histories.total:,} customers, {len(histories.x):,} distinct histories; largest p_quiet difference {gap.max():.4f}"
        )


if __name__ == "__main__":
    main()
