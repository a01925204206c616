"""Gamma-Gamma model of spend per purchase (Fader & Hardie 2013; Colombo & Jiang 1999)."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from ..errors import DataValidationError, ModelFitError
from ._base import (
    ModelAssumptionWarning,
    check_level,
    check_max_iter,
    covariance_from_hessian,
    dot,
    fit_weights,
    maximize,
    next_steps,
    require_columns,
    rng_from,
    summary_table,
    warn_if_barely_identified,
)

__all__ = ["GammaGammaModel"]

_NAMES = ("p", "q", "gamma")


class GammaGammaModel:
    """Gamma-Gamma spend model: the mean spend per repeat purchase, shrunk toward the population.

    Each purchase of a customer is worth ``z ~ Gamma(p, nu)``, and the customer's ``nu`` varies
    as ``Gamma(q, gamma)`` across customers; so the customer's mean spend is
    ``p / nu`` and the model's estimate of it, given ``x`` repeat purchases averaging ``m``,
    is a weighted mean of the population mean ``p gamma / (q - 1)`` and ``m``.

    Parameters
    ----------
    corr_threshold : float, default 0.3
        :meth:`fit` warns (:class:`~loyalty_metrics.models.ModelAssumptionWarning`) when the
        Pearson correlation between ``frequency`` and ``monetary_value`` among the fitted
        customers exceeds this in absolute value: the model assumes spend per purchase does
        not depend on how often a customer buys.
    max_iter : int, default 2000
        Iterations allowed to the optimiser.

    Attributes
    ----------
    p_, q_, gamma_ : float
        Fitted parameters (``gamma_`` in the currency of ``monetary_value``).
    params_ : pandas.Series
        The same, indexed by name.
    covariance_ : pandas.DataFrame
        Their covariance (delta method from the Hessian of the log-likelihood).
    log_likelihood_, aic_ : float
        Maximised log-likelihood and ``2k - 2 LL``.
    n_customers_ : int
        Customers used: ``frequency > 0`` and ``monetary_value > 0``.
    frequency_monetary_corr_ : float
        The correlation checked by ``corr_threshold``.

    Notes
    -----
    Fitted on customers with at least one repeat purchase, whose ``monetary_value`` is the
    mean spend of their repeat purchase days (the first purchase excluded), as
    :func:`loyalty_metrics.customer_summary` gives it. Customers whose mean is 0 (free
    orders only) cannot be fitted by a gamma density and are left out with a warning.
    Log-likelihood per customer with ``x`` purchases of mean ``m``:

    ``log Gamma(px+q) - log Gamma(px) - log Gamma(q) + q log gamma + (px-1) log m
    + px log x - (px+q) log(gamma + x m)``.

    Expected mean spend: ``p (gamma + x m) / (p x + q - 1)``; for ``x = 0`` the population
    mean ``p gamma / (q - 1)``, NaN when ``q <= 1`` (the mean does not exist).

    Examples
    --------
    >>> import pandas as pd
    >>> model = GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44)
    >>> summary = pd.DataFrame({"frequency": [2, 1, 0], "monetary_value": [29.6, 11.77, None]})
    >>> model.expected_average_value(summary).round(2).tolist()
    [30.61, 18.92, 35.22]
    """

    def __init__(self, *, corr_threshold: float = 0.3, max_iter: int = 2000) -> None:
        self.corr_threshold = corr_threshold
        self.max_iter = max_iter

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters (scikit-learn convention).

        Examples
        --------
        >>> GammaGammaModel().get_params()
        {'corr_threshold': 0.3, 'max_iter': 2000}
        """
        return {"corr_threshold": self.corr_threshold, "max_iter": self.max_iter}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    @classmethod
    def from_params(cls, *, p: float, q: float, gamma: float) -> GammaGammaModel:
        """A model with the given parameters, as if fitted (standard errors are NaN).

        Examples
        --------
        >>> GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44).q_
        3.74
        """
        values = np.array([p, q, gamma], dtype="float64")
        if not (np.isfinite(values).all() and (values > 0).all()):
            raise ValueError(
                f"GammaGammaModel parameters must be finite and > 0; got p={p}, q={q}, gamma={gamma}."
            )
        model = cls()
        model._set_fit(values, None, np.nan, 0, np.nan)
        return model

    def _set_fit(
        self, values: np.ndarray, log_cov: np.ndarray | None, loglik: float, n: int, corr: float
    ) -> None:
        self.params_ = pd.Series(
            values, index=pd.Index(list(_NAMES), name="parameter"), name="estimate"
        )
        self.p_, self.q_, self.gamma_ = (float(v) for v in values)
        self._log_covariance = log_cov
        cov = np.full((3, 3), np.nan) if log_cov is None else log_cov * np.outer(values, values)
        self.covariance_ = pd.DataFrame(cov, index=list(_NAMES), columns=list(_NAMES))
        self.log_likelihood_ = float(loglik)
        self.aic_ = 6 - 2 * self.log_likelihood_
        self.n_customers_ = int(n)
        self.frequency_monetary_corr_ = float(corr)

    def _check_fitted(self) -> np.ndarray:
        if not hasattr(self, "params_"):
            raise ModelFitError(
                "This GammaGammaModel is not fitted yet: call fit(summary) (or from_params(...)) first."
            )
        return self.params_.to_numpy(dtype="float64")

    def fit(self, summary: pd.DataFrame, *, weights: Any = None) -> GammaGammaModel:
        """Fit by maximum likelihood on the repeat customers of a summary.

        Parameters
        ----------
        summary : pandas.DataFrame
            Columns ``frequency`` and ``monetary_value`` (as made by
            :func:`loyalty_metrics.customer_summary`); rows with ``frequency == 0`` are
            ignored.
        weights : array-like, optional
            How many customers each row stands for (whole counts), e.g. the distinct
            (frequency, monetary_value) rows of :func:`loyalty_metrics.engines.rfm_counts`
            with ``what="spend"``: the parameters equal those of a fit on the full summary.

        Returns
        -------
        self

        Raises
        ------
        ModelFitError
            When fewer than two repeat customers with positive spend remain, or the
            optimiser does not converge.

        Warns
        -----
        ModelAssumptionWarning
            When ``|corr(frequency, monetary_value)| > corr_threshold`` among the fitted
            customers, or when customers with a zero mean spend were left out.

        Examples
        --------
        >>> truth = GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44)
        >>> frequency = pd.Series([1, 3, 10] * 400)
        >>> spend = truth.sample(frequency, seed=0)
        >>> model = GammaGammaModel().fit(pd.DataFrame({"frequency": frequency, "monetary_value": spend}))
        >>> model.params_.round(1).tolist()
        [10.7, 3.6, 8.6]
        """
        owner = type(self).__name__
        check_max_iter(owner, self.max_iter)
        if not (isinstance(self.corr_threshold, int | float) and 0 <= self.corr_threshold <= 1):
            raise ValueError(
                f"The 'corr_threshold' parameter of {owner} must be a number in [0, 1]. Got {self.corr_threshold!r} instead."
            )
        x, m, w = _repeat_spend(summary, owner, fit_weights(weights, len(summary), owner))
        zero = m <= 0
        if zero.any():
            left_out = int(zero.sum() if w is None else w[zero].sum())
            warnings.warn(
                f"{owner}: {left_out} repeat customer(s) with a mean spend of 0 were left "
                "out of the fit (a gamma density needs positive spend).",
                ModelAssumptionWarning,
                stacklevel=2,
            )
            x, m = x[~zero], m[~zero]
            w = None if w is None else w[~zero]
        n = len(x) if w is None else int(w.sum())
        if n < 2:
            raise ModelFitError(
                f"{owner} needs at least two customers with a repeat purchase and positive "
                f"spend; found {n}."
            )
        corr = _correlation(x, m, w)
        if abs(corr) > self.corr_threshold:
            warnings.warn(
                f"{owner}: frequency and monetary value are correlated (Pearson r = {corr:.2f}, "
                f"|r| > {self.corr_threshold}); the model assumes they are independent, so its "
                "spend estimates (and CLV) may be biased.",
                ModelAssumptionWarning,
                stacklevel=2,
            )
        scale = float(np.average(m, weights=w))  # spend rescaled to mean 1: gamma is O(1)
        data = _SpendData.build(x, m, w)
        scaled = data.rescaled(scale)

        def loglik(v: np.ndarray) -> tuple[float, np.ndarray]:
            return gamma_gamma_loglik(np.exp(v), scaled)

        x0 = np.log([1.0, 2.0, 1.0])
        try:
            fit = maximize(loglik, x0, _NAMES, owner=owner, n_obs=float(n), max_iter=self.max_iter)
        except ModelFitError as exc:
            raise ModelFitError(f"{exc} {next_steps(owner, None)}") from None
        values = np.exp(fit.log_params)
        values[2] *= scale
        natural_ll, _ = gamma_gamma_loglik(values, data, grad=False)
        self._set_fit(values, covariance_from_hessian(fit.hessian), natural_ll, n, corr)
        warn_if_barely_identified(owner, self.summary(level=0.95), next_steps(owner, None))
        return self

    def summary(self, *, level: float = 0.95) -> pd.DataFrame:
        """Estimates, standard errors and confidence intervals (as the purchase models').

        Examples
        --------
        >>> truth = GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44)
        >>> frequency = pd.Series([1, 3, 10] * 400)
        >>> data = pd.DataFrame({"frequency": frequency, "monetary_value": truth.sample(frequency, seed=0)})
        >>> list(GammaGammaModel().fit(data).summary().columns)
        ['estimate', 'std_error', 'ci_low', 'ci_high']
        """
        check_level(level)
        self._check_fitted()
        return summary_table(self.params_, self._log_covariance, level)

    def expected_average_value(self, summary: pd.DataFrame) -> pd.Series:
        """Expected spend per future purchase of each customer.

        Parameters
        ----------
        summary : pandas.DataFrame
            Columns ``frequency`` and ``monetary_value`` (NaN allowed where frequency is 0).

        Returns
        -------
        pandas.Series
            Indexed like ``summary``, in the currency of ``monetary_value``:
            ``p (gamma + x m) / (p x + q - 1)``; customers without repeat purchases get the
            population mean ``p gamma / (q - 1)`` (NaN if ``q <= 1``).

        Examples
        --------
        >>> model = GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44)
        >>> summary = pd.DataFrame({"frequency": [2, 0], "monetary_value": [22.35, None]})
        >>> model.expected_average_value(summary).round(2).tolist()
        [24.66, 35.22]
        """
        p, q, gamma = self._check_fitted()
        require_columns(summary, ("frequency", "monetary_value"), type(self).__name__)
        x = pd.to_numeric(summary["frequency"]).to_numpy(dtype="float64")
        m = pd.to_numeric(summary["monetary_value"]).to_numpy(dtype="float64", na_value=np.nan)
        xm = np.where(x > 0, x * np.nan_to_num(m, nan=0.0), 0.0)
        denominator = p * x + q - 1
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(denominator > 0, p * (gamma + xm) / denominator, np.nan)
        return pd.Series(value, index=summary.index, name="expected_average_value")

    def predict(self, summary: pd.DataFrame) -> pd.Series:
        """Alias of :meth:`expected_average_value` (scikit-learn naming).

        Examples
        --------
        >>> model = GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44)
        >>> model.predict(pd.DataFrame({"frequency": [2], "monetary_value": [22.35]})).round(2).tolist()
        [24.66]
        """
        return self.expected_average_value(summary)

    def sample(
        self, frequency: Any, *, seed: int | np.random.Generator | None = None
    ) -> pd.Series:
        """Draw each customer's mean spend over ``frequency`` purchases from the model.

        Parameters
        ----------
        frequency : array-like or pandas.Series
            Number of (repeat) purchases per customer; the index of a Series is kept.
        seed : int or numpy.random.Generator, optional
            Seed for reproducible draws.

        Returns
        -------
        pandas.Series
            ``monetary_value``: mean of ``frequency`` draws of ``Gamma(p, nu)`` with the
            customer's ``nu ~ Gamma(q, gamma)``; NaN where ``frequency`` is 0.

        Examples
        --------
        >>> model = GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44)
        >>> model.sample(pd.Series([0, 2]), seed=1).round(2).tolist()
        [nan, 26.26]
        """
        p, q, gamma = self._check_fitted()
        index = frequency.index if isinstance(frequency, pd.Series) else None
        x = np.asarray(frequency, dtype="float64")
        if (x < 0).any() or (x != np.round(x)).any():
            raise ValueError("The 'frequency' parameter must hold whole numbers >= 0.")
        rng = rng_from(seed)
        nu = rng.gamma(q, 1.0 / gamma, len(x))
        # The sum of x Gamma(p, nu) spends is Gamma(p x, nu).
        total = rng.gamma(np.where(x > 0, p * x, 1.0), 1.0 / nu)
        value = np.where(x > 0, total / np.maximum(x, 1), np.nan)
        return pd.Series(value, index=index, name="monetary_value")

    simulate = sample


def _repeat_spend(
    summary: pd.DataFrame, owner: str, w: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    require_columns(summary, ("frequency", "monetary_value"), owner)
    x = pd.to_numeric(summary["frequency"], errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan
    )
    m = pd.to_numeric(summary["monetary_value"], errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan
    )
    repeat = x > 0 if w is None else (x > 0) & (w > 0)
    x, m = x[repeat], m[repeat]
    w = None if w is None else w[repeat]
    bad = ~np.isfinite(m) | (m < 0) | (x != np.round(x))
    if bad.any():
        raise DataValidationError(
            f"{owner}: {int(bad.sum())} repeat customer(s) have a missing, negative or "
            "non-finite 'monetary_value' (or a fractional 'frequency').",
            table="summary",
        )
    return x, m, w


def _correlation(x: np.ndarray, m: np.ndarray, w: np.ndarray | None = None) -> float:
    if np.ptp(x) == 0 or np.ptp(m) == 0:
        return 0.0
    if w is None:
        return float(np.corrcoef(x, m)[0, 1])
    c = np.cov(x, m, fweights=w.astype("int64"), ddof=0)
    return float(c[0, 1] / math.sqrt(c[0, 0] * c[1, 1]))


@dataclass(frozen=True)
class _SpendData:
    """Sufficient statistics of the Gamma-Gamma likelihood: only ``log(x m + gamma)`` needs
    a pass over the customers at each evaluation; the rest is per distinct ``x``."""

    x: np.ndarray  # x of each row, times its weight when weighted
    xm: np.ndarray  # x * m: total repeat spend of each customer
    x_values: np.ndarray
    n_by_x: np.ndarray
    sum_log_m: float
    sum_x_log_xm: float  # sum of x log(x m)
    w: np.ndarray | None = None  # customers per row (None: one each)

    @classmethod
    def build(cls, x: np.ndarray, m: np.ndarray, w: np.ndarray | None = None) -> _SpendData:
        codes, x_values = pd.factorize(x)
        xm = x * m
        wx = x if w is None else x * w
        return cls(
            x=wx,
            xm=xm,
            x_values=np.asarray(x_values, dtype="float64"),
            n_by_x=np.bincount(codes, weights=w, minlength=len(x_values)).astype("float64"),
            sum_log_m=float(np.log(m).sum() if w is None else dot(w, np.log(m))),
            sum_x_log_xm=dot(wx, np.log(xm)),
            w=w,
        )

    @property
    def n(self) -> float:
        return float(len(self.x) if self.w is None else self.w.sum())

    def total(self, values: np.ndarray) -> float:
        """Sum of a per-row quantity over the customers."""
        return float(values.sum() if self.w is None else dot(self.w, values))

    def rescaled(self, scale: float) -> _SpendData:
        """The same customers with spend divided by ``scale``."""
        log_scale = math.log(scale)
        return _SpendData(
            x=self.x,
            xm=self.xm / scale,
            x_values=self.x_values,
            n_by_x=self.n_by_x,
            sum_log_m=self.sum_log_m - self.n * log_scale,
            sum_x_log_xm=self.sum_x_log_xm - float(self.x.sum()) * log_scale,
            w=self.w,
        )


def gamma_gamma_loglik(
    theta: np.ndarray, data: _SpendData, *, grad: bool = True
) -> tuple[float, np.ndarray]:
    """Gamma-Gamma log-likelihood (total) and its gradient in log-parameters.

    Per customer: ``log Gamma(px+q) - log Gamma(px) - log Gamma(q) + q log gamma
    + (px-1) log m + px log x - (px+q) log(x m + gamma)``; ``(px-1) log m + px log x =
    p x log(x m) - log m`` sums to constants times ``p``.
    """
    p, q, gamma = theta
    n = data.n
    xv = data.x_values
    log_total = np.log(data.xm + gamma)
    x_log_total = dot(data.x, log_total)
    sum_log_total = data.total(log_total)
    by_x = gammaln(p * xv + q) - gammaln(p * xv)
    total = (
        dot(data.n_by_x, by_x)
        - n * gammaln(q)
        + n * q * math.log(gamma)
        + p * data.sum_x_log_xm
        - data.sum_log_m
        - p * x_log_total
        - q * sum_log_total
    )
    if not grad:
        return total, np.empty(0)
    psi_all = digamma(p * xv + q)
    d_p = dot(data.n_by_x, xv * (psi_all - digamma(p * xv))) + data.sum_x_log_xm - x_log_total
    d_q = dot(data.n_by_x, psi_all) - n * digamma(q) + n * math.log(gamma) - sum_log_total
    inverse = 1.0 / (data.xm + gamma)
    d_gamma = n * q / gamma - p * dot(data.x, inverse) - q * data.total(inverse)
    return total, np.array([d_p, d_q, d_gamma]) * theta
