"""MBG/NBD: the modified BG/NBD, where a customer may also drop out right after the first purchase
(Batislam, Denizel & Filiztekin 2007)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import digamma, expit, gammaln

from ._base import Histories, TransactionModel, dot, draw_arrivals, euler_core, purchase_rate_start

__all__ = ["ModifiedBetaGeoModel"]


class ModifiedBetaGeoModel(TransactionModel):
    """MBG/NBD model (Batislam, Denizel & Filiztekin 2007).

    As :class:`~loyalty_metrics.models.BetaGeoModel`, except that the customer may also
    become inactive at time 0, right after the first purchase, with probability
    ``p ~ Beta(a, b)``; so a customer without repeat purchases is not assumed alive.

    Parameters
    ----------
    time_unit : {"D", "W"}, default "D"
        Unit of the model's time (days, or weeks = days / 7); summaries in days are
        converted on input.
    max_iter : int, default 2000
        Iterations allowed to the optimiser.

    Attributes
    ----------
    r_, alpha_, a_, b_ : float
        Fitted parameters; ``params_``, ``covariance_``, ``log_likelihood_``, ``aic_`` as for
        the BG/NBD model.

    Notes
    -----
    ``L = B(a, b+x+1)/B(a, b) * Gamma(r+x) alpha^r / (Gamma(r) (alpha+T)^(r+x))
    + B(a+1, b+x)/B(a, b) * Gamma(r+x) alpha^r / (Gamma(r) (alpha+t_x)^(r+x))``, for every
    ``x`` including 0; ``P(alive) = 1 / (1 + a/(b+x) * ((alpha+T)/(alpha+t_x))^(r+x))``.
    On the CDNOW sample (weeks) it gives r = 0.525, alpha = 6.183, a = 0.891, b = 1.614, the
    estimates of BTYDplus and lifetimes.

    Examples
    --------
    >>> model = ModifiedBetaGeoModel.from_params(r=0.525, alpha=6.183, a=0.891, b=1.614)
    >>> round(model.expected_purchases_new_customer(39.0), 4)
    1.183
    """

    _param_names = ("r", "alpha", "a", "b")
    _time_params = ("alpha",)

    def _initial(self, h: Histories) -> np.ndarray:
        return np.array([1.0, purchase_rate_start(h), 1.0, 2.0])

    def _loglik(
        self, theta: np.ndarray, h: Histories, *, grad: bool = True, per_row: bool = False
    ) -> tuple[Any, np.ndarray]:
        return mbgnbd_loglik(theta, h, grad=grad, per_row=per_row)

    def _p_alive(self, theta: np.ndarray, h: Histories) -> np.ndarray:
        r, alpha, a, b = theta
        log_odds_dead = (
            np.log(a) - np.log(b + h.x) + (r + h.x) * np.log1p((h.T - h.tx) / (alpha + h.tx))
        )
        return expit(-log_odds_dead)

    def _expected(self, theta: np.ndarray, t: np.ndarray, h: Histories) -> np.ndarray:
        r, alpha, a, b = theta
        # Active customers' p has the posterior Beta(a, b + x + 1).
        active = euler_core(t, h, alpha, a, b + h.x_values + 1, a + b - r, r + h.x_values)
        return self._p_alive(theta, h) * active

    def _draw(
        self, theta: np.ndarray, T: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        r, alpha, a, b = theta
        n = len(T)
        lam = rng.gamma(r, 1.0 / alpha, n)
        p = np.clip(rng.beta(a, b, n), 1e-12, 1.0)
        # Inactive after J - 1 repeat purchases (possibly right after the first purchase).
        return draw_arrivals(rng, lam, T, cap=rng.geometric(p) - 1)


def mbgnbd_loglik(
    theta: np.ndarray, h: Histories, *, grad: bool = True, per_row: bool = False
) -> tuple[Any, np.ndarray]:
    """MBG/NBD log-likelihood (weighted total, or per distinct row) and its gradient in
    log-parameters (``x``-only terms once per distinct ``x``)."""
    r, alpha, a, b = theta
    xv = h.x_values
    log_alpha = math.log(alpha)
    common = gammaln(a + b) - gammaln(b) - gammaln(r) + r * log_alpha
    by_x = gammaln(r + xv) + gammaln(b + xv + 1) - gammaln(a + b + xv + 1)
    c4 = math.log(a) - np.log(b + xv)
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
    pi4 = expit(a4 - a3)
    w4 = h.w * pi4
    w4_by_x = np.bincount(h.x_code, weights=w4, minlength=len(xv))
    psi_ab = digamma(a + b) - digamma(a + b + xv + 1)
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
    d_b = (
        dot(h.w_by_x, psi_ab + digamma(b + xv + 1)) - n * digamma(b) - dot(w4_by_x, 1.0 / (b + xv))
    )
    return total, np.array([d_r, d_alpha, d_a, d_b]) * theta
