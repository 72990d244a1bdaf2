"""The BG/NBD model of Fader, Hardie and Lee (2005), "Counting your customers the easy way": who is still
buying, fitted by maximum likelihood on purchase histories.

A history is (x, t_x, T): x repeat purchase days, t_x from the first to the last purchase day, T from
the first purchase day to the as-of date, all in days. Histories come grouped, one row per distinct
(x, t_x, T) with the number of customers who share it, so a million customers cost as much as their
distinct histories. The SQL models compute the per-customer probabilities from the fitted parameters;
the functions here do the same in numpy, for tests and for the fit itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import digamma, gammaln
from threadpoolctl import threadpool_limits

# Data too thin to say anything about dropout: fewer repeat customers than this gives no fit.
MIN_REPEAT_CUSTOMERS = 100
# The search from several starting points runs on a fixed-seed sample of this many customers; the best
# point found is then refined on the fitting data, so the search's sample never shows in the result.
SEARCH_CUSTOMERS = 20_000
# The fitting data: every customer up to this many, else a fixed-seed sample of this many. On the
# benchmark's 1M customers the sample's parameters give every customer's p_quiet within 0.007 of the
# full fit's (README, performance), in a third of the time.
FIT_CUSTOMERS = 250_000
SEED = 20050401
# log-parameter bounds: e^±20 spans every plausible rate, shape and dropout parameter by far; an
# optimum on a bound is not accepted as a fit. (Where nobody detectably drops out, a heads towards 0 and b
# towards infinity along a flat ridge; the optimiser stops inside the bounds once the gradient is flat,
# and p_alive ≈ 1 there whatever the exact a and b: the one-year online-retail sample does this.)
LOG_BOUND = 20.0
# Converged: no log-parameter moves the mean log-likelihood by more than this per unit.
GRADIENT_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Parameters:
    r: float
    alpha: float  # in days
    a: float
    b: float

    def as_array(self) -> np.ndarray:
        return np.array([self.r, self.alpha, self.a, self.b])


@dataclass(frozen=True)
class Histories:
    """Grouped purchase histories: one entry per distinct (x, t_x, T), with how many customers share it."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    customers: np.ndarray

    @classmethod
    def of(cls, x, t_x, T, customers=None) -> Histories:
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        customers = np.ones_like(x) if customers is None else np.asarray(customers, dtype=float)
        if not (x.shape == t_x.shape == T.shape == customers.shape):
            raise ValueError("x, t_x, T and customers must have the same length")
        if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > T) or np.any(T <= 0) or np.any((x == 0) & (t_x != 0)):
            raise ValueError("histories need x >= 0, 0 <= t_x <= T, T > 0, and t_x = 0 when x = 0")
        return cls(x, t_x, T, customers)

    @classmethod
    def grouped(cls, x, t_x, T) -> Histories:
        """Per-customer histories in whole days grouped: one entry per distinct (x, t_x, T) with how many
        customers share it, ordered by x, t_x and T, so that the fit's sums never depend on the order the
        rows came in."""
        x, t_x, T = (np.asarray(v, dtype=np.int64) for v in (x, t_x, T))
        # One integer per history, in the same order (0 <= x, t_x <= T < base): one sort instead of three.
        base = int(T.max(initial=0)) + 1
        if base**3 >= 2**63:
            raise ValueError("histories longer than two million days cannot be grouped")
        keys, customers = np.unique((x * base + t_x) * base + T, return_counts=True)
        return cls.of(keys // (base * base), keys // base % base, keys % base, customers)

    @property
    def total(self) -> int:
        return int(self.customers.sum())

    @property
    def repeat_customers(self) -> int:
        return int(self.customers[self.x > 0].sum())


@dataclass(frozen=True)
class Fit:
    """The fitted parameters, or None with the reason there are none."""

    parameters: Parameters | None
    customers: int
    repeat_customers: int
    log_likelihood: float | None = None  # of the fitting data
    sampled: bool = False  # fitted on a fixed-seed sample of FIT_CUSTOMERS customers
    note: str | None = None


def log_likelihood(parameters: Parameters, x, t_x, T) -> np.ndarray:
    """Each history's log-likelihood (the paper's eq. 6, in the log form of its section 7)."""
    r, alpha, a, b = parameters.as_array()
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    ln_a1 = gammaln(r + x) - gammaln(r) + r * math.log(alpha)
    ln_a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    ln_a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        ln_a4 = np.where(x > 0, math.log(a) - np.log(b + x - 1) - (r + x) * np.log(alpha + t_x), -np.inf)
    return ln_a1 + ln_a2 + np.logaddexp(ln_a3, ln_a4)


def p_alive(parameters: Parameters, x, t_x, T) -> np.ndarray:
    """P(still a customer at T | x, t_x, T): the paper's eq. 13. 1 for one purchase day by the model's
    assumption (dropout happens only right after a repeat purchase)."""
    r, alpha, a, b = parameters.as_array()
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        odds_dead = np.where(x > 0, a / (b + x - 1) * np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + t_x))), 0.0)
    return 1.0 / (1.0 + odds_dead)


def p_quiet(parameters: Parameters, x, t_x, T, horizon: float) -> np.ndarray:
    """P(no purchase in the next `horizon` days): dropped out, or alive and buying nothing, which for a
    Poisson buyer with the posterior Gamma(r + x, α + T) rate is ((α + T) / (α + T + horizon))^(r + x)."""
    r, alpha, _, _ = parameters.as_array()
    x, T = np.asarray(x, dtype=float), np.asarray(T, dtype=float)
    alive = p_alive(parameters, x, t_x, T)
    return (1.0 - alive) + alive * np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + horizon)))


def _dot(left: np.ndarray, right: np.ndarray) -> float:
    """A dot product in numpy's own loop: BLAS's threaded one spins on a busy machine (50× slower here)."""
    return float(np.einsum("i,i->", left, right))


class _Objective:
    """Mean negative log-likelihood over customers and its gradient, in log-parameters.

    x, t_x and T are whole days, so every term that depends on one of them alone (gamma functions of x,
    logarithms of α + T and α + t_x) is computed once per possible value and looked up by index.
    Customers with one purchase day (x = 0) then cost nothing per history: their ln A3 = −r·ln(α + T)
    is summed per T. For repeat buyers the log-likelihood is ln A3 + ln(1 + e^d) with
    d = ln A4 − ln A3, and A4's share of the sum, e^d / (1 + e^d), is all the gradient needs."""

    def __init__(self, histories: Histories):
        weights = histories.customers / histories.customers.sum()
        x, t_x, T = (values.astype(np.int64) for values in (histories.x, histories.t_x, histories.T))
        self.xs = np.arange(x.max() + 1, dtype=float)
        self.days = np.arange(T.max() + 1, dtype=float)
        # Customers per x and per T (and their x per T): the terms in x or T alone need no per-history pass.
        self.x_weights = np.bincount(x, weights=weights, minlength=len(self.xs))
        self.T_weights = np.bincount(T, weights=weights, minlength=len(self.days))
        self.xT_weights = np.bincount(T, weights=weights * histories.x, minlength=len(self.days))
        repeat = x > 0
        self.weights, self.x_index, self.T_index, self.t_index = weights[repeat], x[repeat] - 1, T[repeat], t_x[repeat]
        self.x = histories.x[repeat]

    def __call__(self, log_parameters: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(log_parameters)
        xs, w_x = self.xs, self.x_weights
        # A1 and A2 of the paper: x alone.
        value = _dot(w_x, gammaln(r + xs) + gammaln(b + xs) - gammaln(a + b + xs)) + (
            -gammaln(r) + r * math.log(alpha) + gammaln(a + b) - gammaln(b)
        )
        d_r = _dot(w_x, digamma(r + xs)) - digamma(r) + math.log(alpha)
        d_alpha = r / alpha
        d_a = digamma(a + b) - _dot(w_x, digamma(a + b + xs))
        d_b = _dot(w_x, digamma(b + xs) - digamma(a + b + xs)) + digamma(a + b) - digamma(b)
        # ln A3 = −(r + x)·ln(α + T), for everyone: T alone, weighted by the customers (and their x) at each T.
        log_days = np.log(alpha + self.days)
        inverse_days = 1.0 / (alpha + self.days)
        value -= _dot(r * self.T_weights + self.xT_weights, log_days)
        d_r -= _dot(self.T_weights, log_days)
        d_alpha -= _dot(r * self.T_weights + self.xT_weights, inverse_days)
        # Repeat buyers: + ln(1 + e^d), d = ln a − ln(b + x − 1) − (r + x)·(ln(α + t_x) − ln(α + T)).
        log_gap = log_days[self.t_index] - log_days[self.T_index]
        r_x = r + self.x
        repeat_gap = b + xs[1:] - 1  # b + x − 1 for x = 1, 2, …: looked up at x − 1
        d = (math.log(a) - np.log(repeat_gap))[self.x_index] - r_x * log_gap
        small = np.exp(-np.abs(d))  # ln(1 + e^d) and e^d / (1 + e^d) without overflow, in cheap operations
        value += _dot(self.weights, np.maximum(d, 0.0) + np.log1p(small))
        weighted_share = self.weights * np.where(d >= 0, 1.0, small) / (1.0 + small)
        d_r -= _dot(weighted_share, log_gap)
        d_alpha -= _dot(weighted_share, r_x * (inverse_days[self.t_index] - inverse_days[self.T_index]))
        d_a += weighted_share.sum() / a
        d_b -= _dot(weighted_share, (1.0 / repeat_gap)[self.x_index])
        # d/d ln θ = θ · d/dθ; minimise the negative.
        gradient = np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
        return -value, -gradient


def _starts(histories: Histories) -> list[np.ndarray]:
    """A few starting points spread over the plausible range. α is a time scale (in days here), so it
    starts at r over the observed repeat-purchase rate rather than at a fixed number."""
    exposure = float(histories.customers @ histories.T)
    repeats = float(histories.customers @ histories.x)
    rate = repeats / exposure if repeats > 0 else 1.0 / max(float(histories.T.max()), 1.0)
    shapes = ((1.0, 1.0, 1.0), (0.25, 0.75, 2.5), (2.0, 0.5, 5.0), (0.5, 2.0, 0.8))
    return [np.log([r, r / rate, a, b]) for r, a, b in shapes]


def _minimise(objective: _Objective, start: np.ndarray):
    bounds = [(-LOG_BOUND, LOG_BOUND)] * 4
    options = {"maxiter": 1000, "ftol": 1e-13, "gtol": 1e-9}
    return minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds, options=options)


def _converged(result) -> bool:
    inside = np.all(np.abs(result.x) < LOG_BOUND - 1e-3)
    return bool(np.isfinite(result.fun) and inside and np.max(np.abs(result.jac)) < GRADIENT_TOLERANCE)


def sample(histories: Histories, customers: int) -> Histories:
    """A fixed-seed sample of about `customers` customers (binomial thinning of each history's count)."""
    if histories.total <= customers:
        return histories
    rng = np.random.default_rng(SEED)
    kept = rng.binomial(histories.customers.astype(np.int64), customers / histories.total).astype(float)
    keep = kept > 0
    return Histories(histories.x[keep], histories.t_x[keep], histories.T[keep], kept[keep])


def fit(histories: Histories, *, fit_customers: int = FIT_CUSTOMERS) -> Fit:
    """Maximum-likelihood parameters, searched from several starting points (the likelihood has flat
    regions where a single start can stop early) with the analytic gradient."""
    customers, repeaters = histories.total, histories.repeat_customers
    if repeaters < MIN_REPEAT_CUSTOMERS:
        return Fit(
            None, customers, repeaters,
            note=f"only {repeaters:,} customers bought on more than one day; the model needs at least {MIN_REPEAT_CUSTOMERS}",
        )  # fmt: skip
    fitting = sample(histories, fit_customers)
    search = sample(fitting, SEARCH_CUSTOMERS)
    # BLAS's worker threads spin on a busy machine and slow the optimiser's tiny vector steps many times over.
    with threadpool_limits(limits=1, user_api="blas"):
        objective = _Objective(search)
        results = [_minimise(objective, start) for start in _starts(search)]
        best = min((result for result in results if np.isfinite(result.fun)), key=lambda result: result.fun, default=None)
        if best is not None and search is not fitting:
            best = _minimise(_Objective(fitting), best.x)
    if best is None or not _converged(best):
        return Fit(None, customers, repeaters, note="the model fit did not converge on this data")
    r, alpha, a, b = np.exp(best.x)
    log_likelihood = -best.fun * fitting.total
    return Fit(
        Parameters(float(r), float(alpha), float(a), float(b)), customers, repeaters, log_likelihood, sampled=fitting is not histories
    )
