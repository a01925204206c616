"""The exceptions of loyalty_metrics: one small hierarchy under :class:`LoyaltyMetricsError`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "ConfigError",
    "DataValidationError",
    "ExportError",
    "LockTimeoutError",
    "LoyaltyMetricsError",
    "ModelFitError",
]


class LoyaltyMetricsError(Exception):
    """Base class of every error this package raises on purpose."""


class DataValidationError(LoyaltyMetricsError, ValueError):
    """Input data broke a rule of its table's contract.

    Parameters
    ----------
    message : str
        The full, human-readable message (file, column, lines, reason).
    source : str, optional
        The file (or ``"<DataFrame>"``) the data came from.
    table : str, optional
        The canonical table name (``"orders"``, ``"surveys"``, ...).
    problems : pandas.DataFrame, optional
        One row per offending cell: ``line``, ``column``, ``value``, ``reason``.

    Examples
    --------
    >>> err = DataValidationError("orders.csv: column 'amount': line 3: not a number", source="orders.csv")
    >>> err.source
    'orders.csv'
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        table: str | None = None,
        problems: pd.DataFrame | None = None,
    ) -> None:
        super().__init__(message)
        self.source = source
        self.table = table
        self.problems = problems


class ConfigError(LoyaltyMetricsError, ValueError):
    """A ``loyalty.toml`` file or an option value is invalid (names the key)."""


class ModelFitError(LoyaltyMetricsError, RuntimeError):
    """A predictive model's optimiser did not converge, or its input cannot be fitted."""


class ExportError(LoyaltyMetricsError):
    """A KPI export could not be written (refused target, schema clash, I/O)."""


class LockTimeoutError(ExportError):
    """Another export holds the target's lock for longer than the allowed wait."""
