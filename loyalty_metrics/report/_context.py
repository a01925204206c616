"""The context every section reads, and calling the library without knowing every option.

A section whose inputs are absent (no surveys file, no spend...) or whose library function
is not available raises :class:`_Skip` with a one-line note."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .._window import ONE_DAY, Window

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
# Calling the library without knowing every option each function takes.


def _lib(name: str, module: str = "") -> Callable[..., Any]:
    """``loyalty_metrics[.module].name``, or :class:`_Skip` when this version lacks it."""
    path = "loyalty_metrics" + (f".{module}" if module else "")
    try:
        mod = importlib.import_module(path)
        return getattr(mod, name)
    except ModuleNotFoundError as exc:
        if exc.name and path.startswith(exc.name) or (exc.name or "").startswith(path):
            raise _Skip(f"needs {path}.{name}, which this version does not have.") from None
        raise
    except AttributeError:
        raise _Skip(f"needs {path}.{name}, which this version does not have.") from None


def _accepts(func: Callable[..., Any]) -> tuple[set[str], bool]:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return set(), True
    var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return set(params), var_kw


def _call(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``func`` with the keyword arguments it takes (None values are left out)."""
    names, var_kw = _accepts(func)
    kept = {k: v for k, v in kwargs.items() if v is not None and (var_kw or k in names)}
    return func(*args, **kept)


# ---------------------------------------------------------------------------------------------
# The context every section reads.


@dataclass
class _Context:
    frames: dict[str, pd.DataFrame]
    window: Window
    config: dict[str, dict[str, Any]]
    freq: str
    level: float = 0.95
    cache: dict[str, Any] = field(default_factory=dict)

    # -- inputs ---------------------------------------------------------------------------
    def has(self, name: str) -> bool:
        frame = self.frames.get(name)
        return frame is not None and len(frame) > 0

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
        return dict(self.config.get("metrics", {}))

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
            self.cache[key] = make()
        return self.cache[key]

    # -- shared computations ----------------------------------------------------------------
    def summary(self) -> pd.DataFrame:
        self.require("orders")
        from ..summary import customer_summary

        return self.cached(
            "summary",
            lambda: customer_summary(self.frames["orders"], start=self.start, end=self.end),
        )

    def kpi_kwargs(self) -> dict[str, Any]:
        options = self.metrics
        options.pop("currency", None)
        return {
            "surveys": self.frame("surveys"),
            "events": self.frame("events"),
            "spend": self.frame("spend"),
            "customers": self.frame("customers"),
            **options,
        }

    def kpis(
        self, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
    ) -> pd.Series:
        start = self.start if start is None else start
        end = self.end if end is None else end
        kpis = _lib("kpis")
        key = f"kpis:{start}:{end}"
        return self.cached(
            key,
            lambda: _call(kpis, self.frames["orders"], start=start, end=end, **self.kpi_kwargs()),
        )

    def comparison(self) -> dict[str, Any] | None:
        """The period the headline KPIs are compared with (see the module notes)."""
        return self.cached("comparison", self._comparison)

    def _comparison(self) -> dict[str, Any] | None:
        if self.window.empty or not self.has("orders"):
            return None
        dates = self.frames["orders"]["order_date"]
        length = self.end - self.start
        prev_end = self.start - ONE_DAY
        prev_start = prev_end - length
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


def _period_key(freq: str) -> str:
    return str(freq).upper().lstrip("0123456789")[:1]
