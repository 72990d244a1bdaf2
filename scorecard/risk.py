"""The at-risk step of the engine (SPEC §3.12): purchase histories from SQL → BG/NBD fits → parameters
back to SQL.

Runs beside the model runs: `int_purchase_histories` holds every customer's (x, t_x, T) at the reported
period's end and start; each is grouped into its distinct histories (a million customers have far fewer)
and fitted (bgnbd.fit) in a thread of its own while the other SQL models run, and the parameters of the
fits that converged become the table `run_risk_models`, from which the SQL models compute every
customer's p_alive and p_quiet. A fit that fails leaves no parameters, so no list is made up from it.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import bgnbd

FITS = ("end", "start")  # the at-risk list at the period end; the backtest at its start
HISTORIES = "int_purchase_histories"  # the model the fits read


@dataclass(frozen=True)
class RiskModel:
    fit: str
    as_of: date
    result: bgnbd.Fit

    def as_json(self) -> dict:
        parameters = self.result.parameters
        return {
            "as_of": self.as_of.isoformat(),
            "r": parameters.r if parameters else None,
            "alpha_days": parameters.alpha if parameters else None,
            "a": parameters.a if parameters else None,
            "b": parameters.b if parameters else None,
            "customers": self.result.customers,
            "repeat_customers": self.result.repeat_customers,
            "sampled": self.result.sampled,
            "note": self.result.note,
        }


class Fits:
    """The fits of one run, computed beside the SQL models: started as soon as the histories exist (the runner
    builds them early), so that the optimiser's one thread works while the engine's SQL runs, and collected
    when the at-risk models need them. Only the fitting leaves the calling thread; the engine (`con`, a
    scorecard.engines.Engine) is used from the calling thread alone."""

    def __init__(self, start: date, end: date):
        self.as_of = dict(zip(FITS, (end, start), strict=True))
        self.seconds = 0.0  # spent fitting, beside the SQL
        self.cpu_seconds = 0.0  # of the fitting thread
        self._future: Future | None = None

    def start(self, con) -> None:
        """Read the histories and start fitting them."""
        # Per customer, numbers only (a million rows come back several times faster without a text column);
        # the fit groups them into distinct histories itself.
        histories = {
            name: con.execute(
                f"select x_{name} as x, t_x_{name} as t_x, t_{name} as t from {HISTORIES} where x_{name} is not null"
            ).fetchnumpy()
            for name in FITS
        }
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scorecard-fits")
        self._future = executor.submit(self._fit, histories)
        executor.shutdown(wait=False)  # the fit runs on; the thread ends with it

    def _fit(self, histories: dict) -> dict[str, bgnbd.Fit]:
        started, cpu_started = time.perf_counter(), time.thread_time()
        from . import bgnbd  # SciPy: imported here, in this thread, while the SQL runs (~0.5 s)

        fits = {name: bgnbd.fit(bgnbd.Histories.grouped(rows["x"], rows["t_x"], rows["t"])) for name, rows in histories.items()}
        self.seconds, self.cpu_seconds = time.perf_counter() - started, time.thread_time() - cpu_started
        return fits

    def finish(self, con) -> dict[str, RiskModel]:
        """Wait for the fits (starting them first if the histories were never announced); create
        run_risk_models with those that converged."""
        if self._future is None:
            self.start(con)
        models = {name: RiskModel(name, self.as_of[name], result) for name, result in self._future.result().items()}
        fitted = [(name, *model.result.parameters.as_array().tolist()) for name, model in models.items() if model.result.parameters]
        con.create_table(
            "run_risk_models", [("fit", "varchar"), ("r", "double"), ("alpha", "double"), ("a", "double"), ("b", "double")], fitted
        )
        return models
