"""The context every section reads: the inputs, the window, the options and the figures
several sections share (computed once).

A section whose inputs are absent (no surveys file, no spend...) raises :class:`_Skip` with
a one-line note. Sections call the library directly, with the options of one
:class:`~loyalty_metrics.MetricOptions` built from ``loyalty.toml``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import pandas as pd

from .. import caveats
from .._window import ONE_DAY, Window
from ..errors import LoyaltyWarning
from ..options import MetricOptions

_PERIOD_OFFSETS = {
    "W": pd.DateOffset(weeks=1),
    "M": pd.DateOffset(months=1),
    "Q": pd.DateOffset(months=3),
    "Y": pd.DateOffset(years=1),
}
_PERIOD_NAMES = {"W": "week", "M": "month", "Q": "quarter", "Y": "year"}


class _Skip(Exception):
    """A section cannot be shown; the message is the one-line note the report prints."""


# ---------------------------------------------------------------------------------------------
# The context every section reads.


@dataclass
class _Context:
    frames: dict[str, pd.DataFrame]
    window: Window
    config: dict[str, dict[str, Any]]
    freq: Literal["W", "M", "Q", "Y"]
    level: float = 0.95
    cache: dict[str, Any] = field(default_factory=dict)
    #: With a SQL engine: the connected backend; ``frames["orders"]`` is then a path, glob or
    #: table the engine reads (``orders_columns``: its column mapping), the rest DataFrames.
    engine: Any = None
    orders_columns: dict[str, str] | None = None
    #: Figures being computed elsewhere (a forked copy, :mod:`._parallel`): by cache key,
    #: what gives the value when it is first asked for (instead of computing it here).
    ahead: dict[str, Callable[[], Any]] = field(default_factory=dict)

    # -- inputs ---------------------------------------------------------------------------
    def has(self, name: str) -> bool:
        frame = self.frames.get(name)
        if name == "orders" and self.engine is not None:
            return frame is not None and self.order_lines() > 0
        return frame is not None and len(frame) > 0

    def order_lines(
        self, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
    ) -> int:
        """Order lines dated ``start``..``end`` (inclusive days; all when None), counted by
        the engine."""
        from .. import engines

        return self.cached(
            f"lines:{start}:{end}",
            lambda: engines.count_lines(
                self.frames["orders"], start=start, end=end, engine=self.engine,
                columns=self.orders_columns,
            ),
        )  # fmt: skip

    def on_engine(self, table_columns: bool = False) -> dict[str, Any]:
        """The keywords that send an orders computation to the engine (none in pandas);
        ``table_columns``: ``columns`` by table, as the KPI functions take it."""
        if self.engine is None:
            return {}
        columns = self.orders_columns or {}
        return {
            "engine": self.engine,
            "columns": {"orders": columns} if table_columns else columns,
        }

    def require(self, *names: str) -> None:
        missing = [n for n in names if not self.has(n)]
        if missing:
            files = " or ".join(f"{n} file" for n in missing)
            raise _Skip(
                f"needs {' and '.join(names)} data; there is no {files} (or it has no rows)."
            )

    def frame(self, name: str) -> pd.DataFrame | None:
        return self.frames.get(name) if self.has(name) else None

    @property
    def metrics(self) -> dict[str, Any]:
        """The ``[metrics]`` table of ``loyalty.toml`` as given (for the definitions)."""
        return dict(self.config.get("metrics", {}))

    @cached_property
    def options(self) -> MetricOptions:
        """The metric options of ``loyalty.toml``, one spelling for every section."""
        return MetricOptions.from_config(self.config)

    @property
    def currency(self) -> str | None:
        return self.metrics.get("currency")

    @property
    def start(self) -> pd.Timestamp:
        return self.window.start

    @property
    def end(self) -> pd.Timestamp:
        return self.window.end

    def cached(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = self.ahead.pop(key, make)()
        return self.cache[key]

    def cached_with_caveats(self, key: str, make: Callable[[], Any]) -> Any:
        """:meth:`cached`, for a figure whose caveats belong to whoever reads it: they are
        emitted again at each read (where it was computed ahead, they were raised in
        another process)."""
        value, notes = self.cached(key, with_caveats(make))
        caveats.emit(notes)
        return value

    # -- shared computations ----------------------------------------------------------------
    def summary(self) -> pd.DataFrame:
        self.require("orders")
        orders, window = self.frames["orders"], {"start": self.start, "end": self.end}
        if self.engine is not None:
            from .. import engines

            return self.cached(
                "summary", lambda: engines.customer_summary(orders, **window, **self.on_engine())
            )
        from ..summary import customer_summary

        return self.cached("summary", lambda: customer_summary(orders, **window))

    def tables(self) -> dict[str, pd.DataFrame | None]:
        """The tables besides the orders, as ``kpis`` and ``kpis_by_period`` take them (in
        the order of their positional parameters)."""
        return {name: self.frame(name) for name in ("surveys", "events", "spend", "customers")}

    def kpis(
        self, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
    ) -> pd.Series:
        start = self.start if start is None else start
        end = self.end if end is None else end
        if self.engine is not None:
            from .. import engines

            return self.cached(
                f"kpis:{start}:{end}",
                lambda: engines.kpis(
                    self.frames["orders"], **self.tables(), start=start, end=end,
                    options=self.options, **self.on_engine(table_columns=True),
                ),
            )  # fmt: skip
        from ..snapshot import kpis

        return self.cached(
            f"kpis:{start}:{end}",
            lambda: kpis(
                self.frames["orders"], *self.tables().values(), start=start, end=end,
                options=self.options,
            ),
        )  # fmt: skip

    def headline(self) -> tuple[pd.Series, dict[str, Any] | None, pd.Series | None]:
        """The headline KPIs, the period they are compared with and its KPIs; with the
        customer summary computed too: the figures every other section reads from here
        (in the order the KPI section, the first, reads them)."""
        values = self.kpis()
        comparison = self.comparison()
        previous = self.kpis(comparison["start"], comparison["end"]) if comparison else None
        self.summary()
        return values, comparison, previous

    def comparison(self) -> dict[str, Any] | None:
        """The period the headline KPIs are compared with (see the module notes)."""
        return self.cached("comparison", self._comparison)

    def _comparison(self) -> dict[str, Any] | None:
        if self.window.empty or not self.has("orders"):
            return None
        length = self.end - self.start
        prev_end = self.start - ONE_DAY
        prev_start = prev_end - length
        if self.engine is not None:
            has_prior = self.order_lines(prev_start, prev_end) > 0
        else:
            dates = self.frames["orders"]["order_date"]
            has_prior = bool(((dates >= prev_start) & (dates < self.start)).any())
        if has_prior:
            return {
                "kind": "previous_window",
                "start": prev_start,
                "end": prev_end,
                "label": f"vs {prev_start.date()} to {prev_end.date()} (the same length before)",
            }
        offset = _PERIOD_OFFSETS.get(_period_key(self.freq), pd.DateOffset(months=1))
        as_of = self.end - offset
        if as_of < self.start:
            return None
        word = _PERIOD_NAMES.get(_period_key(self.freq), "period")
        return {
            "kind": "as_of",
            "start": self.start,
            "end": as_of,
            "label": f"vs as of {as_of.date()} (one {word} earlier, same start)",
        }

    def surveys_in_window(self) -> pd.DataFrame:
        self.require("surveys")
        surveys = self.frames["surveys"]
        if "response_date" not in surveys or surveys["response_date"].isna().all():
            return surveys
        return surveys.loc[self.window.contains(surveys["response_date"])]


def with_caveats(make: Callable[[], Any]) -> Callable[[], tuple[Any, list[LoyaltyWarning]]]:
    """``make`` returning its value and the caveats raised while computing it."""

    def made() -> tuple[Any, list[LoyaltyWarning]]:
        with caveats.collect() as notes:
            value = make()
        return value, notes

    return made


def _period_key(freq: str) -> str:
    return str(freq).upper().lstrip("0123456789")[:1]
