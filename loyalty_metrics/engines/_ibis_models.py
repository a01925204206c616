"""Inputs of the predictive models, aggregated inside the engine.

The BG/NBD, Pareto/NBD and MBG/NBD likelihoods depend only on the distinct
(frequency, recency, T) triples and Gamma-Gamma's on the distinct (frequency, monetary)
pairs; counting them in the engine brings back O(distinct histories) rows, which the models'
``fit(..., weights=)`` takes as counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pandas as pd

from .._window import DateLike
from ._backend import load_table, resolve_engine
from ._ibis_kernel import resolve_window, summary_table

__all__ = ["rfm_counts"]


def rfm_counts(
    orders: Any,
    *,
    start: DateLike | None = None,
    end: DateLike | None = None,
    what: Literal["transactions", "spend"] = "transactions",
    engine: Any = "duckdb",
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Counts of identical model inputs among the customers of the summary.

    Parameters
    ----------
    orders
        Order lines, as for :func:`loyalty_metrics.customer_summary` with an engine.
    start, end : date-like, optional
        The summary's window.
    what : {"transactions", "spend"}
        ``"transactions"``: the distinct (``frequency``, ``recency``, ``T``) rows (in days)
        for BG/NBD, Pareto/NBD and MBG/NBD; ``"spend"``: the distinct (``frequency``,
        ``monetary_value``) rows of the repeat customers, for Gamma-Gamma.
    engine, columns
        As for :func:`loyalty_metrics.engines.customer_summary`.

    Returns
    -------
    pandas.DataFrame
        The distinct rows, sorted, with a ``count`` column: pass them to ``fit(frame,
        weights=frame["count"])``, which gives the parameters of a fit on the full summary.
    """
    if what not in ("transactions", "spend"):
        raise ValueError(
            "The 'what' parameter of rfm_counts must be one of {'transactions', 'spend'}. "
            f"Got {what!r} instead."
        )
    eng = resolve_engine(engine)
    lines = load_table(eng, orders, "orders", columns)
    window = resolve_window(eng, lines, start, end)
    keys = (
        ["frequency", "recency", "T"]
        if what == "transactions"
        else ["frequency", "monetary_value"]
    )
    if window.empty:
        return pd.DataFrame({**{k: pd.Series([], dtype="float64") for k in keys}, "count": []})
    summary = summary_table(lines, window)
    if what == "spend":
        summary = summary.filter(summary.frequency > 0)
    counts = summary.group_by(keys).aggregate(count=summary.count()).order_by(keys)
    frame = eng.backend.to_pyarrow(counts).to_pandas()
    frame["frequency"] = frame["frequency"].astype("int64")
    frame["count"] = frame["count"].astype("int64")
    return frame.reset_index(drop=True)
