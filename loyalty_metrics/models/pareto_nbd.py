"""Pareto/NBD: Poisson purchasing with exponential lifetimes, both gamma-heterogeneous
(Schmittlein, Morrison & Colombo 1987)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import digamma, expit, gammaln

from ._base import (
    Histories,
    TransactionModel,
    _pow_integral,
    dot,
    draw_arrivals,
    purchase_rate_start,
)

__all__ = ["ParetoNBDModel"]

# Gauss-Legendre rule used on the log-concave integrand of the likelihood (see Notes).
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(32)
# The rule covers the range where the integrand is within exp(-45) of its maximum.
_LEVEL = 45.0
_CHUNK = 8192


class ParetoNBDModel(TransactionModel):
    """Pareto/NBD model (Schmittlein, Morrison & Colombo 1987; Fader & Hardie 2005 notes).

    While active a customer buys at rate ``lambda ~ Gamma(r, alpha)``; their lifetime is
    exponential with rate ``mu ~ Gamma(s, beta)``.

    Parameters
    ----------
    time_unit : {"D", "W"}, default "D"
        Unit of the model's time (days, or weeks = days / 7); summaries in days are
        converted on input.
    max_iter : int, default 2000
        Iterations allowed to the optimiser.

    Attributes
    ----------
    r_, alpha_, s_, beta_ : float
        Fitted parameters; ``params_``, ``covariance_``, ``log_likelihood_``, ``aic_`` as for
        the BG/NBD model.

    Notes
    -----
    The likelihood of a customer with ``x`` repeat purchases, the last at ``t_x``, observed
    for ``T``, is

    ``L = Gamma(r+x) alpha^r beta^s / Gamma(r) * [(alpha+T)^-(r+x) (beta+T)^-s + s I]``,
    ``I = integral from t_x to T of (alpha+tau)^-(r+x) (beta+tau)^-(s+1) d tau``.

    Fader & Hardie (2005, eq. 19-20) write ``(r+s+x) I`` as a difference of two Gaussian
    hypergeometric functions ``2F1(r+s+x, s+1 or r+x; r+s+x+1; z)`` at ``t_x`` and ``T``.
    Evaluated with :func:`scipy.special.hyp2f1` that form overflows for large ``x`` (the
    factor ``(1-z)^-(r+x)``), and its Euler transform ``2F1(1, .; .; z)`` returns NaN or
    inf for many customers with ``x`` in the hundreds and ``z`` near 1. So ``I`` is
    evaluated directly: in ``l = log(tau + min(alpha, beta))`` the integrand is log-concave
    with log-slope bounded by ``r+s+x+1``, and a 32-point Gauss-Legendre rule over the
    range where it is within ``exp(-45)`` of its maximum gives ``log I`` to ~1e-13
    relative, in log space, for any ``x``. The same nodes give the analytic gradient.

    Examples
    --------
    >>> import pandas as pd
    >>> model = ParetoNBDModel.from_params(r=0.5534, alpha=10.5802, s=0.6061, beta=11.6562,
    ...                                    time_unit="W")
    >>> summary = pd.DataFrame({"frequency": [26], "recency": [30.86 * 7], "T": [31.0 * 7]})
    >>> round(float(model.probability_alive(summary).iloc[0]), 4)
    0.9979
    """

    _param_names = ("r", "alpha", "s", "beta")
    _time_params = ("alpha", "beta")

    def _initial(self, h: Histories) -> np.ndarray:
        return np.array([1.0, purchase_rate_start(h), 1.0, 10.0])

    def _loglik(
        self, theta: np.ndarray, h: Histories, *, grad: bool = True, per_row: bool = False
    ) -> tuple[Any, np.ndarray]:
        return paretonbd_loglik(theta, h, grad=grad, per_row=per_row)

    def _p_alive(self, theta: np.ndarray, h: Histories) -> np.ndarray:
        r, alpha, s, beta = theta
        log_i = pareto_log_integral(r, alpha, s, beta, h.x, h.tx, h.T)[0]
        b1 = -(r + h.x) * np.log(alpha + h.T) - s * np.log(beta + h.T)
        return expit(b1 - (math.log(s) + log_i))

    def _expected(self, theta: np.ndarray, t: np.ndarray, h: Histories) -> np.ndarray:
        r, alpha, s, beta = theta
        active_time = (beta + h.T) * _pow_integral(np.log1p(t / (beta + h.T)), s - 1)
        return self._p_alive(theta, h) * (r + h.x) / (alpha + h.T) * active_time

    def _draw(
        self, theta: np.ndarray, T: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        r, alpha, s, beta = theta
        n = len(T)
        lam = rng.gamma(r, 1.0 / alpha, n)
        mu = np.maximum(rng.gamma(s, 1.0 / beta, n), 1e-300)
        lifetime = rng.exponential(1.0, n) / mu
        return draw_arrivals(rng, lam, np.minimum(lifetime, T))


def pareto_log_integral(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    x: np.ndarray,
    tx: np.ndarray,
    T: np.ndarray,
    *,
    moments: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """``log I`` with ``I = int_{t_x}^{T} (alpha+tau)^-(r+x) (beta+tau)^-(s+1) d tau``.

    With ``moments=True`` also returns, per row, the means of ``log(alpha+tau)``,
    ``1/(alpha+tau)``, ``log(beta+tau)`` and ``1/(beta+tau)`` under the normalised
    integrand (a ``(4, n)`` array): the derivatives of ``log I``. ``I = 0`` (``t_x = T``)
    gives ``-inf`` and zero moments.
    """
    n = len(x)
    log_i = np.empty(n)
    mom = np.zeros((4, n)) if moments else None
    for start in range(0, n, _CHUNK):
        part = slice(start, min(start + _CHUNK, n))
        out = _log_integral_chunk(r, alpha, s, beta, x[part], tx[part], T[part], moments)
        log_i[part] = out[0]
        if mom is not None:
            mom[:, part] = out[1]
    return log_i, mom


def _log_integral_chunk(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    x: np.ndarray,
    tx: np.ndarray,
    T: np.ndarray,
    moments: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    rho = r + x
    m = min(alpha, beta)
    gap = abs(alpha - beta)
    log_gap = math.log(gap) if gap > 0 else -math.inf
    alpha_larger = alpha >= beta
    # In l = log(tau + m): psi(l) = c1 l - c2 log(gap + e^l), concave (c2 > 0).
    if alpha_larger:
        c1, c2 = np.full_like(rho, -s), rho
    else:
        c1, c2 = 1.0 - rho, np.full_like(rho, s + 1.0)

    def psi(ell: np.ndarray, c1: np.ndarray = c1, c2: np.ndarray = c2) -> np.ndarray:
        return c1 * ell - c2 * np.logaddexp(log_gap, ell)

    def dpsi(ell: np.ndarray, c1: np.ndarray = c1, c2: np.ndarray = c2) -> np.ndarray:
        return c1 - c2 * expit(ell - log_gap)

    l0 = np.log(tx + m)
    l1 = np.log(T + m)
    # Maximum of psi on [l0, l1]: at l0 unless psi rises first (alpha < beta and r+x < 1).
    mode = l0.copy()
    if not alpha_larger and gap > 0:
        rising = rho < 1
        if rising.any():
            inner = log_gap + np.log(np.where(rising, 1 - rho, 1.0) / (s + rho))
            mode = np.where(rising, np.clip(inner, l0, l1), l0)
    peak = psi(mode)
    target = peak - _LEVEL
    # Ends of the range where psi >= peak - LEVEL (Newton from outside converges
    # monotonically for a concave function; approximate ends only widen the range a bit).
    right = l1.copy()
    todo = psi(right) < target
    for _ in range(60):
        if not todo.any():
            break
        slope = np.minimum(dpsi(right), -1e-300)
        step = np.where(todo, (psi(right) - target) / slope, 0.0)
        right = np.clip(right - step, mode, l1)
        todo &= np.abs(step) > 1e-9 * (1 + np.abs(right))
    left = l0.copy()
    todo = psi(left) < target
    for _ in range(60):
        if not todo.any():
            break
        slope = np.maximum(dpsi(left), 1e-300)
        step = np.where(todo, (psi(left) - target) / slope, 0.0)
        left = np.clip(left - step, l0, mode)
        todo &= np.abs(step) > 1e-9 * (1 + np.abs(left))
    half = (right - left) / 2
    nodes = (left + half)[:, None] + half[:, None] * _NODES[None, :]
    log_far = np.logaddexp(log_gap, nodes)  # log of (the larger of alpha, beta) + tau
    values = c1[:, None] * nodes - c2[:, None] * log_far - peak[:, None]
    weights = _WEIGHTS[None, :] * np.exp(values)
    mass = weights.sum(axis=1)
    total = mass * half
    positive = total > 0
    log_i = np.where(positive, peak + np.log(np.where(positive, total, 1.0)), -np.inf)
    if not moments:
        return log_i, None
    weights /= np.where(positive, mass, 1.0)[:, None]
    log_a, log_b = (log_far, nodes) if alpha_larger else (nodes, log_far)
    mom = np.stack(
        [
            np.einsum("ij,ij->i", weights, log_a),
            np.einsum("ij,ij->i", weights, np.exp(-log_a)),
            np.einsum("ij,ij->i", weights, log_b),
            np.einsum("ij,ij->i", weights, np.exp(-log_b)),
        ]
    )
    return log_i, np.where(positive[None, :], mom, 0.0)


def paretonbd_loglik(
    theta: np.ndarray, h: Histories, *, grad: bool = True, per_row: bool = False
) -> tuple[Any, np.ndarray]:
    """Pareto/NBD log-likelihood (weighted total, or per distinct row) and its gradient in
    log-parameters (analytic: the integral's derivatives are moments on the same nodes)."""
    r, alpha, s, beta = theta
    xv = h.x_values
    rho = r + h.x
    log_i, mom = pareto_log_integral(
        r, alpha, s, beta, h.x, h.tx, h.T, moments=grad and not per_row
    )
    log_alpha_T = np.log(alpha + h.T_values)[h.T_code]
    log_beta_T = np.log(beta + h.T_values)[h.T_code]
    common = -gammaln(r) + r * math.log(alpha) + s * math.log(beta)
    by_x = gammaln(r + xv)
    b1 = -rho * log_alpha_T - s * log_beta_T
    b2 = math.log(s) + log_i
    mix = np.logaddexp(b1, b2)
    if per_row:
        return common + by_x[h.x_code] + mix, np.empty(0)
    n = h.w.sum()
    total = float(n * common + dot(h.w_by_x, by_x) + dot(h.w, mix))
    if not grad:
        return total, np.empty(0)
    p2 = expit(b2 - b1)  # posterior weight of "inactive before T"
    p1 = 1.0 - p2
    assert mom is not None  # asked for: grad and not per_row
    e_log_a, e_inv_a, e_log_b, e_inv_b = mom
    inv_alpha_T = (1.0 / (alpha + h.T_values))[h.T_code]
    inv_beta_T = (1.0 / (beta + h.T_values))[h.T_code]
    w1, w2 = h.w * p1, h.w * p2
    d_r = (
        dot(h.w_by_x, digamma(r + xv))
        + n * (math.log(alpha) - digamma(r))
        - dot(w1, log_alpha_T)
        - dot(w2, e_log_a)
    )
    d_alpha = n * r / alpha - dot(w1 * rho, inv_alpha_T) - dot(w2 * rho, e_inv_a)
    d_s = n * math.log(beta) - dot(w1, log_beta_T) + w2.sum() / s - dot(w2, e_log_b)
    d_beta = n * s / beta - s * dot(w1, inv_beta_T) - (s + 1) * dot(w2, e_inv_b)
    return total, np.array([d_r, d_alpha, d_s, d_beta]) * theta
