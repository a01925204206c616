"""Machinery shared by the predictive models: input checks, time units, fitting, inference.

Every model maximises its log-likelihood over the *logarithms* of its parameters (so they stay
positive), with analytic gradients, on the distinct rows of the input (customers with the same
frequency, recency and T share one likelihood term, weighted by their count). Standard errors
come from the Hessian of the log-likelihood in log-parameters (finite differences of the
analytic gradient), carried to the natural scale by the delta method. Large fits start from
the optimum of a 20,000-customer subsample and finish with Newton steps on all the data.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import hyp2f1

from .._stats import z_value
from ..errors import DataValidationError, LoyaltyWarning, ModelFitError, WeakFitWarning

__all__ = [
    "TIME_UNIT_ATTR",
    "ModelAssumptionWarning",
    "TimeUnit",
]

TimeUnit = Literal["D", "W"]

#: ``summary.attrs`` key naming the unit of ``recency``/``T``/``duration_holdout`` of a frame
#: (absent: days, as :func:`loyalty_metrics.customer_summary` gives them).
TIME_UNIT_ATTR = "loyalty_metrics.time_unit"

_DAYS_PER_UNIT = {"D": 1.0, "W": 7.0}
#: Days in an average month (365.25 / 12), used to turn months into the model's unit.
DAYS_PER_MONTH = 365.25 / 12
# Parameters live in [1e-8, 1e8] (after the data are rescaled to an O(1) time scale): an
# estimate on that bound means the data do not identify it, which is reported as an error.
_LOG_BOUND = math.log(1e8)
# A log-parameter whose standard error exceeds this is not identified by the data.
_MAX_SE_LOG = 5.0
# A 95% interval wider than this factor (ci_high / ci_low) is a barely identified parameter.
_WIDE_INTERVAL = 100.0
#: What a fit's caveats concern (for the report, which prints them next to these).
FIT_FIGURES = ("p_alive", "expected_purchases", "predictive_clv")


class ModelAssumptionWarning(LoyaltyWarning):
    """The data break an assumption of a model (e.g. Gamma-Gamma's independence of
    frequency and spend); the fit is done, but its predictions deserve caution.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", ModelAssumptionWarning)  # make it fatal in a pipeline
    ...     issubclass(ModelAssumptionWarning, UserWarning)
    True
    """


def check_option(owner: str, name: str, value: Any, allowed: Sequence[Any]) -> None:
    """Raise the scikit-learn-style error for a value outside a closed set."""
    if value not in allowed:
        options = "{" + ", ".join(repr(a) for a in allowed) + "}"
        raise ValueError(
            f"The {name!r} parameter of {owner} must be one of {options}. Got {value!r} instead."
        )


def frame_time_unit(frame: pd.DataFrame) -> str:
    """The unit of a frame's time columns: its ``attrs`` declaration, else days."""
    unit = frame.attrs.get(TIME_UNIT_ATTR, "D")
    return unit if unit in _DAYS_PER_UNIT else "D"


def unit_factor(frame: pd.DataFrame, time_unit: str) -> float:
    """Multiply the frame's time values by this to express them in ``time_unit``."""
    return _DAYS_PER_UNIT[frame_time_unit(frame)] / _DAYS_PER_UNIT[time_unit]


def months_to_unit(time_unit: str) -> float:
    """Length of one average month in ``time_unit`` (30.4375 days, 4.348 weeks)."""
    return DAYS_PER_MONTH / _DAYS_PER_UNIT[time_unit]


def _column(frame: pd.DataFrame, name: str, owner: str) -> np.ndarray:
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        first = frame.index[np.flatnonzero(bad)[0]]
        raise DataValidationError(
            f"{owner}: column {name!r} must hold finite numbers; {int(bad.sum())} row(s) do not "
            f"(first: {first!r}).",
            table="summary",
        )
    return values


def require_columns(frame: Any, columns: Sequence[str], owner: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"{owner} expects a DataFrame (e.g. customer_summary(orders)); got {type(frame).__name__}."
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"{owner}: the summary lacks column(s) {missing}; expected {list(columns)} as made by "
            "loyalty_metrics.customer_summary().",
            table="summary",
        )


def rfm_arrays(
    summary: pd.DataFrame, time_unit: str, owner: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``frequency``, ``recency``, ``T`` arrays in ``time_unit``."""
    require_columns(summary, ("frequency", "recency", "T"), owner)
    x = _column(summary, "frequency", owner)
    factor = unit_factor(summary, time_unit)
    tx = _column(summary, "recency", owner) * factor
    T = _column(summary, "T", owner) * factor
    problems = []
    if (x < 0).any() or (x != np.round(x)).any():
        problems.append("'frequency' must be whole numbers >= 0")
    if (tx < 0).any():
        problems.append("'recency' must be >= 0")
    if (tx > T * (1 + 1e-12) + 1e-12).any():
        problems.append("'recency' must not exceed 'T'")
    if ((x == 0) & (tx != 0)).any():
        problems.append("'recency' must be 0 where 'frequency' is 0")
    if problems:
        raise DataValidationError(
            f"{owner}: invalid summary: " + "; ".join(problems) + ".", table="summary"
        )
    return x, np.minimum(tx, T), T


def fit_weights(weights: Any, n: int, owner: str) -> np.ndarray | None:
    """Validated ``weights`` of ``fit``: whole counts >= 0, one per row (None stays None)."""
    if weights is None:
        return None
    w = np.asarray(weights, dtype="float64")
    if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any() or (w != np.round(w)).any():
        raise ValueError(
            f"The 'weights' parameter of {owner}.fit must be whole counts >= 0, one per row "
            f"({n}); got {w.shape[0] if w.ndim == 1 else w.shape} value(s)."
        )
    return w


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Inner product without BLAS: the likelihoods make many small reductions, and
    multithreaded BLAS threads spinning between them slow a shared machine several-fold."""
    return float(np.einsum("i,i->", a, b))


def factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes (in order of first appearance) and distinct values of a float array."""
    codes, uniques = pd.factorize(values)
    return codes.astype("int64"), np.asarray(uniques, dtype="float64")


def compress(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Distinct rows of the columns, their counts and each input row's distinct-row number.

    Likelihoods and predictions are computed once per distinct row: customers with the same
    history share every term (Fader & Hardie fit the CDNOW data the same way).
    """
    n = len(columns[0])
    if n == 0:
        return (
            [np.asarray(c, dtype="float64")[:0] for c in columns],
            np.zeros(0),
            np.zeros(0, dtype="int64"),
        )
    # Combine per-column codes into one integer key (hashing floats once per column is much
    # faster than hashing row tuples).
    key = np.zeros(n, dtype="int64")
    capacity = 1
    for column in columns:
        codes, uniques = factorize(np.asarray(column, dtype="float64"))
        if capacity * max(len(uniques), 1) >= 2**62:
            key, _ = factorize(key.astype("float64"))
            capacity = int(key.max()) + 1
        key = key * len(uniques) + codes
        capacity *= max(len(uniques), 1)
    codes, _ = pd.factorize(key)
    codes = codes.astype("int64")
    # pd.factorize numbers rows in order of first appearance: a new code starts where the
    # running maximum grows.
    running = np.maximum.accumulate(codes)
    first = np.flatnonzero(np.r_[True, running[1:] > running[:-1]])
    weights = np.bincount(codes).astype("float64")
    distinct = [np.asarray(c, dtype="float64")[first] for c in columns]
    return distinct, weights, codes


@dataclass(frozen=True)
class Histories:
    """Distinct (frequency, recency, T) rows with their counts, and the distinct values of
    each column, so that terms depending on one column are computed once per value."""

    x: np.ndarray
    tx: np.ndarray
    T: np.ndarray
    w: np.ndarray
    x_values: np.ndarray
    x_code: np.ndarray
    tx_values: np.ndarray
    tx_code: np.ndarray
    T_values: np.ndarray
    T_code: np.ndarray
    w_by_x: np.ndarray

    @classmethod
    def build(cls, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> Histories:
        x_code, x_values = factorize(x)
        tx_code, tx_values = factorize(tx)
        T_code, T_values = factorize(T)
        w_by_x = np.bincount(x_code, weights=w, minlength=len(x_values))
        return cls(x, tx, T, w, x_values, x_code, tx_values, tx_code, T_values, T_code, w_by_x)

    @cached_property
    def x_and_T(self) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """:func:`compress` of (``x_code``, ``T``): with one horizon for every row (the
        steps of a CLV, a holdout), the distinct rows of :func:`euler_core` are these."""
        return compress(self.x_code.astype("float64"), self.T)

    def rescaled(self, scale: float) -> Histories:
        """The same histories with time divided by ``scale``."""
        return Histories(
            self.x, self.tx / scale, self.T / scale, self.w, self.x_values, self.x_code,
            self.tx_values / scale, self.tx_code, self.T_values / scale, self.T_code, self.w_by_x,
        )  # fmt: skip

    def thinned(self, fraction: float, seed: int = 0) -> Histories:
        """A random subsample (each customer kept with probability ``fraction``)."""
        rng = np.random.default_rng(seed)
        w = rng.binomial(self.w.astype("int64"), fraction).astype("float64")
        keep = w > 0
        return Histories.build(self.x[keep], self.tx[keep], self.T[keep], w[keep])


def as_time_array(t: Any, n: int, name: str = "t") -> np.ndarray:
    """A scalar or ``n`` horizons as a float array (broadcast), validated >= 0."""
    values = np.asarray(t, dtype="float64")
    if values.ndim == 0:
        values = np.full(n, float(values))
    elif values.shape != (n,):
        raise ValueError(
            f"The {name!r} parameter must be a number or one value per customer ({n}); got shape {values.shape}."
        )
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError(f"The {name!r} parameter must be finite and >= 0.")
    return values


@dataclass(frozen=True)
class FitResult:
    """What :func:`maximize` found, in log-parameters."""

    log_params: np.ndarray
    log_likelihood: float
    hessian: np.ndarray  # of the total log-likelihood in log-parameters (negative definite)
    n_iter: int


def maximize(
    loglik: Callable[[np.ndarray], tuple[float, np.ndarray]],
    x0: np.ndarray,
    names: Sequence[str],
    *,
    owner: str,
    n_obs: float,
    max_iter: int,
    hessian0: np.ndarray | None = None,
) -> FitResult:
    """Maximise ``loglik`` (total log-likelihood and its gradient in log-parameters).

    From a cold start: L-BFGS-B on the mean negative log-likelihood within bounds, then
    Newton steps with the finite-difference Hessian to polish the optimum. From a warm
    start (``x0`` and ``hessian0``, the mean Hessian, from a subsample fit) Newton steps go
    first, and L-BFGS-B only runs if they fail. Raises :class:`ModelFitError` when the
    optimum is not reached, sits on a bound or is not a maximum.
    """
    scale = 1.0 / max(n_obs, 1.0)

    def objective(v: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            value, grad = loglik(v)
        if not np.isfinite(value) or not np.isfinite(grad).all():
            # Outside the region where the likelihood is representable: push back.
            return 1e300, np.zeros_like(v)
        return -value * scale, -grad * scale

    v = np.clip(np.asarray(x0, dtype="float64"), -_LOG_BOUND + 1, _LOG_BOUND - 1)
    f, g = objective(v)
    n_iter, message, converged, hessian = 0, "Newton steps from a warm start", False, None
    if hessian0 is not None and f < 1e300:
        v, f, g, hessian, converged, n_iter = _newton(objective, v, f, g, hessian0, fresh=False)
        if converged:
            hessian = _hessian(objective, v, g)  # at the optimum, for the standard errors
    if not converged:
        result = optimize.minimize(
            objective,
            v,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-_LOG_BOUND, _LOG_BOUND)] * len(v),
            options={"maxiter": max_iter, "ftol": 1e-13, "gtol": 1e-9, "maxcor": 20},
        )
        v = np.asarray(result.x, dtype="float64")
        f, g = objective(v)
        n_iter += int(result.nit)
        message = str(result.message)
        if f >= 1e300:
            raise ModelFitError(
                f"{owner} could not evaluate its likelihood near the optimum ({message}); "
                "check the summary (are recency and T in the expected time unit?)."
            )
        hessian = _hessian(objective, v, g)
        v, f, g, hessian, converged, steps = _newton(objective, v, f, g, hessian)
        n_iter += steps
    at_bound = [names[i] for i in range(len(v)) if abs(v[i]) > _LOG_BOUND - 1e-3]
    if at_bound:
        raise ModelFitError(
            f"{owner} did not converge: parameter(s) {at_bound} ran to the edge of [1e-8, 1e8] "
            "(after rescaling time to an O(1) scale), so the data do not identify them. Typical "
            "causes: too few repeat customers, or a time unit that leaves almost no time "
            "between purchases."
        )
    assert hessian is not None  # set by the Newton or the L-BFGS-B branch above
    try:
        np.linalg.cholesky(hessian)
        se_log = np.sqrt(np.diag(np.linalg.inv(hessian)) * scale)
    except np.linalg.LinAlgError:
        raise ModelFitError(
            f"{owner} stopped at a point that is not a maximum of the likelihood (its Hessian is "
            "not negative definite), so the parameters are not identified by these data."
        ) from None
    vague = [names[i] for i in range(len(v)) if not se_log[i] <= _MAX_SE_LOG]
    if vague:
        raise ModelFitError(
            f"{owner}: the data do not identify parameter(s) {vague}: the likelihood is flat "
            f"along them (standard error of the log-parameter > {_MAX_SE_LOG:g}, a 95% interval "
            "wider than a factor of 10^8) as they run towards 0 or infinity. Typical causes: no "
            "sign of customers dropping out (everyone still buying at the end), or too few "
            "repeat customers."
        )
    gradient_norm = float(np.max(np.abs(g)))
    if gradient_norm > 1e-5:
        raise ModelFitError(
            f"{owner} did not converge after {n_iter} iterations ({message}); the gradient of "
            f"the mean log-likelihood is still {gradient_norm:.2g}. Try max_iter={2 * max_iter}, "
            "or check the summary for extreme values."
        )
    return FitResult(
        log_params=v, log_likelihood=-f / scale, hessian=-hessian / scale, n_iter=n_iter
    )


def _newton(
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
    v: np.ndarray,
    f: float,
    g: np.ndarray,
    hessian: np.ndarray,
    *,
    fresh: bool = True,
    max_steps: int = 30,
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, bool, int]:
    """Newton steps with a backtracking line search; the Hessian is refreshed only when a
    step with the current one fails to improve (near the optimum one Hessian suffices).
    ``fresh=False`` marks a Hessian taken elsewhere (e.g. from a subsample)."""
    step_number = 0
    for step_number in range(max_steps):
        if np.max(np.abs(g)) < 1e-10:
            return v, f, g, hessian, True, step_number
        try:
            np.linalg.cholesky(hessian)
            step = -np.linalg.solve(hessian, g)
        except np.linalg.LinAlgError:
            step = None
        improved = False
        if step is not None and np.isfinite(step).all():
            for shrink in (1.0, 0.5, 0.25, 0.1, 0.01):
                candidate = np.clip(v + shrink * step, -_LOG_BOUND, _LOG_BOUND)
                fc, gc = objective(candidate)
                if fc < 1e300 and (
                    fc < f or (fc <= f + 1e-14 * abs(f) and np.max(np.abs(gc)) < np.max(np.abs(g)))
                ):
                    v, f, g, improved = candidate, fc, gc, True
                    break
        if improved:
            fresh = False
            continue
        if fresh:
            break
        hessian, fresh = _hessian(objective, v, g), True
    return v, f, g, hessian, bool(np.max(np.abs(g)) < 1e-9), step_number + 1


def _hessian(
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]], v: np.ndarray, g: np.ndarray
) -> np.ndarray:
    """Hessian of the objective by forward differences of its analytic gradient ``g`` at
    ``v`` (one gradient per parameter; ~1e-6 relative accuracy, ample for standard errors
    and Newton steps)."""
    k = len(v)
    h = 1e-6
    rows = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = h
        rows[i] = (objective(v + e)[1] - g) / h
    return (rows + rows.T) / 2


def covariance_from_hessian(hessian: np.ndarray) -> np.ndarray:
    """Covariance of the log-parameters: the inverse of the observed information."""
    return np.linalg.inv(-hessian)


def summary_table(
    params: pd.Series, log_covariance: np.ndarray | None, level: float
) -> pd.DataFrame:
    """Estimates, delta-method standard errors and log-scale Wald intervals."""
    estimate = params.to_numpy(dtype="float64")
    if log_covariance is None:
        se_log = np.full(len(estimate), np.nan)
    else:
        se_log = np.sqrt(np.clip(np.diag(log_covariance), 0, None))
    z = z_value(level)
    log_estimate = np.log(estimate)
    table = pd.DataFrame(
        {
            "estimate": estimate,
            "std_error": estimate * se_log,
            "ci_low": np.exp(np.clip(log_estimate - z * se_log, -700, 700)),
            "ci_high": np.exp(np.clip(log_estimate + z * se_log, -700, 700)),
        },
        index=pd.Index(params.index, name="parameter"),
    )
    return table


def warn_if_barely_identified(owner: str, table: pd.DataFrame, next_steps: str) -> None:
    """A :class:`WeakFitWarning` when a parameter's 95% interval spans more than a factor 100.

    ``table`` is :func:`summary_table` at the 95% level. Predictions that depend on such a
    parameter (the share of customers still active, say) are much less certain than their
    digits suggest.
    """
    ratio = table["ci_high"] / table["ci_low"]
    wide = ratio[ratio > _WIDE_INTERVAL]
    if wide.empty:
        return
    spans = ", ".join(
        f"{name} {table.loc[name, 'ci_low']:.3g}..{table.loc[name, 'ci_high']:.3g} "
        f"(a factor of {value:,.0f})"
        for name, value in wide.items()
    )
    warnings.warn(
        WeakFitWarning(
            f"{owner}: the data barely identify {', '.join(map(str, wide.index))}: 95% interval "
            f"{spans}. Predictions that depend on them (who is still active, expected "
            f"purchases, CLV) are far less certain than their digits suggest. {next_steps}",
            about=FIT_FIGURES,
        ),
        stacklevel=3,
    )


def next_steps(owner: str, time_unit: str | None) -> str:
    """What to try after a failed or weak fit: another model, more history, weekly units.

    Examples
    --------
    >>> print(next_steps("BetaGeoModel", "D"))
    Next: try another model (--model mbgnbd or --model pareto; ModifiedBetaGeoModel or ParetoNBDModel in Python), a longer calibration period (more history, or an earlier --start), or weekly units (--time-unit W; time_unit="W").
    """
    others = {
        "BetaGeoModel": ("mbgnbd", "pareto"),
        "ModifiedBetaGeoModel": ("bgnbd", "pareto"),
        "ParetoNBDModel": ("bgnbd", "mbgnbd"),
    }
    classes = {
        "bgnbd": "BetaGeoModel",
        "mbgnbd": "ModifiedBetaGeoModel",
        "pareto": "ParetoNBDModel",
    }
    steps = []
    if owner in others:
        options = " or ".join(f"--model {o}" for o in others[owner])
        names = " or ".join(classes[o] for o in others[owner])
        steps.append(f"another model ({options}; {names} in Python)")
    steps.append("a longer calibration period (more history, or an earlier --start)")
    if time_unit == "D":
        steps.append('weekly units (--time-unit W; time_unit="W")')
    if len(steps) == 1:
        return f"Next: try {steps[0]}."
    return "Next: try " + ", ".join(steps[:-1]) + ", or " + steps[-1] + "."


def check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"The 'level' parameter must be in (0, 1). Got {level!r} instead.")


def check_max_iter(owner: str, max_iter: Any) -> None:
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise ValueError(
            f"The 'max_iter' parameter of {owner} must be an int >= 1. Got {max_iter!r} instead."
        )


def rng_from(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def sample_ages(n_customers: int, T: Any) -> np.ndarray:
    if (
        isinstance(n_customers, bool)
        or not isinstance(n_customers, int | np.integer)
        or n_customers < 0
    ):
        raise ValueError(
            f"The 'n_customers' parameter must be an int >= 0. Got {n_customers!r} instead."
        )
    ages = np.asarray(T, dtype="float64")
    if ages.ndim == 0:
        ages = np.full(int(n_customers), float(ages))
    elif ages.shape != (n_customers,):
        raise ValueError(
            f"The 'T' parameter must be a number or n_customers values; got shape {ages.shape}."
        )
    if not np.isfinite(ages).all() or (ages < 0).any():
        raise ValueError("The 'T' parameter must be finite and >= 0.")
    return ages


def sample_frame(x: np.ndarray, tx: np.ndarray, T: np.ndarray, time_unit: str) -> pd.DataFrame:
    index = pd.Index([f"sim{i:07d}" for i in range(len(x))], name="customer_id", dtype="str")
    frame = pd.DataFrame({"frequency": x.astype("int64"), "recency": tx, "T": T}, index=index)
    frame.attrs[TIME_UNIT_ATTR] = time_unit
    return frame


def _pow_integral(u: np.ndarray, k: float) -> np.ndarray:
    """``(1 - exp(-k * u)) / k`` with its limit ``u`` at ``k = 0`` (no cancellation)."""
    if abs(k) < 1e-12:
        return np.asarray(u, dtype="float64")
    return -np.expm1(-k * u) / k


class TransactionModel:
    """Base of the buy-till-you-die purchase models (BG/NBD, MBG/NBD, Pareto/NBD).

    Subclasses define ``_param_names``, ``_time_params`` (the rates that scale with time) and
    the array-level functions ``_loglik``, ``_initial``, ``_p_alive``, ``_expected`` and
    ``_draw``, all on natural parameters.
    """

    _param_names: tuple[str, ...] = ()
    _time_params: tuple[str, ...] = ()

    def __init__(self, *, time_unit: TimeUnit = "D", max_iter: int = 2000) -> None:
        self.time_unit = time_unit
        self.max_iter = max_iter

    # -- sklearn-like plumbing -------------------------------------------------------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters (scikit-learn convention).

        Examples
        --------
        >>> from loyalty_metrics.models import BetaGeoModel
        >>> BetaGeoModel(time_unit="W").get_params()
        {'time_unit': 'W', 'max_iter': 2000}
        """
        return {"time_unit": self.time_unit, "max_iter": self.max_iter}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _validate_options(self) -> None:
        owner = type(self).__name__
        check_option(owner, "time_unit", self.time_unit, ("D", "W"))
        check_max_iter(owner, self.max_iter)

    @property
    def _fitted(self) -> bool:
        return hasattr(self, "params_")

    def _check_fitted(self) -> np.ndarray:
        if not self._fitted:
            raise ModelFitError(
                f"This {type(self).__name__} is not fitted yet: call fit(summary) (or "
                "from_params(...)) first."
            )
        return self.params_.to_numpy(dtype="float64")

    @classmethod
    def from_params(cls, *, time_unit: TimeUnit = "D", **params: float) -> TransactionModel:
        """A model with the given parameters, as if fitted (for prediction or simulation).

        Standard errors, log-likelihood and AIC are NaN: there were no data.

        Examples
        --------
        >>> from loyalty_metrics.models import BetaGeoModel
        >>> BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W").alpha_
        4.414
        """
        model = cls(time_unit=time_unit)
        model._validate_options()
        names = cls._param_names
        if set(params) != set(names):
            raise ValueError(
                f"{cls.__name__}.from_params needs exactly {list(names)}; got {sorted(params)}."
            )
        values = np.array([float(params[n]) for n in names])
        if not (np.isfinite(values).all() and (values > 0).all()):
            raise ValueError(f"{cls.__name__} parameters must be finite and > 0; got {params}.")
        model._set_fit(values, None, np.nan, 0, 0)
        return model

    def _set_fit(
        self, values: np.ndarray, log_cov: np.ndarray | None, loglik: float, n: int, n_iter: int
    ) -> None:
        names = list(self._param_names)
        self.params_ = pd.Series(values, index=pd.Index(names, name="parameter"), name="estimate")
        for name, value in zip(names, values, strict=True):
            setattr(self, f"{name}_", float(value))
        self._log_covariance = log_cov
        if log_cov is None:
            cov = np.full((len(names), len(names)), np.nan)
        else:
            cov = log_cov * np.outer(values, values)
        self.covariance_ = pd.DataFrame(cov, index=names, columns=names)
        self.log_likelihood_ = float(loglik)
        self.aic_ = 2 * len(names) - 2 * self.log_likelihood_
        self.n_customers_ = int(n)
        self.n_iter_ = int(n_iter)

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, summary: pd.DataFrame, *, weights: Any = None) -> TransactionModel:
        """Fit by maximum likelihood on a customer summary (one row per customer).

        Parameters
        ----------
        summary : pandas.DataFrame
            Columns ``frequency`` (repeat purchase days), ``recency`` and ``T``, in days as
            :func:`loyalty_metrics.customer_summary` gives them (or in the unit declared by
            the frame, as :func:`~loyalty_metrics.models.calibration_holdout` does); other
            columns are ignored.
        weights : array-like, optional
            How many customers each row stands for (whole counts): the distinct
            (frequency, recency, T) rows with their counts, as
            :func:`loyalty_metrics.engines.rfm_counts` aggregates them inside an engine, give
            the parameters of a fit on the full summary.

        Returns
        -------
        self
            With ``params_``, one attribute per parameter (``r_``, ``alpha_``...),
            ``covariance_``, ``log_likelihood_`` (in the model's time unit: densities of
            recency depend on it), ``aic_``, ``n_customers_`` and ``n_iter_``.

        Raises
        ------
        ModelFitError
            When the optimiser does not converge, a parameter runs to its bound, or no
            customer has a repeat purchase.

        Examples
        --------
        >>> from loyalty_metrics.models import BetaGeoModel
        >>> truth = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
        >>> model = BetaGeoModel(time_unit="W").fit(truth.sample(4000, 39.0, seed=0))
        >>> model.params_.round(2).tolist()
        [0.25, 4.8, 0.98, 3.48]
        """
        self._validate_options()
        owner = type(self).__name__
        x, tx, T = rfm_arrays(summary, self.time_unit, owner)
        counts = fit_weights(weights, len(x), owner)
        n_customers = len(x) if counts is None else int(counts.sum())
        repeat = x > 0 if counts is None else (x > 0) & (counts > 0)
        if not repeat.any():
            raise ModelFitError(
                f"{owner} needs at least one customer with a repeat purchase (frequency > 0); "
                f"the summary has {n_customers} customer(s) and none repeated. Next: a longer "
                "calibration period (more history, or an earlier --start)."
            )
        (ux, utx, uT), weights, codes = compress(x, tx, T)
        if counts is not None:
            weights = np.bincount(codes, weights=counts, minlength=len(ux))
            used = weights > 0
            ux, utx, uT, weights = ux[used], utx[used], uT[used], weights[used]
        histories = Histories.build(ux, utx, uT, weights)
        # Rescale time so the longest age is 10: the optimiser then works on O(1) rates.
        scale = float(uT.max()) / 10 if uT.max() > 0 else 1.0
        scaled = histories.rescaled(scale)
        time_mask = np.array([n in self._time_params for n in self._param_names])
        n_obs = float(weights.sum())
        x0 = np.log(self._initial(scaled))
        hessian0 = None
        if n_obs > 4 * _WARM_START_CUSTOMERS and len(ux) > _WARM_START_CUSTOMERS:
            # Large data: fit a subsample first, then Newton steps on all of it.
            sample = scaled.thinned(_WARM_START_CUSTOMERS / n_obs)
            if (sample.x > 0).any():
                try:
                    first = maximize(
                        lambda v: self._loglik(np.exp(v), sample),
                        x0,
                        self._param_names,
                        owner=owner,
                        n_obs=float(sample.w.sum()),
                        max_iter=self.max_iter,
                    )
                    x0, hessian0 = first.log_params, -first.hessian / float(sample.w.sum())
                except ModelFitError:
                    pass
        try:
            fit = maximize(
                lambda v: self._loglik(np.exp(v), scaled),
                x0,
                self._param_names,
                owner=owner,
                n_obs=n_obs,
                max_iter=self.max_iter,
                hessian0=hessian0,
            )
        except ModelFitError as exc:
            raise ModelFitError(f"{exc} {next_steps(owner, self.time_unit)}") from None
        values = np.exp(fit.log_params)
        values[time_mask] *= scale
        log_cov = covariance_from_hessian(fit.hessian)
        natural_ll, _ = self._loglik(values, histories, grad=False)
        self._set_fit(values, log_cov, natural_ll, n_customers, fit.n_iter)
        warn_if_barely_identified(
            owner, self.summary(level=0.95), next_steps(owner, self.time_unit)
        )
        return self

    def summary(self, *, level: float = 0.95) -> pd.DataFrame:
        """Parameter estimates with standard errors and confidence intervals.

        Returns
        -------
        pandas.DataFrame
            Indexed by parameter: ``estimate``, ``std_error`` (delta method from the observed
            information in log-parameters) and ``ci_low``/``ci_high``, the Wald interval of
            the log-parameter carried back (``estimate * exp(±z * se_log)``), which stays
            positive like the parameter.

        Examples
        --------
        >>> from loyalty_metrics.models import BetaGeoModel
        >>> truth = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
        >>> model = BetaGeoModel(time_unit="W").fit(truth.sample(4000, 39.0, seed=0))
        >>> model.summary().loc["r"].round(2).tolist()
        [0.25, 0.01, 0.23, 0.27]
        """
        check_level(level)
        self._check_fitted()
        return summary_table(self.params_, self._log_covariance, level)

    # -- predictions -----------------------------------------------------------------------
    def _rows(self, summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return rfm_arrays(summary, self.time_unit, type(self).__name__)

    def _histories(
        self, summary: pd.DataFrame, *extra: np.ndarray
    ) -> tuple[Histories, list[np.ndarray], np.ndarray]:
        """Distinct histories of ``summary`` (with extra per-customer columns), and the map
        from customers to them."""
        x, tx, T = self._rows(summary)
        (ux, utx, uT, *others), weights, inverse = compress(x, tx, T, *extra)
        return Histories.build(ux, utx, uT, weights), others, inverse

    def log_likelihood(self, summary: pd.DataFrame) -> pd.Series:
        """Each customer's log-likelihood at the fitted parameters (in the model's time unit).

        The sum over the fitting summary is ``log_likelihood_``.

        Examples
        --------
        >>> from loyalty_metrics.models import BetaGeoModel
        >>> model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
        >>> summary = pd.DataFrame({"frequency": [2, 0], "recency": [213.0, 0.0], "T": [272.0, 272.0]})
        >>> model.log_likelihood(summary).round(3).tolist()
        [-9.458, -0.555]
        """
        theta = self._check_fitted()
        histories, _, inverse = self._histories(summary)
        rows = self._loglik(theta, histories, grad=False, per_row=True)[0]
        return pd.Series(rows[inverse], index=summary.index, name="log_likelihood")

    def probability_alive(self, summary: pd.DataFrame) -> pd.Series:
        """Probability that each customer is still active at the end of their observation.

        Returns
        -------
        pandas.Series
            Indexed like ``summary``, in [0, 1] (a probability, not a percentage).

        Examples
        --------
        >>> from loyalty_metrics.models import BetaGeoModel
        >>> model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
        >>> summary = pd.DataFrame({"frequency": [2, 0], "recency": [213.0, 0.0], "T": [272.0, 272.0]})
        >>> model.probability_alive(summary).round(3).tolist()
        [0.727, 1.0]
        """
        theta = self._check_fitted()
        histories, _, inverse = self._histories(summary)
        values = self._p_alive(theta, histories)
        return pd.Series(values[inverse], index=summary.index, name="p_alive")

    def expected_purchases(self, t: Any, summary: pd.DataFrame) -> pd.Series:
        """Expected repeat purchases of each customer in the next ``t`` time units.

        Parameters
        ----------
        t : float or array-like
            Horizon in the model's ``time_unit``: one number, or one per customer.
        summary : pandas.DataFrame
            Customers' ``frequency``, ``recency`` and ``T`` (see :meth:`fit`).

        Returns
        -------
        pandas.Series
            Indexed like ``summary``, >= 0: the conditional expectation given each
            customer's history (Fader, Hardie & Lee 2005, eq. 10, and its analogues).

        Examples
        --------
        >>> from loyalty_metrics.models import BetaGeoModel
        >>> model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
        >>> summary = pd.DataFrame({"frequency": [2, 0], "recency": [213.0, 0.0], "T": [272.0, 272.0]})
        >>> model.expected_purchases(52, summary).round(3).tolist()
        [1.559, 0.252]
        """
        theta = self._check_fitted()
        horizon = as_time_array(t, len(summary))
        histories, (ut,), inverse = self._histories(summary, horizon)
        values = self._expected(theta, ut, histories)
        return pd.Series(values[inverse], index=summary.index, name="expected_purchases")

    def predict(self, summary: pd.DataFrame, *, t: Any) -> pd.Series:
        """Alias of :meth:`expected_purchases` with the data first (scikit-learn order).

        Examples
        --------
        >>> from loyalty_metrics.models import BetaGeoModel
        >>> model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
        >>> summary = pd.DataFrame({"frequency": [2, 0], "recency": [213.0, 0.0], "T": [272.0, 272.0]})
        >>> model.predict(summary, t=52).round(3).tolist()
        [1.559, 0.252]
        """
        return self.expected_purchases(t, summary)

    def expected_purchases_new_customer(self, t: Any) -> float | np.ndarray:
        """Expected repeat purchases in ``(0, t]`` of a customer who just made a first purchase.

        ``t`` is in the model's time unit (a number or an array); returns the same shape.

        Examples
        --------
        >>> from loyalty_metrics.models import BetaGeoModel
        >>> model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
        >>> model.expected_purchases_new_customer([13.0, 52.0]).round(3).tolist()
        [0.534, 1.446]
        """
        theta = self._check_fitted()
        values = np.asarray(t, dtype="float64")
        flat = as_time_array(values.ravel(), values.size)
        zeros = np.zeros(flat.size)
        histories = Histories.build(zeros, zeros, zeros, np.ones(flat.size))
        out = self._expected(theta, flat, histories).reshape(values.shape)
        return float(out) if out.ndim == 0 else out

    def sample(
        self, n_customers: int, T: Any, *, seed: int | np.random.Generator | None = None
    ) -> pd.DataFrame:
        """Draw synthetic customers from the fitted (or given) parameters.

        Parameters
        ----------
        n_customers : int
            How many customers to draw.
        T : float or array-like
            Each customer's age at the end of observation, in the model's time unit.
        seed : int or numpy.random.Generator, optional
            Seed for reproducible draws.

        Returns
        -------
        pandas.DataFrame
            ``frequency``, ``recency`` and ``T`` in the model's time unit (declared in
            ``attrs``, so :meth:`fit` reads it correctly), indexed ``sim0000000``...

        Examples
        --------
        >>> from loyalty_metrics.models import BetaGeoModel
        >>> model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
        >>> model.sample(3, 39.0, seed=0).round(2)
                     frequency  recency     T
        customer_id
        sim0000000           1    14.99  39.0
        sim0000001           0     0.00  39.0
        sim0000002           3    24.92  39.0
        """
        theta = self._check_fitted()
        ages = sample_ages(n_customers, T)
        x, tx = self._draw(theta, ages, rng_from(seed))
        return sample_frame(x, tx, ages, self.time_unit)

    simulate = sample

    # -- hooks (arrays in, arrays out; natural parameters) ---------------------------------
    def _loglik(
        self, theta: np.ndarray, h: Histories, *, grad: bool = True, per_row: bool = False
    ) -> tuple[Any, np.ndarray]:
        """Total weighted log-likelihood (or per distinct row) and its log-parameter gradient."""
        raise NotImplementedError  # pragma: no cover

    def _initial(self, h: Histories) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover

    def _p_alive(self, theta: np.ndarray, h: Histories) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover

    def _expected(self, theta: np.ndarray, t: np.ndarray, h: Histories) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover

    def _draw(
        self, theta: np.ndarray, T: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError  # pragma: no cover


#: Above 4x this many customers, fits start from the optimum of a subsample of this size.
_WARM_START_CUSTOMERS = 20_000


def purchase_rate_start(h: Histories) -> float:
    """A starting ``alpha`` for ``r = 1``: the inverse of the mean repeat-purchase rate."""
    rate = dot(h.w, h.x) / max(dot(h.w, h.T), 1e-12)
    return 1.0 / min(max(rate, 1e-3), 1e3)


def draw_arrivals(
    rng: np.random.Generator, lam: np.ndarray, span: np.ndarray, cap: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Purchases of Poisson(``lam``) processes on ``[0, span]``, optionally stopped after
    ``cap`` of them: the count and the time of the last one (0 when there is none)."""
    n = rng.poisson(lam * span)
    x = n if cap is None else np.minimum(n, cap)
    has = x > 0
    # The x-th of n uniform arrival times is span * Beta(x, n - x + 1).
    position = rng.beta(np.where(has, x, 1), np.where(has, n - x + 1, 1))
    return x.astype("int64"), np.where(has, span * position, 0.0)


def euler_core(
    t: np.ndarray,
    h: Histories,
    alpha: float,
    a: float,
    b_post: np.ndarray,
    first: float,
    rho: np.ndarray,
) -> np.ndarray:
    """``E[(1 - (1 + p u)^-(r+x)) / p]``, ``u = t / (alpha+T)``, over the posterior
    ``p ~ Beta(a, b_post)`` of an active customer's dropout probability (one ``b_post`` and
    ``rho = r + x`` per distinct ``x``): the expected purchases of an active customer.

    In closed form it is ``c / (a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b_post;
    c; z)]`` with ``c = a + b_post - 1`` and ``z = t / (alpha+T+t)``; Euler's transformation
    makes it ``c / (a-1) * [1 - (1-z)^(a-1) 2F1(first, a-1; c; z)]``, whose parameters stay
    small however large ``x`` is, written with ``expm1`` to keep precision. The
    hypergeometric function is evaluated once per distinct ``(x, T, t)``.

    The result lies in ``[0, (r+x) u]``. Where :func:`scipy.special.hyp2f1` breaks that (it
    returns inf for a few large-``c`` arguments, e.g. ``2F1(2.35, -0.63; 100.35; 0.9)``),
    the power series is summed instead (fast when ``c`` is large); where that is too slow
    (``c`` near 0 with ``z`` near 1, exotic parameters), adaptive quadrature takes over.
    """
    t = np.asarray(t, dtype="float64")
    if (
        t.ndim == 1
        and len(t)
        and np.isfinite(t[0])
        and (t.view("int64") == t[:1].view("int64")).all()
    ):
        # One horizon (bit for bit) for every row: the distinct rows are those of (x, T),
        # compressed once per histories for the many steps of a CLV.
        (x_code, T_values), _, inverse = h.x_and_T
        t_values = np.full(len(x_code), t[0])
    else:
        (x_code, T_values, t_values), _, inverse = compress(h.x_code.astype("float64"), h.T, t)
    codes = x_code.astype("int64")
    b_rows = b_post[codes]
    log_1mz = -np.log1p(t_values / (alpha + T_values))
    z = t_values / (alpha + T_values + t_values)
    # a = 1 is a removable singularity; evaluate next to it (costs ~7 digits there only).
    k = a - 1 if abs(a - 1) > 1e-9 else 1e-9
    c = a + b_rows - 1

    def closed_form(f_minus_1: np.ndarray, rows: np.ndarray | slice) -> np.ndarray:
        return -c[rows] * (np.expm1(k * log_1mz[rows]) + np.exp(k * log_1mz[rows]) * f_minus_1) / k

    with np.errstate(over="ignore", invalid="ignore"):
        value = closed_form(hyp2f1(first, k, c, z) - 1, slice(None))
    bound = rho[codes] * t_values / (alpha + T_values)
    # A vanishing horizon (u = t / (alpha+T) tiny) cancels catastrophically in the closed
    # form; there the Taylor expansion in u is exact to double precision:
    # E[(1 - (1 + p u)^-rho) / p] = rho u (1 - (rho+1)/2 u E[p]) + O((rho u)^3).
    u = t_values / (alpha + T_values)
    tiny = (rho[codes] + 1) * u < 1e-7
    if tiny.any():
        mean_p = a / (a + b_rows[tiny])
        value[tiny] = bound[tiny] * (1 - (rho[codes][tiny] + 1) / 2 * u[tiny] * mean_p)
    bad = ~((value >= 0) & (value <= bound * (1 + 1e-9)))
    if bad.any():
        with np.errstate(over="ignore", invalid="ignore"):
            value[bad] = closed_form(_hyp2f1_series(first, k, c[bad], z[bad]) - 1, bad)
        bad = ~((value >= 0) & (value <= bound * (1 + 1e-9)))
    for i in np.flatnonzero(bad):  # rare: exotic parameters only
        value[i] = _posterior_expectation(
            a, float(b_rows[i]), float(rho[codes[i]]), float(t_values[i] / (alpha + T_values[i]))
        )
    return np.clip(value, 0.0, bound)[inverse]


def _posterior_expectation(a: float, b_post: float, rho: float, u: float) -> float:
    """``E[(1 - (1 + p u)^-rho) / p]`` for ``p ~ Beta(a, b_post)``, by adaptive quadrature
    with the Beta kernel as an algebraic weight (QUADPACK's QAWS); NaN if it cannot reach
    1e-8 relative accuracy."""
    from scipy import integrate
    from scipy.special import betaln

    def smooth(p: float) -> float:
        if p <= 0.0:
            return rho * u
        return -math.expm1(-rho * math.log1p(p * u)) / p

    value, error, *_ = integrate.quad(
        smooth,
        0.0,
        1.0,
        weight="alg",
        wvar=(a - 1.0, b_post - 1.0),
        limit=500,
        epsabs=0.0,
        epsrel=1e-11,
        full_output=1,
    )
    value *= math.exp(-betaln(a, b_post))
    error *= math.exp(-betaln(a, b_post))
    return float(value) if error <= 1e-8 * abs(value) else math.nan


def _hyp2f1_series(
    a: float, b: float, c: np.ndarray, z: np.ndarray, max_terms: int = 20_000
) -> np.ndarray:
    """Gauss's series for ``2F1(a, b; c; z)``, ``0 <= z < 1``, summed until every row converged."""
    total = np.ones_like(z)
    term = np.ones_like(z)
    active = np.ones(len(z), dtype=bool)
    for n in range(max_terms):
        if not active.any():
            break
        term = np.where(active, term * (a + n) * (b + n) / ((c + n) * (n + 1)) * z, 0.0)
        total += term
        active &= np.abs(term) > 1e-17 * np.abs(total)
    return np.where(active, np.nan, total)
