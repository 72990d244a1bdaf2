"""The BG/NBD model (scorecard/bgnbd.py) against the paper's definitions.

The closed forms are checked against a direct numerical integration of the model's individual-level
story (Poisson buying at rate λ ~ Gamma(r, α), dropping out after each purchase with chance p ~ Beta(a, b)),
which shares nothing with the closed forms; and at the parameters Fader, Hardie and Lee (2005) published
for their 2,357-customer CDNOW sample (r = 0.243, α = 4.414, a = 0.793, b = 2.426, in weeks).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from scorecard import bgnbd

PAPER = bgnbd.Parameters(r=0.243, alpha=4.414, a=0.793, b=2.426)
# (x, t_x, T): one-time buyer; the paper's worked example (x = 2, t_x = 30.43, T = 38.86 weeks); a
# frequent buyer gone quiet; a frequent buyer still buying.
HISTORIES = [(0, 0.0, 38.86), (2, 30.43, 38.86), (8, 12.0, 38.0), (8, 37.5, 38.0)]


def _expect(function, parameters: bgnbd.Parameters, nodes: int = 400) -> float:
    """E[function(λ, p)] over λ ~ Gamma(r, rate α) and p ~ Beta(a, b): Gauss–Legendre quadrature over the
    unit square of their quantiles, where the integrand stays bounded though the densities do not
    (400 × 400 nodes agree with adaptive integration to about 1e-8 on these histories)."""
    points, weights = np.polynomial.legendre.leggauss(nodes)
    quantiles, weights = (points + 1) / 2, weights / 2
    rates = stats.gamma(parameters.r, scale=1 / parameters.alpha).ppf(quantiles)[:, None]
    dropouts = stats.beta(parameters.a, parameters.b).ppf(quantiles)[None, :]
    return float(weights @ (function(rates, dropouts) + np.zeros((nodes, nodes))) @ weights)


def _alive_part(x, t_x, T, horizon=0.0):
    # Still buying after the last purchase, and (with a horizon) no purchase in it either.
    return lambda lam, p: (1 - p) ** x * lam**x * np.exp(-lam * (T + horizon))


def _dead_part(x, t_x, T):
    # Dropped out right after the last purchase (only possible after a repeat purchase).
    return lambda lam, p: p * (1 - p) ** (x - 1) * lam**x * np.exp(-lam * t_x) if x > 0 else 0.0 * lam * p


@pytest.mark.parametrize(("x", "t_x", "T"), HISTORIES)
def test_likelihood_equals_the_integrated_individual_likelihood(x, t_x, T):
    alive = _expect(_alive_part(x, t_x, T), PAPER)
    dead = _expect(_dead_part(x, t_x, T), PAPER)
    assert bgnbd.log_likelihood(PAPER, [x], [t_x], [T])[0] == pytest.approx(math.log(alive + dead), abs=1e-6)


@pytest.mark.parametrize(("x", "t_x", "T"), HISTORIES)
def test_likelihood_equals_the_papers_equation_6_by_hand(x, t_x, T):
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    beta = lambda p, q: math.gamma(p) * math.gamma(q) / math.gamma(p + q)
    common = math.gamma(r + x) * alpha**r / math.gamma(r)
    likelihood = beta(a, b + x) / beta(a, b) * common / (alpha + T) ** (r + x)
    if x > 0:
        likelihood += beta(a + 1, b + x - 1) / beta(a, b) * common / (alpha + t_x) ** (r + x)
    assert bgnbd.log_likelihood(PAPER, [x], [t_x], [T])[0] == pytest.approx(math.log(likelihood), rel=1e-12)


def test_one_time_buyer_by_hand():
    # x = 0: L = (α / (α + T))^r, and the customer is alive by the model's assumption.
    assert math.exp(bgnbd.log_likelihood(PAPER, [0], [0], [38.86])[0]) == pytest.approx((4.414 / 43.274) ** 0.243, rel=1e-12)
    assert bgnbd.p_alive(PAPER, [0], [0], [38.86])[0] == 1.0


@pytest.mark.parametrize(("x", "t_x", "T"), HISTORIES)
def test_p_alive_is_the_posterior_chance_of_still_buying(x, t_x, T):
    alive = _expect(_alive_part(x, t_x, T), PAPER)
    dead = _expect(_dead_part(x, t_x, T), PAPER)
    assert bgnbd.p_alive(PAPER, [x], [t_x], [T])[0] == pytest.approx(alive / (alive + dead), abs=1e-7)


def test_p_alive_by_hand_from_equation_13():
    # x = 2, t_x = 30.43, T = 38.86: 1 / (1 + a / (b + x − 1) · ((α + T) / (α + t_x))^(r + x))
    expected = 1 / (1 + 0.793 / (2.426 + 1) * ((4.414 + 38.86) / (4.414 + 30.43)) ** (0.243 + 2))
    assert bgnbd.p_alive(PAPER, [2], [30.43], [38.86])[0] == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.7266, abs=1e-4)


@pytest.mark.parametrize(("x", "t_x", "T"), HISTORIES)
def test_p_quiet_is_the_posterior_chance_of_no_purchase_in_the_horizon(x, t_x, T):
    horizon = 13.0  # a quarter, in weeks like the parameters
    alive = _expect(_alive_part(x, t_x, T), PAPER)
    dead = _expect(_dead_part(x, t_x, T), PAPER)
    alive_and_silent = _expect(_alive_part(x, t_x, T, horizon), PAPER)
    assert bgnbd.p_quiet(PAPER, [x], [t_x], [T], horizon)[0] == pytest.approx((alive_and_silent + dead) / (alive + dead), abs=1e-7)


def _simulate(parameters: bgnbd.Parameters, customers: int, seed: int) -> bgnbd.Histories:
    """BG/NBD histories in whole days: each customer's first purchase on day 0, observed for T days
    (60 to 730); purchases at Poisson times with rate λ, dropping out after each with chance p;
    purchase days are the distinct whole days with a purchase."""
    rng = np.random.default_rng(seed)
    rates = rng.gamma(parameters.r, 1 / parameters.alpha, customers)
    dropouts = rng.beta(parameters.a, parameters.b, customers)
    ages = rng.integers(60, 731, customers)
    xs, recencies = np.zeros(customers), np.zeros(customers)
    for index in range(customers):  # a test's simulation, not the product's code path
        days, time = {0}, 0.0
        while True:
            time += rng.exponential(1 / rates[index])
            if time >= ages[index]:
                break
            days.add(int(time))
            if rng.random() < dropouts[index]:
                break
        xs[index], recencies[index] = len(days) - 1, max(days)
    return bgnbd.Histories.of(xs, recencies, ages)


def _standard_errors(histories: bgnbd.Histories, fit: bgnbd.Fit) -> np.ndarray:
    """Standard errors of the log-parameters from the observed information (the Hessian of the total
    log-likelihood, by differences of the analytic gradient)."""
    objective = bgnbd._Objective(histories)
    centre = np.log(fit.parameters.as_array())
    step = 1e-5
    hessian = np.array([(objective(centre + step * e)[1] - objective(centre - step * e)[1]) / (2 * step) for e in np.eye(4)])
    return np.sqrt(np.diag(np.linalg.inv(hessian * histories.total)))


def test_fit_recovers_simulated_parameters():
    truth = bgnbd.Parameters(r=0.8, alpha=40.0, a=0.7, b=3.0)
    histories = _simulate(truth, 6000, seed=12)
    fit = bgnbd.fit(histories)
    assert fit.note is None and not fit.sampled
    errors = _standard_errors(histories, fit)
    # Within 3 standard errors of the truth on the log scale (each holds with 99.7 % for an unbiased
    # estimate); recording purchases by whole day merges the rare same-day pairs, a bias far below that.
    distance = np.abs(np.log(fit.parameters.as_array()) - np.log(truth.as_array())) / errors
    assert np.all(distance < 3), (fit.parameters, errors, distance)
    # And the standard errors are small enough for that to mean something: 2–25 % of each parameter.
    assert np.all((errors > 0.02) & (errors < 0.25)), errors


def test_fit_finds_the_same_optimum_from_every_start():
    histories = _simulate(bgnbd.Parameters(r=0.4, alpha=15.0, a=1.2, b=2.0), 3000, seed=5)
    objective = bgnbd._Objective(histories)
    optima = [bgnbd._minimise(objective, start) for start in bgnbd._starts(histories)]
    best = bgnbd.fit(histories)
    assert best.log_likelihood == pytest.approx(-min(result.fun for result in optima) * histories.total, rel=1e-10)


def test_gradient_matches_finite_differences():
    histories = _simulate(bgnbd.Parameters(r=0.8, alpha=40.0, a=0.7, b=3.0), 500, seed=3)
    objective = bgnbd._Objective(histories)
    point = np.log([1.1, 25.0, 0.5, 4.0])
    numeric = [(objective(point + 1e-6 * e)[0] - objective(point - 1e-6 * e)[0]) / 2e-6 for e in np.eye(4)]
    assert objective(point)[1] == pytest.approx(numeric, abs=1e-7)
    # and the value is the mean negative log-likelihood
    mean = -(histories.customers @ bgnbd.log_likelihood(bgnbd.Parameters(*np.exp(point)), histories.x, histories.t_x, histories.T))
    assert objective(point)[0] == pytest.approx(mean / histories.total, rel=1e-12)


def test_thin_data_gives_a_note_and_no_parameters():
    histories = bgnbd.Histories.of([0] * 500 + [1] * 99, [0] * 500 + [20] * 99, [100] * 599)
    fit = bgnbd.fit(histories)
    assert fit.parameters is None
    assert fit.note == "only 99 customers bought on more than one day; the model needs at least 100"


def test_a_fixed_seed_sample_for_large_data():
    histories = _simulate(bgnbd.Parameters(r=0.8, alpha=40.0, a=0.7, b=3.0), 3000, seed=8)
    full = bgnbd.fit(histories)
    sampled = bgnbd.fit(histories, fit_customers=1500)
    assert sampled.sampled and sampled == bgnbd.fit(histories, fit_customers=1500)  # the same sample every time
    horizon = 92
    gap = np.abs(
        bgnbd.p_quiet(full.parameters, histories.x, histories.t_x, histories.T, horizon)
        - bgnbd.p_quiet(sampled.parameters, histories.x, histories.t_x, histories.T, horizon)
    )
    assert gap.max() < 0.05  # half the customers: close; the benchmark shows 250,000 of 1,000,000 within 0.007


def test_histories_are_checked():
    with pytest.raises(ValueError):
        bgnbd.Histories.of([1], [5], [3])  # t_x > T
    with pytest.raises(ValueError):
        bgnbd.Histories.of([0], [2], [3])  # one purchase day but t_x > 0


def test_per_customer_histories_are_grouped_in_one_order_whatever_order_they_come_in():
    # (x, t_x, T) of six customers: two pairs share a history
    x, t_x, T = [2, 0, 1, 2, 0, 1], [30, 0, 5, 30, 0, 7], [90, 60, 90, 90, 60, 90]
    grouped = bgnbd.Histories.grouped(x, t_x, T)
    assert grouped.x.tolist() == [0, 1, 1, 2]
    assert grouped.t_x.tolist() == [0, 5, 7, 30]
    assert grouped.T.tolist() == [60, 90, 90, 90]
    assert grouped.customers.tolist() == [2, 1, 1, 2]
    shuffled = np.random.default_rng(1).permutation(6)
    again = bgnbd.Histories.grouped(*(np.asarray(v)[shuffled] for v in (x, t_x, T)))
    assert all(np.array_equal(getattr(grouped, name), getattr(again, name)) for name in ("x", "t_x", "T", "customers"))
    # and a fit of the grouped histories is the fit of the customers one by one
    histories = _simulate(bgnbd.Parameters(r=0.8, alpha=40.0, a=0.7, b=3.0), 800, seed=4)
    assert len(bgnbd.Histories.grouped(histories.x, histories.t_x, histories.T).x) < histories.total
    by_customer = bgnbd.fit(histories).parameters.as_array()
    assert bgnbd.fit(bgnbd.Histories.grouped(histories.x, histories.t_x, histories.T)).parameters.as_array() == pytest.approx(
        by_customer, rel=1e-6
    )
