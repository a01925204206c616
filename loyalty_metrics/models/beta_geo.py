"""BG/NBD: the beta-geometric / negative binomial model of repeat purchasing (Fader, Hardie & Lee 2005)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import digamma, expit, gammaln

from ._base import Histories, TransactionModel, dot, draw_arrivals, euler_core, purchase_rate_start

__all__ = ["BetaGeoModel"]


class BetaGeoModel(TransactionModel):
    """BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

    While active, a customer buys at rate ``lambda ~ Gamma(r, alpha)``; after each repeat
    purchase they become inactive with probability ``p ~ Beta(a, b)``.

    Parameters
    ----------
    time_unit : {"D", "W"}, default "D"
        Unit of the model's time: days, or weeks (days / 7, unrounded, as in the paper).
        Summaries are in days (:func:`loyalty_metrics.customer_summary`) and converted on
        input; horizons ``t`` and ``alpha`` are in this unit.
    max_iter : int, default 2000
        Iterations allowed to the optimiser.

    Attributes
    ----------
    r_, alpha_, a_, b_ : float
        Fitted parameters (``alpha_`` per time unit).
    params_ : pandas.Series
        The same, indexed by name.
    covariance_ : pandas.DataFrame
        Their covariance (delta method from the Hessian of the log-likelihood).
    log_likelihood_, aic_ : float
        Maximised log-likelihood and ``2k - 2 LL``.

    Notes
    -----
    Log-likelihood of a customer with ``x`` repeat purchases, last at ``t_x``, observed for
    ``T`` (all terms in log space, so thousands of purchases neither overflow nor underflow):

    ``L = B(a, b+x)/B(a, b) * Gamma(r+x) alpha^r / (Gamma(r) (alpha+T)^(r+x))
    + [x > 0] B(a+1, b+x-1)/B(a, b) * Gamma(r+x) alpha^r / (Gamma(r) (alpha+t_x)^(r+x))``.

    Predictions use the paper's eq. (10) with the Gaussian hypergeometric function written
    through Euler's transformation, ``2F1(a+b-1-r, a-1; a+b+x-1; z)``, whose parameters stay
    small for large ``x`` (so it neither overflows nor loses accuracy). The model assumes
    ``a > 1`` for the expected purchases of a new customer to be finite over infinite time;
    finite horizons are fine for any ``a != 1``.

    Examples
    --------
    >>> import pandas as pd
    >>> model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    >>> round(model.expected_purchases_new_customer(78), 4)
    1.8605
    >>> summary = pd.DataFrame({"frequency": [2], "recency": [30.43 * 7], "T": [38.86 * 7]})
    >>> round(float(model.expected_purchases(39, summary).iloc[0]), 3)
    1.226
    """

    _param_names = ("r", "alpha", "a", "b")
    _time_params = ("alpha",)

    def _initial(self, h: Histories) -> np.ndarray:
        return np.array([1.0, purchase_rate_start(h), 1.0, 2.0])

    def _loglik(
        self, theta: np.ndarray, h: Histories, *, grad: bool = True, per_row: bool = False
    ) -> tuple[Any, np.ndarray]:
        return bgnbd_loglik(theta, h, grad=grad, per_row=per_row)

    def _p_alive(self, theta: np.ndarray, h: Histories) -> np.ndarray:
        r, alpha, a, b = theta
        rep = h.x > 0
        log_odds_dead = (
            np.log(a)
            - np.log(b + np.maximum(h.x, 1) - 1)
            + (r + h.x) * np.log1p((h.T - h.tx) / (alpha + h.tx))
        )
        return np.where(rep, expit(-log_odds_dead), 1.0)

    def _expected(self, theta: np.ndarray, t: np.ndarray, h: Histories) -> np.ndarray:
        r, alpha, a, b = theta
        # Active customers' p has the posterior Beta(a, b + x).
        active = euler_core(t, h, alpha, a, b + h.x_values, a + b - 1 - r, r + h.x_values)
        return self._p_alive(theta, h) * active

    def _draw(
        self, theta: np.ndarray, T: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        r, alpha, a, b = theta
        n = len(T)
        lam = rng.gamma(r, 1.0 / alpha, n)
        p = np.clip(rng.beta(a, b, n), 1e-12, 1.0)
        # Inactive right after the J-th repeat purchase, J ~ Geometric(p) on 1, 2, ...
        return draw_arrivals(rng, lam, T, cap=rng.geometric(p))


def bgnbd_loglik(
    theta: np.ndarray, h: Histories, *, grad: bool = True, per_row: bool = False
) -> tuple[Any, np.ndarray]:
    """BG/NBD log-likelihood (weighted total, or per distinct row) and its gradient in
    log-parameters. Terms that depend on ``x`` alone are computed once per distinct ``x``,
    the logarithms of ``alpha + T`` and ``alpha + t_x`` once per distinct value."""
    r, alpha, a, b = theta
    xv = h.x_values
    log_alpha = math.log(alpha)
    common = gammaln(a + b) - gammaln(b) - gammaln(r) + r * log_alpha
    by_x = gammaln(r + xv) + gammaln(b + xv) - gammaln(a + b + xv)
    # log of the weight of "inactive right after the last purchase", x > 0 only
    c4 = np.where(xv > 0, math.log(a) - np.log(b + np.maximum(xv, 1) - 1), -np.inf)
    log_alpha_T = np.log(alpha + h.T_values)[h.T_code]
    log_alpha_tx = np.log(alpha + h.tx_values)[h.tx_code]
    rx = r + h.x
    a3 = -rx * log_alpha_T
    a4 = c4[h.x_code] - rx * log_alpha_tx
    mix = np.logaddexp(a3, a4)
    if per_row:
        return common + by_x[h.x_code] + mix, np.empty(0)
    n = h.w.sum()
    total = float(n * common + dot(h.w_by_x, by_x) + dot(h.w, mix))
    if not grad:
        return total, np.empty(0)
    pi4 = expit(a4 - a3)  # posterior weight of "inactive after the last purchase"
    w4 = h.w * pi4
    w4_by_x = np.bincount(h.x_code, weights=w4, minlength=len(xv))
    psi_ab = digamma(a + b) - digamma(a + b + xv)
    inv_T = (1.0 / (alpha + h.T_values))[h.T_code]
    inv_tx = (1.0 / (alpha + h.tx_values))[h.tx_code]
    d_r = (
        dot(h.w_by_x, digamma(r + xv))
        + n * (log_alpha - digamma(r))
        - dot(h.w, log_alpha_T)
        - dot(w4, log_alpha_tx - log_alpha_T)
    )
    d_alpha = n * r / alpha - dot(h.w * rx, inv_T) - dot(w4 * rx, inv_tx - inv_T)
    d_a = dot(h.w_by_x, psi_ab) + w4.sum() / a
    inv_b = np.where(xv > 0, 1.0 / (b + np.maximum(xv, 1) - 1), 0.0)
    d_b = dot(h.w_by_x, psi_ab + digamma(b + xv)) - n * digamma(b) - dot(w4_by_x, inv_b)
    return total, np.array([d_r, d_alpha, d_a, d_b]) * theta
