"""The at-risk step of the engine (SPEC §3.12): purchase histories from SQL → BG/NBD fits → parameters
back to SQL.

Runs between model runs: `int_purchase_history_counts` holds the distinct (x, t_x, T) histories at the
reported period's end and start; each is fitted (bgnbd.fit) and the parameters of the fits that
converged become the table `run_risk_models`, from which the SQL models compute every customer's
p_alive and p_quiet. A fit that fails leaves no parameters, so no list is made up from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from . import bgnbd

FITS = ("end", "start")  # the at-risk list at the period end; the backtest at its start


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


def fit_models(con, start: date, end: date) -> dict[str, RiskModel]:
    """Fit the model at the period's end and start; create run_risk_models with the fits that converged.
    `con` is the run's engine (scorecard.engines.Engine): the histories come back as query results and the
    parameters go in as a table made from data, whatever engine runs the models."""
    # In a fixed order: the sums in the fit, and the fixed-seed sample of large data, must not depend on the
    # order a parallel group-by happens to return rows in, or the same inputs could give other digits.
    # One query per fit, of numbers only: a million rows come back several times faster without a text column.
    models = {}
    for name, as_of in zip(FITS, (end, start), strict=True):
        histories = con.execute(
            "select x, t_x, t, customers from int_purchase_history_counts where fit = ? order by x, t_x, t", [name]
        ).fetchnumpy()
        models[name] = RiskModel(
            name, as_of, bgnbd.fit(bgnbd.Histories.of(histories["x"], histories["t_x"], histories["t"], histories["customers"]))
        )
    fitted = [(name, *model.result.parameters.as_array().tolist()) for name, model in models.items() if model.result.parameters]
    con.create_table(
        "run_risk_models", [("fit", "varchar"), ("r", "double"), ("alpha", "double"), ("a", "double"), ("b", "double")], fitted
    )
    return models
