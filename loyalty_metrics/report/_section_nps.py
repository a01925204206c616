"""The Net Promoter Score section."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .._stats import wilson_interval
from .._window import period_status
from ._blocks import _chart, _column, _float, _interval_column, _period_frame, _stat, _table
from ._catalogue import HEADLINE
from ._context import _Context, _Skip


def _section_nps(ctx: _Context) -> dict[str, Any]:
    ctx.require("surveys")
    surveys = ctx.surveys_in_window()
    scores = surveys["score"].dropna()
    if scores.empty:
        raise _Skip("needs NPS answers (the surveys in the window have no scores).")
    from ..metrics.survey import nps_breakdown

    options = {
        "method": ctx.options.nps_method,
        "level": ctx.level,
        "start": ctx.start,
        "end": ctx.end,
    }
    overall = nps_breakdown(surveys, **options)
    row = overall.iloc[0]
    n = _float(row["responses"])
    stats = [
        _stat(
            "nps",
            "NPS",
            _float(row["nps"]),
            "points",
            n=n,
            n_label="responses",
            ci_low=_float(row["ci_low"]),
            ci_high=_float(row["ci_high"]),
            definition=HEADLINE["nps"][2],
        ),
    ]
    for group in ("promoters", "passives", "detractors"):
        count = _float(row[group])
        share = _float(row.get(f"{group}_share", None))
        if share is None and n and count is not None:
            share = 100 * count / n
        low, high = (
            wilson_interval(count, n, level=ctx.level) if n and count is not None else (None, None)
        )
        stats.append(
            _stat(
                group,
                group.capitalize(),
                share,
                "percent",
                n=n,
                n_label="responses",
                ci_low=_float(low),
                ci_high=_float(high),
            )
        )
    section: dict[str, Any] = {"stats": stats, "tables": [], "charts": []}

    counts = scores.round().astype("int64").value_counts().reindex(range(11), fill_value=0)
    distribution = pd.DataFrame({"score": range(11), "responses": counts.to_numpy()})
    distribution["share"] = 100 * distribution["responses"] / max(len(scores), 1)
    section["tables"].append(
        _table(
            "distribution",
            "Answers 0–10",
            distribution,
            [
                _column("score", "Score", "count"),
                _column("responses", "Responses", "count"),
                _column("share", "Share", "percent"),
            ],
            collapsed=True,
        )
    )
    section["charts"].append(
        _chart(
            "nps_distribution", "nps_distribution", "Distribution of answers", table="distribution"
        )
    )

    if "response_date" in surveys and surveys["response_date"].notna().any():
        trend = nps_breakdown(surveys, freq=ctx.freq, **options)
        if len(trend) >= 2:
            status = period_status(trend.index, ctx.freq, start=ctx.start, end=ctx.end)
            charted = trend["nps"].notna().sum() >= 2  # one point is no trend
            trend = _period_frame(trend)
            trend.insert(1, "status", status)
            section["tables"].append(
                _table(
                    "trend",
                    "NPS by period",
                    trend,
                    [
                        _column("period", "Period end", "date"),
                        _column("status", "Status"),
                        _column("nps", "NPS", "points"),
                        _interval_column("points", ctx.level),
                        _column("responses", "Responses", "count"),
                        _column("low_n", "", "flag"),
                    ],
                    collapsed=True,
                )
            )
            if charted:
                section["charts"].append(
                    _chart("nps_trend", "nps_trend", "NPS by period", table="trend")
                )
    if "segment" in surveys and surveys["segment"].notna().any():
        by_segment = nps_breakdown(surveys, by="segment", **options)
        by_segment.index = by_segment.index.astype("str")
        by_segment = by_segment.rename_axis("segment").reset_index()
        section["tables"].append(
            _table(
                "by_segment",
                "NPS by segment",
                by_segment,
                [
                    _column("segment", "Segment"),
                    _column("nps", "NPS", "points"),
                    _interval_column("points", ctx.level),
                    _column("responses", "Responses", "count"),
                    _column("low_n", "", "flag"),
                ],
            )
        )
    comments = _recent_comments(surveys)
    if comments is not None:
        section["tables"].append(comments)
    if "csat" in surveys and surveys["csat"].notna().any():
        answers = surveys["csat"].dropna()
        k, n_csat = int((answers >= 4).sum()), len(answers)
        low, high = wilson_interval(k, n_csat, level=ctx.level)
        stats.append(
            _stat(
                "csat",
                "CSAT",
                100 * k / n_csat,
                "percent",
                n=n_csat,
                n_label="CSAT answers",
                ci_low=float(low),
                ci_high=float(high),
                definition=HEADLINE["csat"][2],
            )
        )
    return section


#: How many of the latest comments the NPS section quotes.
COMMENTS_SHOWN = 10


def _recent_comments(surveys: pd.DataFrame) -> dict[str, Any] | None:
    """The latest survey comments with their score (what customers say, in their words)."""
    if "comment" not in surveys:
        return None
    rows = surveys.loc[surveys["comment"].notna() & (surveys["comment"].astype("str") != "")]
    if rows.empty:
        return None
    if "response_date" in rows:
        rows = rows.sort_values("response_date", ascending=False, kind="stable")
    else:
        rows = rows.iloc[::-1]
    rows = rows.head(COMMENTS_SHOWN)
    keep = [
        c for c in ("response_date", "customer_id", "score", "segment", "comment") if c in rows
    ]
    frame = rows[keep].copy()
    for column in ("customer_id", "segment", "comment"):
        if column in frame:
            frame[column] = frame[column].astype("object").where(frame[column].notna(), None)
            frame[column] = [None if v is None else str(v) for v in frame[column]]
    columns = [
        _column(c, label, unit)
        for c, label, unit in (
            ("response_date", "Date", "date"),
            ("customer_id", "Customer", "text"),
            ("score", "Score", "count"),
            ("segment", "Segment", "text"),
            ("comment", "Comment", "text"),
        )
        if c in frame
    ]
    return _table("comments", f"Latest {len(frame)} comments", frame, columns, collapsed=True)
