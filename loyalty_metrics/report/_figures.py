"""The report's charts, drawn from the plain content (its tables) with :mod:`loyalty_metrics.charts`."""

from __future__ import annotations

import base64
from collections import deque
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ChartWorker", "chart_images", "chart_worker"]


def _frame(section: dict[str, Any], table_id: str | None) -> pd.DataFrame | None:
    for table in section.get("tables", []):
        if table["id"] == table_id:
            return pd.DataFrame.from_records(table["rows"]) if table["rows"] else None
    return None


def _numbers(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(frame[column], errors="coerce").astype("float64")


def _kpi_trends(section: dict[str, Any], spec: dict[str, Any], currency: str | None) -> Any:
    from .. import charts

    frame = _frame(section, spec["table"])
    if frame is None or not spec.get("keys"):
        return None
    frame = frame.set_index(pd.DatetimeIndex(pd.to_datetime(frame["period"]), name="period"))
    data = frame[spec["keys"]].apply(pd.to_numeric, errors="coerce").astype("float64")
    status = frame["status"].tolist() if "status" in frame else None
    return charts.kpi_trends(data, spec["keys"], currency=currency, status=status)


def _nps_distribution(section: dict[str, Any], spec: dict[str, Any], currency: str | None) -> Any:
    from .. import charts

    frame = _frame(section, spec["table"])
    if frame is None:
        return None
    counts = pd.Series(_numbers(frame, "responses").to_numpy(), index=frame["score"].astype(int))
    return charts.nps_distribution(counts, counts=True)


def _nps_trend(section: dict[str, Any], spec: dict[str, Any], currency: str | None) -> Any:
    from .. import charts

    frame = _frame(section, spec["table"])
    if frame is None:
        return None
    index = pd.DatetimeIndex(pd.to_datetime(frame["period"]), name="period")
    data = pd.DataFrame(
        {c: _numbers(frame, c).to_numpy() for c in ("nps", "ci_low", "ci_high", "responses")},
        index=index,
    )
    if "low_n" in frame:
        data["low_n"] = frame["low_n"].fillna(False).astype(bool).to_numpy()
    status = frame["status"].tolist() if "status" in frame else None
    return charts.nps_trend(data, status=status)


def _cohort_heatmap(section: dict[str, Any], spec: dict[str, Any], currency: str | None) -> Any:
    from .. import charts

    frame = _frame(section, spec["table"])
    if frame is None:
        return None
    periods = [c for c in frame.columns if c not in ("cohort", "size")]
    matrix = frame.set_index("cohort")[periods].apply(pd.to_numeric, errors="coerce")
    matrix.columns = [int(c) for c in periods]
    status = _frame(section, spec.get("status"))
    if status is not None:
        status = status.set_index("cohort")[periods]
        status.columns = [int(c) for c in periods]
    return charts.cohort_heatmap(
        matrix, status=status, values="retention", period=spec.get("period")
    )


def _bar_chart(section: dict[str, Any], spec: dict[str, Any], currency: str | None) -> Any:
    from .. import charts

    frame = _frame(section, spec["table"])
    if frame is None:
        return None
    labels = frame[spec["label"]].astype(str)
    values = pd.Series(_numbers(frame, spec["value"]).to_numpy(), index=labels)
    low = high = low_n = None
    if {"ci_low", "ci_high"} <= set(frame.columns):
        low = pd.Series(_numbers(frame, "ci_low").to_numpy(), index=labels)
        high = pd.Series(_numbers(frame, "ci_high").to_numpy(), index=labels)
    if "low_n" in frame:
        low_n = pd.Series(frame["low_n"].fillna(False).astype(bool).to_numpy(), index=labels)
    return charts.bar_chart(
        values,
        low=low,
        high=high,
        low_n=low_n,
        xlabel=spec.get("xlabel", ""),
        title=spec.get("title", ""),
        digits=spec.get("digits", 1),
        suffix=spec.get("suffix", ""),
    )


def _ladder_funnel(section: dict[str, Any], spec: dict[str, Any], currency: str | None) -> Any:
    from .. import charts

    frame = _frame(section, spec["table"])
    if frame is None:
        return None
    return charts.ladder_funnel(
        pd.Series(_numbers(frame, "customers").to_numpy(), index=frame["stage"].astype(str))
    )


def _clv_distribution(section: dict[str, Any], spec: dict[str, Any], currency: str | None) -> Any:
    from .. import charts

    frame = _frame(section, spec["table"])
    if frame is None:
        return None
    return charts.clv_distribution(
        frame,
        currency=currency,
        label=spec.get("label", "CLV"),
        mean=spec.get("mean"),
        median=spec.get("median"),
    )


def _engagement(section: dict[str, Any], spec: dict[str, Any], currency: str | None) -> Any:
    from .. import charts

    frame = _frame(section, spec["table"])
    if frame is None:
        return None
    return charts.engagement_distribution(
        frame, mean=spec.get("mean"), inactive=spec.get("inactive")
    )


def _calibration(section: dict[str, Any], spec: dict[str, Any], currency: str | None) -> Any:
    from .. import charts

    frame = _frame(section, spec["table"])
    if frame is None:
        return None
    grouped = frame.set_index("frequency")[["actual", "predicted", "customers"]]
    return charts.calibration_vs_holdout(grouped.astype("float64"))


def _points_flow(section: dict[str, Any], spec: dict[str, Any], currency: str | None) -> Any:
    from .. import charts

    frame = _frame(section, spec["table"])
    if frame is None:
        return None
    index = pd.DatetimeIndex(pd.to_datetime(frame["period"]), name="period_end")
    columns = ("issued", "redeemed", "expired", "outstanding")
    data = pd.DataFrame({c: _numbers(frame, c).to_numpy() for c in columns}, index=index)
    return charts.points_flow_chart(data)


def _tier_distribution(section: dict[str, Any], spec: dict[str, Any], currency: str | None) -> Any:
    from .. import charts

    frame = _frame(section, spec["table"])
    if frame is None:
        return None
    index = pd.DatetimeIndex(pd.to_datetime(frame["period"]), name="period_end")
    tiers = [c for c in frame.columns if c != "period"]
    data = pd.DataFrame({t: _numbers(frame, t).to_numpy() for t in tiers}, index=index)
    return charts.tier_distribution_chart(data)


def _tier_migration(section: dict[str, Any], spec: dict[str, Any], currency: str | None) -> Any:
    from .. import charts

    frame = _frame(section, spec["table"])
    if frame is None:
        return None
    matrix = frame.set_index("tier_at_start").apply(pd.to_numeric, errors="coerce")
    return charts.tier_migration_heatmap(matrix.fillna(0))


_BUILDERS: dict[str, Callable[[dict[str, Any], dict[str, Any], str | None], Any]] = {
    "kpi_trends": _kpi_trends,
    "nps_distribution": _nps_distribution,
    "nps_trend": _nps_trend,
    "cohort_heatmap": _cohort_heatmap,
    "bar_chart": _bar_chart,
    "ladder_funnel": _ladder_funnel,
    "clv_distribution": _clv_distribution,
    "engagement_distribution": _engagement,
    "calibration_vs_holdout": _calibration,
    "points_flow": _points_flow,
    "tier_distribution": _tier_distribution,
    "tier_migration": _tier_migration,
}


#: One chart to draw: (key, its section's tables, the chart's spec, the currency).
_Job = tuple[str, dict[str, Any], dict[str, Any], "str | None"]


def chart_images(report: dict[str, Any], *, worker: ChartWorker | None = None) -> dict[str, str]:
    """``{"section/chart": "data:image/png;base64,..."}`` for every chart of the report.

    ``worker``: a :func:`chart_worker`. The charts it was given while the report was computed
    (:meth:`ChartWorker.draw_section`) and has started come from it; it draws others beside
    this process whenever it is idle (once its imports are done). The images are the same
    bytes either way.
    """
    jobs = _jobs(report)
    if worker is None:
        return dict(_draw(jobs))
    drawing, rest = worker.take(jobs)
    images: dict[str, str] = {}
    todo, usable = deque(rest), worker.ready()
    while todo:
        # The worker takes the last chart whenever it is idle, this process the first: both
        # end about together, whatever each chart costs.
        if usable and all(future.done() for _, future in drawing):
            given = worker.submit([todo[-1]])
            if given:
                drawing.extend(given)
                todo.pop()
                continue
            usable = False  # it died or was shut down: the rest is drawn here
        images.update(_draw([todo.popleft()]))
    for batch, future in drawing:
        try:
            images.update(future.result())
        except BrokenExecutor:  # the worker died meanwhile (killed, out of memory)
            images.update(_draw(batch))
    return {key: images[key] for key, *_ in jobs if key in images}


#: Charts given to the worker: the jobs, and the future of their (key, image) pairs.
_Drawing = tuple[list[_Job], "Future[list[tuple[str, str]]]"]


@dataclass(frozen=True)
class ChartWorker:
    """A process that draws charts beside this one (see :func:`chart_worker`)."""

    pool: ProcessPoolExecutor
    warm_up: Future[None]
    #: The charts given by :meth:`draw_section`, by key, until :func:`chart_images` takes them.
    given: dict[str, _Drawing] = field(default_factory=dict)

    def ready(self) -> bool:
        """True once the worker has imported matplotlib (and did not fail doing so)."""
        return self.warm_up.done() and self.warm_up.exception() is None

    def draw_section(self, section: dict[str, Any], currency: str | None) -> None:
        """Start drawing the charts of one section of the report being computed (plain
        content, as :func:`build_report` gives it to its ``on_section``)."""
        if section.get("shown"):
            for drawing in self.submit(_jobs({"sections": [section], "currency": currency})):
                self.given[drawing[0][0][0]] = drawing

    def submit(self, jobs: list[_Job]) -> list[_Drawing]:
        """Give each job to the worker, in order, until it refuses one (it died or was shut
        down): the drawings of those it took."""
        out: list[_Drawing] = []
        for job in jobs:
            try:
                out.append(([job], self.pool.submit(_draw, [job])))
            except (BrokenExecutor, RuntimeError):
                break
        return out

    def take(self, jobs: list[_Job]) -> tuple[list[_Drawing], list[_Job]]:
        """The given charts among ``jobs`` that the worker has drawn or is drawing, and the
        jobs left to draw (never given, given with other content, or cancelled before the
        worker started them: this process can draw them as soon)."""
        drawing, rest = [], []
        for job in jobs:
            given = self.given.pop(job[0], None)
            # a future cancelled here was not started yet: this process draws it as soon
            if given is not None and given[0] == [job] and not given[1].cancel():
                drawing.append(given)
            else:
                rest.append(job)
        return drawing, rest

    def shutdown(self) -> None:
        self.pool.shutdown(cancel_futures=True)


def chart_worker() -> ChartWorker | None:
    """Start a worker process for :func:`chart_images` now, so that it has imported
    matplotlib by the time the charts are drawn (None on a single core: no gain there).

    The caller shuts it down. A worker not ready by then is not waited for.

    Examples
    --------
    >>> worker = chart_worker()
    >>> worker is None or isinstance(worker.pool, ProcessPoolExecutor)
    True
    >>> if worker is not None:
    ...     worker.shutdown()
    """
    import multiprocessing
    import os
    import warnings

    from ._parallel import can_fork

    if (os.cpu_count() or 1) < 2:
        return None
    # fork where it is safe (see report._parallel.can_fork): the worker starts with what this
    # process has imported, ready a second sooner; else spawn, a fresh interpreter
    method = "fork" if can_fork() else "spawn"
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context(method))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # as in report._parallel
            warm_up = pool.submit(_warm_up)  # the worker starts on its first task
    except RuntimeError:  # we are a spawned process ourselves (a script with no main guard)
        pool.shutdown(wait=False)
        return None
    return ChartWorker(pool, warm_up)


def _warm_up() -> None:
    """Import matplotlib and draw a small chart: the first drawing of a process also loads
    the fonts, the text layout and the PNG writer (about half a second), done here while
    the report's data are being read."""
    from .. import charts

    trend = pd.DataFrame(
        {"revenue": [1.0, 2.0, 1.5], "customers": [3.0, 1.0, 2.0]},
        index=pd.to_datetime(["2024-01-31", "2024-02-29", "2024-03-31"]),
    )
    charts.figure_bytes(charts.kpi_trends(trend), "png", dpi=144)


def _jobs(report: dict[str, Any]) -> list[_Job]:
    currency = report.get("currency")
    jobs: list[_Job] = []
    for section in report["sections"]:
        if not section.get("shown"):
            continue
        tables = {"tables": section.get("tables", [])}
        for spec in section.get("charts", []):
            if spec["kind"] in _BUILDERS:
                jobs.append((f"{section['id']}/{spec['id']}", tables, spec, currency))
    return jobs


def _draw(jobs: list[_Job]) -> list[tuple[str, str]]:
    """(key, PNG data URL) of each job that gives a figure."""
    from ..charts import figure_bytes

    out = []
    for key, section, spec, currency in jobs:
        with np.errstate(all="ignore"):
            fig = _BUILDERS[spec["kind"]](section, spec, currency)
        if fig is None:
            continue
        png = figure_bytes(fig, "png", dpi=144)
        out.append((key, "data:image/png;base64," + base64.b64encode(png).decode("ascii")))
    return out
