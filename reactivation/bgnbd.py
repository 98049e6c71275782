"""BG/NBD and MBG/NBD on plain numpy arrays: log-likelihood, fit, P(alive), expected purchases.

No Django here. Every function takes each customer's summary, in any one unit of time:
- ``x``: repeat purchases (purchase days after the first one),
- ``t_x``: time from the first to the last purchase (recency),
- ``T``: time from the first purchase to the end of the observation (age).

Models (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way"; Batislam, Denizel &
Filiztekin 2007, "Empirical validation and comparison of models for customer base analysis"):
- while alive, a customer buys as a Poisson process with rate ``lambda ~ Gamma(r, alpha)``;
- BG/NBD: after each *repeat* purchase the customer dies with probability ``p ~ Beta(a, b)``,
  so a customer who never bought again is alive for sure (P(alive) = 1 at x = 0);
- MBG/NBD: the customer may also die right after the *first* purchase, so one-time buyers
  who have been silent for long get a low P(alive) too.

The product uses MBG/NBD (``MODEL``): a business's base is full of clients who bought once
and never came back, and BG/NBD would call every one of them certainly alive; the queue must
not rank them above regular clients who went quiet. BG/NBD is kept beside it because its
published fit on the CDNOW sample is the check that the likelihood and the optimiser are right.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

BGNBD = "bgnbd"
MBGNBD = "mbgnbd"
MODEL = MBGNBD

# Bounds of the search, on the log of (r, alpha, a, b). Data with no heterogeneity or nobody
# leaving drives the likelihood toward infinite r and alpha or zero a; the bounds keep such a fit
# finite (it then behaves as the limit it approaches).
LOG_BOUNDS = np.log(np.array([[1e-4, 1e4], [1e-4, 1e6], [1e-4, 1e4], [1e-4, 1e4]]))

# Above this many distinct summaries the simplex search runs on a sample of this size.
SUBSAMPLE = 20_000

# Below this many customers (or with almost no repeat buying) a fit says nothing useful.
MIN_CUSTOMERS = 30
MIN_REPEATERS = 10


@dataclass(frozen=True)
class Params:
    r: float
    alpha: float
    a: float
    b: float

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.r, self.alpha, self.a, self.b)


@dataclass(frozen=True)
class FitResult:
    params: Params
    model: str
    customers: int
    log_likelihood: float
    converged: bool


class NotEnoughData(ValueError):
    """Too few customers or repeat buyers for a meaningful fit."""


def _arrays(x, t_x, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    t_x = np.asarray(t_x, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    return x, t_x, T


def log_likelihood(params: Params | tuple, x, t_x, T, *, model: str = MODEL) -> np.ndarray:
    """Each customer's log-likelihood under the model."""
    r, alpha, a, b = params.as_tuple() if isinstance(params, Params) else params
    x, t_x, T = _arrays(x, t_x, T)
    gamma_part = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    if model == BGNBD:
        beta_part = (
            special.gammaln(a + b)
            + special.gammaln(b + x)
            - special.gammaln(b)
            - special.gammaln(a + b + x)
        )
        first = -(r + x) * np.log(alpha + T)
        with np.errstate(divide="ignore", invalid="ignore"):
            second = np.where(
                x > 0,
                np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x),
                -np.inf,
            )
    elif model == MBGNBD:
        beta_part = (
            special.gammaln(a + b)
            + special.gammaln(b + x + 1)
            - special.gammaln(b)
            - special.gammaln(a + b + x + 1)
        )
        first = -(r + x) * np.log(alpha + T)
        second = np.log(a) - np.log(b + x) - (r + x) * np.log(alpha + t_x)
    else:
        raise ValueError(f"unknown model {model!r}")
    return gamma_part + beta_part + np.logaddexp(first, second)


def fit(x, t_x, T, *, model: str = MODEL, weights=None, initial: Params | None = None) -> FitResult:
    """Maximum-likelihood parameters. Identical summaries are pooled first (``weights`` counts
    them), so a segment of a million clients costs as much as its distinct (x, t_x, T)."""
    x, t_x, T = _arrays(x, t_x, T)
    if weights is None:
        stacked = np.stack([x, t_x, T], axis=1)
        unique, counts = np.unique(stacked, axis=0, return_counts=True)
        x, t_x, T = unique[:, 0], unique[:, 1], unique[:, 2]
        weights = counts.astype(np.float64)
    else:
        weights = np.asarray(weights, dtype=np.float64)
    customers = int(weights.sum())
    repeaters = int(weights[x > 0].sum())
    if customers < MIN_CUSTOMERS or repeaters < MIN_REPEATERS:
        raise NotEnoughData(f"{customers} customers, {repeaters} with a repeat purchase")

    # The terms that depend on x alone are computed once per distinct x (a few hundred values
    # even for a million customers), the rest once per distinct summary.
    unique_x, x_index = np.unique(x, return_inverse=True)

    def negative(log_params: np.ndarray) -> float:
        r, alpha, a, b = np.exp(log_params)
        shift = 1.0 if model == MBGNBD else 0.0
        gx = special.gammaln(r + unique_x) - special.gammaln(r) + r * np.log(alpha)
        bx = (
            special.gammaln(a + b)
            + special.gammaln(b + unique_x + shift)
            - special.gammaln(b)
            - special.gammaln(a + b + unique_x + shift)
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            if model == MBGNBD:
                cx = np.log(a) - np.log(b + unique_x)
            else:
                cx = np.where(
                    unique_x > 0, np.log(a) - np.log(np.maximum(b + unique_x - 1, 1e-300)), -np.inf
                )
        rx = (r + unique_x)[x_index]
        first = -rx * np.log(alpha + T)
        second = cx[x_index] - rx * np.log(alpha + t_x)
        ll = (gx + bx)[x_index] + np.logaddexp(first, second)
        value = -(weights * ll).sum() / customers
        return float(value) if np.isfinite(value) else 1e300

    start = initial or Params(
        r=1.0, alpha=max(float(np.average(T, weights=weights)), 1e-3), a=1.0, b=1.0
    )
    x0 = np.clip(np.log(np.array(start.as_tuple())), LOG_BOUNDS[:, 0], LOG_BOUNDS[:, 1])
    if x.size > SUBSAMPLE and initial is None:
        # A large base: find the neighbourhood on a weighted subsample first (the simplex needs
        # hundreds of evaluations), then polish on everything.
        rng = np.random.default_rng(0)
        pick = rng.choice(x.size, size=SUBSAMPLE, replace=False, p=weights / weights.sum())
        rough = fit(x[pick], t_x[pick], T[pick], model=model, weights=np.ones(SUBSAMPLE))
        x0 = np.clip(np.log(np.array(rough.params.as_tuple())), LOG_BOUNDS[:, 0], LOG_BOUNDS[:, 1])
        result = optimize.OptimizeResult(x=x0, fun=negative(x0), success=rough.converged)
    else:
        result = optimize.minimize(
            lambda p: negative(np.clip(p, LOG_BOUNDS[:, 0], LOG_BOUNDS[:, 1])),
            x0,
            method="Nelder-Mead",
            options={
                "xatol": 1e-7,
                "fatol": 1e-11,
                "maxiter": 4000,
                "maxfev": 8000,
                "adaptive": True,
            },
        )
    # Polish with a gradient method from where the simplex stopped, inside the bounds.
    polished = optimize.minimize(
        negative,
        np.clip(result.x, LOG_BOUNDS[:, 0], LOG_BOUNDS[:, 1]),
        method="L-BFGS-B",
        bounds=LOG_BOUNDS,
        options={"ftol": 1e-14, "gtol": 1e-9},
    )
    best = polished if polished.fun <= result.fun else result
    best_x = np.clip(best.x, LOG_BOUNDS[:, 0], LOG_BOUNDS[:, 1])
    params = Params(*np.exp(best_x).tolist())
    return FitResult(
        params=params,
        model=model,
        customers=customers,
        log_likelihood=float(-best.fun * customers),
        converged=bool(result.success or polished.success),
    )


def p_alive(params: Params | tuple, x, t_x, T, *, model: str = MODEL) -> np.ndarray:
    """Probability that each customer is still alive at ``T``."""
    r, alpha, a, b = params.as_tuple() if isinstance(params, Params) else params
    x, t_x, T = _arrays(x, t_x, T)
    log_ratio = (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    if model == BGNBD:
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = np.where(
                x > 0, a / np.maximum(b + x - 1, 1e-300) * np.exp(np.minimum(log_ratio, 700)), 0.0
            )
    else:
        odds = a / (b + x) * np.exp(np.minimum(log_ratio, 700))
    return 1.0 / (1.0 + odds)


def expected_purchases(
    params: Params | tuple, t: float, x, t_x, T, *, model: str = MODEL
) -> np.ndarray:
    """Expected number of purchases in the next ``t`` time units for each customer."""
    r, alpha, a, b = params.as_tuple() if isinstance(params, Params) else params
    if abs(a - 1.0) < 1e-6:  # the closed form divides by a - 1
        a = 1.0 + 1e-6
    x, t_x, T = _arrays(x, t_x, T)
    z = t / (alpha + T + t)
    decay = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
    if model == BGNBD:
        head = (a + b + x - 1) / (a - 1)
        hyper = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    else:
        head = (a + b + x) / (a - 1)
        hyper = special.hyp2f1(r + x, b + x + 1, a + b + x, z)
    alive = p_alive((r, alpha, a, b), x, t_x, T, model=model)
    return np.maximum(0.0, head * (1 - decay * hyper) * alive)


def expected_purchases_new(params: Params | tuple, t: float, *, model: str = MODEL) -> float:
    """Expected purchases in ``t`` of a customer just acquired (the population mean)."""
    r, alpha, a, b = params.as_tuple() if isinstance(params, Params) else params
    if abs(a - 1.0) < 1e-6:
        a = 1.0 + 1e-6
    z = t / (alpha + t)
    if model == BGNBD:
        return float(
            (a + b - 1)
            / (a - 1)
            * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b, a + b - 1, z))
        )
    return float(
        b / (a - 1) * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b + 1, a + b, z))
    )


def simulate(params: Params, *, customers: int, T: float, model: str = MODEL, seed: int = 0):
    """Draw (x, t_x, T) for ``customers`` customers observed for ``T`` from their first purchase
    (used to check that a fit recovers the parameters it was drawn from)."""
    rng = np.random.default_rng(seed)
    rates = rng.gamma(params.r, 1.0 / params.alpha, size=customers)
    death = rng.beta(params.a, params.b, size=customers)
    x = np.zeros(customers)
    t_x = np.zeros(customers)
    for i in range(customers):
        alive = not (model == MBGNBD and rng.random() < death[i])
        now = 0.0
        while alive:
            now += rng.exponential(1.0 / rates[i])
            if now > T:
                break
            x[i] += 1
            t_x[i] = now
            if rng.random() < death[i]:
                alive = False
    return x, t_x, np.full(customers, float(T))
