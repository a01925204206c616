"""Charts: each function returns a Figure whose axes hold the expected data (not pixels)."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from matplotlib.text import Text

from loyalty_metrics import charts

NAN = float("nan")


def _orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "c", "d"],
            "order_date": pd.to_datetime(
                [
                    "2024-01-05",
                    "2024-02-10",
                    "2024-01-20",
                    "2024-03-02",
                    "2024-02-03",
                    "2024-03-10",
                ]
            ),
            "amount": [10.0, 20.0, 5.0, 5.0, 8.0, 4.0],
        }
    )


# -- cohort heatmap -----------------------------------------------------------------------------


def test_cohort_heatmap_values_annotations_and_blanks():
    table = pd.DataFrame(
        {0: [100.0, 100.0, 100.0], 1: [50.0, 25.0, NAN], 2: [12.5, NAN, NAN]},
        index=pd.PeriodIndex(["2024-01", "2024-02", "2024-03"], freq="M"),
    )
    fig = charts.cohort_heatmap(table)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    data = ax.images[0].get_array()
    # unreachable cells are masked (drawn blank), never 0
    assert data.mask.tolist() == [[False, False, False], [False, False, True], [False, True, True]]
    assert data.filled(-1).tolist() == [[100.0, 50.0, 12.5], [100.0, 25.0, -1], [100.0, -1, -1]]
    texts = sorted(t.get_text() for t in ax.texts)
    # 12.5 -> "13%": display rounding is half away from zero
    assert texts == sorted(["100%", "50%", "13%", "100%", "25%", "100%"])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["2024-01", "2024-02", "2024-03"]
    assert ax.get_xlabel() == "Months since first purchase"
    # the colour bar scales on periods 1+ (period 0 is 100% by construction) and says so
    assert ax.images[0].norm.vmax == 50.0
    assert fig.axes[1].get_ylabel() == "Retention (% of cohort)"


def test_cohort_heatmap_hatches_partial_cells():
    table = pd.DataFrame({0: [100.0, 100.0], 1: [40.0, NAN]}, index=["2024-01", "2024-02"])
    status = pd.DataFrame(
        {0: ["complete", "partial"], 1: ["partial", "unreachable"]}, index=table.index
    )
    fig = charts.cohort_heatmap(table, status=status)
    hatched = [p for p in fig.axes[0].patches if p.get_hatch()]
    # two partial cells, plus the legend's sample patch
    cells = sorted((p.get_x(), p.get_y()) for p in hatched if p.get_width() == 1)
    assert cells == [(-0.5, 0.5), (0.5, -0.5)]
    assert (
        fig.axes[0].get_legend().get_texts()[0].get_text()
        == "partial: the period holding the as-of date"
    )


def test_cohort_heatmap_from_the_library_and_other_values():
    from loyalty_metrics import cohort_cell_status, cohort_table

    orders = _orders()
    table = cohort_table(orders, values="revenue")
    fig = charts.cohort_heatmap(
        table, status=cohort_cell_status(orders), values="revenue", currency="EUR"
    )
    assert fig.axes[1].get_ylabel() == "Revenue (EUR)"
    np.testing.assert_array_equal(
        fig.axes[0].images[0].get_array().filled(np.nan), table.to_numpy()
    )


def test_cohort_heatmap_draws_on_a_given_axes():
    fig = Figure()
    ax = fig.add_subplot()
    out = charts.cohort_heatmap(pd.DataFrame({0: [100.0]}, index=["2024-01"]), ax=ax)
    assert out is fig and ax.images


# -- NPS --------------------------------------------------------------------------------------


def test_nps_trend_line_band_and_low_n_markers():
    index = pd.to_datetime(["2024-01-31", "2024-02-29", "2024-03-31"])
    breakdown = pd.DataFrame(
        {
            "nps": [10.0, 20.0, NAN],
            "ci_low": [0.0, 8.0, NAN],
            "ci_high": [20.0, 31.0, NAN],
            "responses": [40, 12, 0],
            "low_n": [False, True, True],
        },
        index=index,
    )
    fig = charts.nps_trend(breakdown)
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [10.0, 20.0, NAN])
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert {0.0, 8.0, 20.0, 31.0} <= set(np.round(band, 6))
    # filled markers for the solid period, hollow ones for the low-n period
    solid, hollow = ax.collections[1], ax.collections[2]
    assert solid.get_offsets()[:, 1].tolist() == [10.0]
    assert hollow.get_offsets()[:, 1].tolist() == [20.0]
    assert ax.get_ylabel().startswith("NPS (points")
    assert [t.get_text() for t in fig.legends[0].get_texts()][:2] == ["NPS", "95% interval"]


def test_nps_trend_draws_a_partial_period_dashed_and_hollow():
    # the 9-day March is partial: out of the solid line, a dashed segment from February
    # (20 -> 5) ending in a hollow marker, and no filled scatter marker of its own
    index = pd.to_datetime(["2024-01-31", "2024-02-29", "2024-03-09"])
    breakdown = pd.DataFrame(
        {
            "nps": [10.0, 20.0, 5.0],
            "ci_low": [0.0, 8.0, -20.0],
            "ci_high": [20.0, 31.0, 30.0],
            "responses": [40, 50, 35],
        },
        index=index,
    )
    fig = charts.nps_trend(breakdown, status=["complete", "complete", "partial"])
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [10.0, 20.0, NAN])
    dashed, hollow = ax.lines[1], ax.lines[2]
    assert dashed.get_linestyle() == "--"
    assert dashed.get_ydata().tolist() == [20.0, 5.0]
    assert hollow.get_markerfacecolor() == "white" and hollow.get_ydata().tolist() == [5.0]
    assert ax.collections[1].get_offsets()[:, 1].tolist() == [10.0, 20.0]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(text.startswith("partial period") for text in legend)
    # without a status nothing is dashed
    plain = charts.nps_trend(breakdown).axes[0]
    assert "--" not in [line.get_linestyle() for line in plain.lines]


def test_nps_trend_takes_nps_breakdown_output():
    from loyalty_metrics import nps_breakdown

    surveys = pd.DataFrame(
        {
            "score": [10.0, 9.0, 3.0, 8.0, 10.0, 0.0],
            "response_date": pd.to_datetime(
                [
                    "2024-01-03",
                    "2024-01-20",
                    "2024-02-01",
                    "2024-02-11",
                    "2024-03-05",
                    "2024-03-09",
                ]
            ),
        }
    )
    breakdown = nps_breakdown(surveys, freq="M")
    fig = charts.nps_trend(breakdown)
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), breakdown["nps"].to_numpy())


def test_nps_distribution_counts_scores_0_to_10():
    fig = charts.nps_distribution(pd.Series([10.0, 9.0, 9.0, 3.0, NAN, 7.0]))
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == [0, 0, 0, 1, 0, 0, 0, 1, 0, 2, 1]
    colours = {mpl.colors.to_hex(p.get_facecolor()) for p in fig.axes[0].patches[:7]}
    assert colours == {"#d55e00"}  # detractors in vermillion
    counts = pd.Series([5, 1], index=[0, 10])
    again = charts.nps_distribution(counts, counts=True)
    assert [p.get_height() for p in again.axes[0].patches] == [5] + [0] * 9 + [1]
    frame = charts.nps_distribution(pd.DataFrame({"score": [9.0, 9.0]}))
    assert frame.axes[0].patches[9].get_height() == 2


# -- ladder -----------------------------------------------------------------------------------


def test_ladder_funnel_counts_each_rung_or_above():
    # lead 40, buyer 30, repeat 20, advocate 5: reached 95, 55, 25, 5
    fig = charts.ladder_funnel(pd.Series({"lead": 40, "buyer": 30, "repeat": 20, "advocate": 5}))
    ax = fig.axes[0]
    assert [p.get_width() for p in ax.patches] == [95.0, 55.0, 25.0, 5.0]
    # bars are centred: left edges move in by half the difference
    assert [p.get_x() for p in ax.patches] == [0.0, 20.0, 35.0, 45.0]
    labels = [t.get_text() for t in ax.texts]
    # count and share of all known customers, then the conversion from the rung above
    assert labels == [
        "95  (100.0% of known)",
        "55  (57.9% of known)",
        "57.9% of the rung above",  # 55 / 95
        "25  (26.3% of known)",
        "45.5% of the rung above",  # 25 / 55
        "5  (5.3% of known)",
        "20.0% of the rung above",  # 5 / 25
    ]
    assert "n = 95 known customers" in ax.get_title()


def test_ladder_funnel_takes_loyalty_ladder_output():
    from loyalty_metrics import loyalty_ladder

    ladder = loyalty_ladder(_orders())  # a, b repeat; c, d buyers
    fig = charts.ladder_funnel(ladder)
    assert [p.get_width() for p in fig.axes[0].patches] == [4.0, 4.0, 2.0, 0.0]


# -- distributions ----------------------------------------------------------------------------


def test_clv_distribution_raw_values_with_mean_and_median():
    values = pd.Series([10.0, 20.0, 20.0, 40.0])
    fig = charts.clv_distribution(values, bins=3, clip_quantile=1.0, currency="EUR")
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == [1.0, 2.0, 1.0]
    assert ax.lines[0].get_xdata()[0] == pytest.approx(22.5)  # mean
    assert ax.lines[1].get_xdata()[0] == pytest.approx(20.0)  # median
    assert ax.get_xlabel() == "CLV (EUR)"
    assert "n = 4 customers" in ax.get_title()


def test_clv_distribution_clips_the_tail_into_the_last_bar():
    values = pd.Series(np.r_[np.arange(1.0, 100.0), 10_000.0])
    fig = charts.clv_distribution(values, bins=10, clip_quantile=0.99)
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert sum(heights) == 100
    # the 10,000 outlier does not stretch the axis: it sits in the last bar (p99 = 198.01...)
    assert fig.axes[0].get_xlim()[1] < 250
    assert fig.axes[0].texts[0].get_text().startswith("≥ ")


def test_clv_distribution_from_precomputed_bins():
    bins = pd.DataFrame(
        {
            "left": [0.0, 10.0],
            "right": [10.0, 20.0],
            "customers": [3, 1],
            "open_right": [False, True],
        }
    )
    fig = charts.clv_distribution(bins, mean=7.0, median=5.0)
    ax = fig.axes[0]
    assert [(p.get_x(), p.get_width(), p.get_height()) for p in ax.patches] == [
        (0.0, 10.0, 3.0),
        (10.0, 10.0, 1.0),
    ]
    assert ax.texts[0].get_text() == "≥ 20.0"
    assert "n = 4 customers" in ax.get_title()


def test_engagement_distribution_counts_inactive_customers_apart():
    scores = pd.DataFrame({"score": [0.0, 0.0, 0.0, 30.0, 80.0]})
    fig = charts.engagement_distribution(scores, bins=2)
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == [1.0, 1.0]
    assert ax.get_title() == "Engagement of the 2 active customers (3 inactive scored 0)"
    assert ax.lines[0].get_xdata()[0] == pytest.approx(22.0)  # mean over all 5 known


# -- bars, trends, calibration ----------------------------------------------------------------


def test_bar_chart_values_whiskers_low_n_and_missing():
    values = pd.Series({"a": 10.0, "b": 25.0, "c": NAN})
    fig = charts.bar_chart(
        values,
        low=pd.Series({"a": 5.0, "b": 20.0}),
        high=pd.Series({"a": 16.0, "b": 31.0}),
        low_n=pd.Series({"a": True}),
        suffix="%",
    )
    ax = fig.axes[0]
    assert [p.get_width() for p in ax.patches] == [10.0, 25.0, 0.0]
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["10.0%  low n", "25.0%", "n/a"]
    segments = ax.collections[0].get_segments()
    assert [tuple(s[:, 0]) for s in segments[:2]] == [(5.0, 16.0), (20.0, 31.0)]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]


def test_kpi_trends_small_multiples_and_on_one_axes():
    frame = pd.DataFrame(
        {"revenue": [10.0, 12.0, 9.0], "nps": [5.0, 9.0, NAN], "cac": [NAN, NAN, NAN]},
        index=pd.to_datetime(["2024-01-31", "2024-02-29", "2024-03-31"]),
    )
    fig = charts.kpi_trends(frame, currency="EUR")
    # cac has no value: left out by default
    assert [a.get_title() for a in fig.axes] == ["Revenue (EUR)", "NPS (points)"]
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_ydata(), [10.0, 12.0, 9.0])
    one = Figure().add_subplot()
    charts.kpi_trends(frame, ["nps", "revenue"], ax=one)
    assert [line.get_label() for line in one.lines] == ["NPS (points)", "Revenue"]


def test_kpi_trends_takes_kpis_by_period():
    from loyalty_metrics import kpis_by_period

    table = kpis_by_period(_orders(), freq="M", window="period")
    fig = charts.kpi_trends(table, ["customers", "revenue"])
    np.testing.assert_array_equal(fig.axes[1].lines[0].get_ydata(), table["revenue"].to_numpy())


def test_calibration_vs_holdout_groups_by_calibration_frequency():
    table = pd.DataFrame(
        {
            "frequency_cal": [0, 0, 1, 2, 9, 12],
            "frequency_holdout": [0, 1, 1, 3, 5, 7],
            "predicted_holdout": [0.4, 0.4, 1.1, 2.5, 6.0, 8.0],
        }
    )
    fig = charts.calibration_vs_holdout(table, max_frequency=7)
    ax = fig.axes[0]
    # groups 0, 1, 2, 7+ (9 and 12)
    assert ax.lines[0].get_ydata().tolist() == [0.5, 1.0, 3.0, 6.0]
    assert ax.lines[1].get_ydata().tolist() == pytest.approx([0.4, 1.1, 2.5, 7.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "0\nn=2",
        "1\nn=1",
        "2\nn=1",
        "7+\nn=2",
    ]
    # already grouped, as models.evaluate(...).by_frequency gives it
    grouped = pd.DataFrame(
        {"customers": [3, 0, 1], "actual": [0.5, float("nan"), 2.0], "predicted": [0.4, 0.9, 2.2]},
        index=["0", "1", "2+"],
    )
    again = charts.calibration_vs_holdout(grouped, max_frequency=2)
    assert [t.get_text() for t in again.axes[0].get_xticklabels()] == [
        "0\nn=3",
        "1\nn=0",
        "2+\nn=1",
    ]
    np.testing.assert_array_equal(again.axes[0].lines[1].get_ydata(), [0.4, 0.9, 2.2])
    assert [line.get_label() for line in ax.lines] == ["actual", "model"]


# -- output and global state ------------------------------------------------------------------


def test_figure_bytes_are_deterministic_png_and_svg():
    def draw() -> Figure:
        return charts.ladder_funnel(pd.Series({"lead": 3, "buyer": 2}))

    png = charts.figure_bytes(draw(), "png")
    assert png.startswith(b"\x89PNG") and png == charts.figure_bytes(draw(), "png")
    svg = charts.figure_bytes(draw(), "svg")
    assert svg.lstrip().startswith(b"<?xml") and svg == charts.figure_bytes(draw(), "svg")
    with pytest.raises(ValueError, match="'format' parameter"):
        charts.figure_bytes(draw(), "jpg")


def test_charts_leave_rcparams_alone():
    before = dict(mpl.rcParams)
    charts.nps_distribution(pd.Series([9.0, 3.0]))
    assert dict(mpl.rcParams) == before


def test_no_pyplot_and_lazy_matplotlib():
    code = (
        "import sys, pandas as pd\n"
        "import loyalty_metrics, loyalty_metrics.charts as c\n"
        "assert 'matplotlib' not in sys.modules, 'imported at import time'\n"
        "c.bar_chart(pd.Series({'a': 1.0}))\n"
        "assert 'matplotlib' in sys.modules\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot used'\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# -- labels from the data are drawn verbatim ----------------------------------------------------

_label_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("$^_\\{}%#&~ \t\n\r\x00\x07\x1b\x7f\x85")),
        st.characters(codec="utf-8", exclude_categories=["Cs"]),
    ),
    max_size=120,
)


def _expected_label(text: str) -> str:
    text = "".join(
        c for c in text.replace("\t", " ") if c == "\n" or not (ord(c) < 32 or 127 <= ord(c) < 160)
    )
    return text if len(text) <= 80 else text[:79] + "…"


@given(labels=st.lists(_label_text, min_size=1, max_size=4, unique=True), title=_label_text)
@settings(max_examples=40, deadline=None)
def test_any_label_is_drawn_verbatim_without_a_warning(labels, title):
    # mathtext ($x^$, Save $5 or $10), TeX specials, control characters, long labels, glyphs the
    # font lacks: drawing never fails, never warns on stderr, and shows the text as given
    values = pd.Series(np.arange(1.0, len(labels) + 1), index=labels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = charts.bar_chart(values, title=title, xlabel=title)
        png = charts.figure_bytes(fig)
    assert png[:4] == b"\x89PNG"
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [_expected_label(s) for s in labels]
    assert ax.get_title() == _expected_label(title)
    assert all(not t.get_parse_math() and not t.get_usetex() for t in fig.findobj(Text))


def test_mathtext_is_off_even_when_the_callers_rc_asks_for_tex():
    with mpl.rc_context({"text.parse_math": True}):
        fig = charts.bar_chart(pd.Series({"$x^$": 1.0, "Save $5 or $10": 2.0}))
        charts.figure_bytes(fig, "svg")
    labels = fig.axes[0].get_yticklabels()
    assert [t.get_text() for t in labels] == ["$x^$", "Save $5 or $10"]
    assert not any(t.get_parse_math() for t in labels)


def test_report_with_dollar_channel_names_writes_and_keeps_stderr_empty(tmp_path):
    # Found by the adversarial run: a spend channel named $x^$ crashed the report in mathtext.
    from click.testing import CliRunner

    from loyalty_metrics.cli import cli

    sample = Path(__file__).parents[1] / "sample_data"
    (tmp_path / "orders.csv").write_bytes((sample / "orders.csv").read_bytes())
    for name in ("spend.csv", "customers.csv"):
        text = (sample / name).read_text()
        text = text.replace(",search", ",$x^$").replace(",social", ",Save $5 or $10\x07")
        (tmp_path / name).write_text(text)
    out = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["report", str(tmp_path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    # nothing from matplotlib: stderr holds only the report's caveats on its figures
    caveat_subjects = ("new_customers equals", "cohort_table:", "churn_rate:", "predictive_clv:")
    for line in result.stderr.splitlines():
        assert line.startswith("Warning: ") and line[9:].startswith(caveat_subjects), line
    assert "$x^$" in out.read_text()
