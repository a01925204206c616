"""The report's content, built once as plain data; every renderer works from it.

Each section is made by a small function of a :class:`_Context`. A section whose inputs are
absent (no surveys file, no spend...) or whose library function is not available raises
:class:`_Skip` with a one-line note; the report then lists the note instead of the section.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, Literal

import pandas as pd

from .. import caveats
from .._window import DateLike, Window, resolve_window
from ..errors import LoyaltyWarning, ModelFitError
from ..orders import share_kernel
from ._catalogue import HEADLINE, SECTION_TITLES
from ._context import _Context, _Skip, with_caveats
from ._definitions import _definitions
from ._format import plain
from ._parallel import Beside, _Here, beside
from ._section_cac_engagement import _section_cac, _section_engagement
from ._section_clv import CALIBRATION, _section_clv, holdout_check
from ._section_cohorts import _section_cohorts, _section_repeat_rate
from ._section_data_quality import _section_data_quality
from ._section_kpis import _section_kpis
from ._section_ladder_rfm import _section_ladder, _section_rfm
from ._section_nps import _section_nps
from ._section_points import _section_points
from ._section_programs import _section_programs

__all__ = ["HEADLINE", "SECTION_TITLES", "build_report"]

#: Report schema version (bumped when the JSON shape changes).
SCHEMA_VERSION = 1

_SECTIONS: dict[str, Callable[[_Context], dict[str, Any]]] = {
    "kpis": _section_kpis,
    "nps": _section_nps,
    "cohorts": _section_cohorts,
    "repeat_rate": _section_repeat_rate,
    "ladder": _section_ladder,
    "rfm": _section_rfm,
    "clv": _section_clv,
    "cac": _section_cac,
    "engagement": _section_engagement,
    "programs": _section_programs,
    "points": _section_points,
}


def build_report(
    frames: Mapping[str, pd.DataFrame | None],
    *,
    start: DateLike | None = None,
    end: DateLike | None = None,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    generated_at: DateLike | None = None,
    read_reports: Sequence[Any] | None = None,
    freq: Literal["W", "M", "Q", "Y"] = "M",
    level: float = 0.95,
    strict: bool = False,
    engine: Any = None,
    orders_columns: Mapping[str, str] | None = None,
    parallel: bool = False,
    on_section: Callable[[dict[str, Any], str | None], None] | None = None,
) -> dict[str, Any]:
    """The report's content as plain data (dicts, lists, str, int, float, bool, None).

    Parameters
    ----------
    frames : mapping
        Validated tables by name (``orders``, ``surveys``, ``events``, ``spend``,
        ``customers``), as :func:`loyalty_metrics.read_folder` returns; missing ones are fine.
    start, end : date-like, optional
        The window (DESIGN section 3); default the first and last order date.
    config : mapping, optional
        A loaded ``loyalty.toml`` (:func:`loyalty_metrics.load_config`): ``[metrics]`` options
        and ``[report] title``.
    generated_at : date-like, optional
        Stamped on the report as given (never read from the clock here, so that the same
        inputs give the same report).
    read_reports : sequence of ReadReport, optional
        For the data-quality section; default :func:`loyalty_metrics.read_report` of each frame.
    freq : {"W", "M", "Q", "Y"}
        The period of trends and cohorts.
    level : float
        Confidence level of every interval.
    strict : bool
        Raise when a section fails instead of replacing it with a note (tests, ``--debug``).
    engine : str or Ibis backend, optional
        Compute the orders' figures in this engine (:mod:`loyalty_metrics.engines`):
        ``frames["orders"]`` may then be a path, glob or engine table (``orders_columns``:
        its column mapping); the other tables stay DataFrames. The headline KPIs, trend,
        cohorts, the ladder and the customer summary are computed there (RFM segments and
        CLV from the summary; the CLV holdout check needs the lines); the sections that need
        the order lines in memory are not shown, each with a note.
    parallel : bool
        Compute the customer lifetime value and RFM sections in a forked copy of this
        process, beside the others, and CLV's holdout check in another one beside the
        customer summary, where that is possible (Linux, two or more cores; see
        :mod:`loyalty_metrics.report._parallel`). The content is the same. Off by
        default: forking a notebook's kernel or a web server's worker is the caller's call;
        ``loyalty report`` turns it on. Not with an ``engine`` (its connection is not
        for two processes).
    on_section : callable, optional
        Called with each section (plain data, as in the result) and the currency as soon as
        the section is computed: ``loyalty report`` starts drawing its charts then
        (:meth:`~loyalty_metrics.report.ChartWorker.draw_section`).

    Returns
    -------
    dict
        ``title``, ``generated_at``, ``window`` (start, end, as_of, days), ``inputs`` (rows per
        table), ``sections`` (a list in display order; each has ``id``, ``title``, ``shown``
        and either its ``stats``/``tables``/``charts``/``notes`` or a one-line ``note``),
        ``caveats`` (each :class:`~loyalty_metrics.errors.LoyaltyWarning` raised while
        computing a section: ``section``, ``about``, ``message``; also among that section's
        notes), ``definitions`` and ``schema_version``. NaN is None.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-02-10", "2024-02-11"]),
    ...     "amount": [10.0, 20.0, 5.0]})
    >>> report = build_report({"orders": orders}, generated_at="2024-03-01")
    >>> report["window"]["as_of"], [s["id"] for s in report["sections"] if not s["shown"]][:2]
    ('2024-02-11', ['nps', 'cac'])
    """
    if freq not in ("W", "M", "Q", "Y"):
        raise ValueError(
            f"The 'freq' parameter of build_report must be one of {{'W', 'M', 'Q', 'Y'}}. "
            f"Got {freq!r} instead."
        )
    present = {name: frame for name, frame in frames.items() if frame is not None}
    settings = {k: dict(v) for k, v in (config or {}).items()}
    columns = dict(orders_columns) if orders_columns else None
    if engine is not None:
        from .. import engines

        engine = engines.resolve_engine(engine)
        window = engines.order_window(
            present["orders"], start=start, end=end, engine=engine, columns=columns
        )
    else:
        window = _report_window(present, start, end)
    ctx = _Context(frames=present, window=window, config=settings, freq=freq, level=level,
                   engine=engine, orders_columns=columns)  # fmt: skip

    def compute(section_id: str) -> dict[str, Any]:
        if engine is not None and section_id in _IN_MEMORY:
            return _not_on_engine(section_id, engine.name)
        first = shared_notes if section_id == _FIRST_READER else []
        return _run(section_id, lambda: _SECTIONS[section_id](ctx), strict, first)

    def announce(section: dict[str, Any]) -> None:
        if on_section is not None:
            on_section(plain({k: v for k, v in section.items() if k != "_caveats"}), ctx.currency)

    shared_notes: list[LoyaltyWarning] = []
    copies: list[Beside[Any] | _Here[Any]] = []
    elsewhere: list[str] = []  # the sections computed in a forked copy, in its order
    if parallel and engine is None and ctx.has("orders"):
        shared_notes, ok = _shared_figures(ctx, copies)
        if ok:  # a forked copy starts with them: the processes share them
            elsewhere = list(_BESIDE)
            copies.append(beside(*(partial(compute, s) for s in elsewhere)))
    done: dict[str, dict[str, Any]] = {}

    def take(sections: list[dict[str, Any]]) -> None:
        for section in sections:
            done[section["id"]] = section
            announce(section)

    try:
        for section_id in (s for s in _SECTIONS if s not in elsewhere):
            done[section_id] = compute(section_id)
            announce(done[section_id])
            if elsewhere:  # the copy's sections done meanwhile: their charts can start
                take(copies[-1].ready())
        if elsewhere:
            take(copies[-1].rest())
    finally:
        for copy in copies:  # those whose result was not needed (the check was not made...)
            copy.cancel()
    sections = [done[section_id] for section_id in _SECTIONS]
    if engine is not None:
        sections.append(_not_on_engine("data_quality", engine.name))
    else:
        sections.append(
            _run("data_quality", lambda: _section_data_quality(ctx, read_reports), strict)
        )
    noted = [
        {"section": s["id"], "about": list(n.about), "message": str(n)}
        for s in sections
        for n in s.pop("_caveats", [])
    ]
    # Shown sections first in their order, then the notes of the others (same order).
    sections = [s for s in sections if s["shown"]] + [s for s in sections if not s["shown"]]

    comparison = ctx.comparison() if ctx.has("orders") else None
    title = settings.get("report", {}).get("title") or "Customer loyalty report"
    content = {
        "schema_version": SCHEMA_VERSION,
        "title": title,
        "generated_at": (
            None
            if generated_at is None
            else pd.Timestamp(generated_at).isoformat(timespec="seconds")
        ),
        "currency": ctx.currency,
        "level": level,
        "freq": freq,
        "window": {
            "start": window.start,
            "end": window.end,
            "as_of": window.end,
            "days": None if window.empty else (window.end - window.start).days + 1,
        },
        "comparison": comparison,
        "inputs": {
            name: ctx.order_lines() if name == "orders" and engine is not None else len(frame)
            for name, frame in sorted(present.items())
        },
        "sections": sections,
        # every caveat once, with the figures it concerns (also in its section's notes)
        "caveats": noted,
        "definitions": _definitions(ctx, comparison),
    }
    return plain(content)


#: The section that reads the shared figures first (:meth:`_Context.headline`): their
#: caveats are its own.
_FIRST_READER = "kpis"

#: With ``parallel``: the sections computed in a forked copy, beside the others, in this
#: order. Customer lifetime value (two model fits) and RFM read the customer summary; CLV's
#: holdout check (a third fit) needs only the orders and starts earlier, beside the summary
#: (:func:`_shared_figures`). 10M lines: the copy and this process end within 0.1 s of each
#: other; with CLV alone the copy ended 1.1 s before this process.
_BESIDE = ("clv", "rfm")


def _shared_figures(
    ctx: _Context, copies: list[Beside[Any] | _Here[Any]]
) -> tuple[list[LoyaltyWarning], bool]:
    """Compute the figures every section reads ahead of the sections: their caveats (for the
    section that reads them first), and whether it worked. On an error nothing is kept: each
    section then meets it as it would have, with its own note.

    Once the order lines are netted, CLV's holdout check, which needs nothing else, starts
    in a forked copy (``copies``) beside the rest: the headline KPIs, the summary, then the
    CLV section's own copy, which takes the check's result when it gets to it.
    """
    try:
        with caveats.collect() as notes:
            share_kernel(ctx.frames["orders"])  # the copy starts with the netted orders
            check = beside(with_caveats(holdout_check(ctx)))
            copies.append(check)
            ctx.ahead[CALIBRATION] = check
            ctx.kpis()
            ctx.headline()
    except Exception:
        ctx.cache.clear()
        ctx.ahead.clear()
        for copy in copies:
            copy.cancel()
        copies.clear()
        return [], False
    return notes, True


#: The sections that need the order lines in memory (not computed on an engine). CLV comes
#: from the engine's customer summary (all but its holdout check), the ladder from each
#: customer's purchase count.
_IN_MEMORY = {"repeat_rate", "cac", "engagement", "programs", "points"}


def _not_on_engine(section_id: str, engine: str) -> dict[str, Any]:
    title = SECTION_TITLES[section_id]
    return {
        "id": section_id,
        "title": title,
        "shown": False,
        "note": f"{title}: not computed on the {engine} engine (it needs the order lines in "
        "memory); run the report with --engine pandas to include it.",
    }


def _report_window(
    frames: Mapping[str, pd.DataFrame], start: DateLike | None, end: DateLike | None
) -> Window:
    """The window from the orders' dates, else from the first table that has dates."""
    for table, column in (
        ("orders", "order_date"),
        ("surveys", "response_date"),
        ("events", "timestamp"),
        ("spend", "date"),
    ):
        frame = frames.get(table)
        if frame is not None and column in frame and frame[column].notna().any():
            return resolve_window(frame[column], start, end)
    return resolve_window(pd.Series([], dtype="datetime64[ns]"), start, end)


def _run(
    section_id: str,
    make: Callable[[], dict[str, Any]],
    strict: bool,
    earlier: Sequence[LoyaltyWarning] = (),
) -> dict[str, Any]:
    """One section, or its one-line note; ``earlier``: caveats of figures it reads that were
    computed ahead of it (they come first, each message once, as if raised here)."""
    head = {"id": section_id, "title": SECTION_TITLES[section_id]}
    try:
        with caveats.collect() as raised:  # the analyst's caveats on this section's figures
            body = make()
    except _Skip as skip:
        return {**head, "shown": False, "note": f"{head['title']}: not shown, {skip}"}
    except ModelFitError as exc:
        if strict:
            raise
        return {**head, "shown": False, "note": f"{head['title']}: not shown, {exc}"}
    except Exception as exc:
        if strict:
            raise
        # A failure in one section must not cost the whole Monday report: say what happened.
        message = str(exc).splitlines()[0] if str(exc) else ""
        return {
            **head,
            "shown": False,
            "note": f"{head['title']}: not shown, it failed ({type(exc).__name__}: {message}). "
            "Run with --debug for details.",
        }
    seen = {str(n) for n in earlier}
    notes = [*earlier, *(n for n in raised if str(n) not in seen)]
    for key in ("stats", "tables", "charts", "notes"):
        body.setdefault(key, [])
    body["notes"] = [*body["notes"], *(f"Caveat: {n}" for n in notes)]
    return {**head, "shown": True, "note": None, **body, "_caveats": notes}
