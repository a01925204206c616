"""The exceptions of loyalty_metrics (one small hierarchy under :class:`LoyaltyMetricsError`)
and its warnings (under :class:`LoyaltyWarning`).

Errors stop a computation. Warnings are the caveats a careful analyst adds next to a figure
that was computed but should be read with something in mind (a churn rate whose base year
holds a week of data, a model parameter the data barely pin down). They are ordinary Python
warnings, so a notebook shows them and ``warnings.simplefilter("error", LoyaltyWarning)``
makes them fatal in a pipeline; the CLI prints them on stderr and the report shows them next
to the figures named in their ``about``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "DataCoverageWarning",
    "LoyaltyWarning",
    "WeakFitWarning",
    "ConfigError",
    "DataValidationError",
    "ExportError",
    "LockTimeoutError",
    "LoyaltyMetricsError",
    "ModelFitError",
]


class LoyaltyMetricsError(Exception):
    """Base class of every error this package raises on purpose.

    Examples
    --------
    >>> issubclass(DataValidationError, LoyaltyMetricsError)
    True
    """


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
    """A ``loyalty.toml`` file or an option value is invalid (names the key).

    Examples
    --------
    >>> from loyalty_metrics.config import check_config
    >>> try:
    ...     check_config({"metrics": {"margn": 0.3}})
    ... except ConfigError as err:
    ...     print(str(err).split(";")[0])
    loyalty.toml: unknown key 'margn' in [metrics]
    """


class ModelFitError(LoyaltyMetricsError, RuntimeError):
    """A predictive model's optimiser did not converge, or its input cannot be fitted.

    Examples
    --------
    >>> import pandas as pd
    >>> from loyalty_metrics.models import BetaGeoModel
    >>> empty = pd.DataFrame({"frequency": [], "recency": [], "T": []})
    >>> try:
    ...     BetaGeoModel().fit(empty)
    ... except (ModelFitError, ValueError) as err:
    ...     print(type(err).__name__)
    ModelFitError
    """


class ExportError(LoyaltyMetricsError):
    """A KPI export could not be written (refused target, schema clash, I/O).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import pandas as pd
    >>> from loyalty_metrics.export import export_kpis
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "notes.csv"
    >>> _ = target.write_text("not,a,kpi,export" + chr(10))
    >>> orders = pd.DataFrame({"customer_id": ["a"], "amount": [5.0],
    ...                        "order_date": pd.to_datetime(["2024-01-05"])})
    >>> try:
    ...     export_kpis(orders, target=target)
    ... except ExportError:
    ...     print("refused; untouched:", target.read_text().strip())
    refused; untouched: not,a,kpi,export
    """


class LockTimeoutError(ExportError):
    """Another export holds the target's lock for longer than the allowed wait.

    Examples
    --------
    >>> issubclass(LockTimeoutError, ExportError)  # the CLI exits 4 for it
    True
    """


class LoyaltyWarning(UserWarning):
    """A caveat on a figure that was computed: read the figure with this in mind.

    Parameters
    ----------
    message : str
        What to keep in mind, and what to do about it when something can be done.
    about : sequence of str, optional
        The figures it concerns (KPI keys such as ``"churn_rate"``, or ``"cohort_table"``,
        ``"predictive_clv"``), so a report can print it next to them.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn(LoyaltyWarning("base year holds 8 days", about=["churn_rate"]))
    >>> caught[0].message.about
    ('churn_rate',)
    """

    def __init__(self, message: str, *, about: tuple[str, ...] | list[str] = ()) -> None:
        super().__init__(message)
        self.about = tuple(about)


class DataCoverageWarning(LoyaltyWarning):
    """The data cover less time than a figure looks at (a look-back reaching before the first
    order, a window starting on the first day of the data).

    Examples
    --------
    >>> issubclass(DataCoverageWarning, LoyaltyWarning)
    True
    """


class WeakFitWarning(LoyaltyWarning):
    """A model was fitted, but the data barely identify a parameter (a very wide interval), or
    its predictions were not checked against held-out data.

    Examples
    --------
    >>> issubclass(WeakFitWarning, UserWarning)
    True
    """
