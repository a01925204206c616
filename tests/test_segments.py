"""Tests of loyalty_metrics.segments: ladder, transitions, loyalty loop, RFM."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_metrics.errors import ConfigError
from loyalty_metrics.segments import (
    DEFAULT_SEGMENT_MAP,
    LADDER_STAGES,
    _below,
    _scores,
    ladder_transitions,
    loyalty_ladder,
    loyalty_loop,
    rfm_segments,
)


def _orders(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    frame["amount"] = frame["amount"].astype("float64")
    return frame


def _surveys(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "response_date", "score", "csat"])
    frame["response_date"] = pd.to_datetime(frame["response_date"])
    frame["score"] = frame["score"].astype("float64")
    frame["csat"] = frame["csat"].astype("float64")
    return frame


# ---------------------------------------------------------------------------------------------
# Ladder
LADDER_ORDERS = _orders(
    [
        ("a", "2024-01-01", 10.0),
        ("a", "2024-02-01", 10.0),  # a: repeat, latest NPS 9 -> advocate
        ("b", "2024-01-05", 5.0),  # b: buyer
        ("c", "2024-01-02", 5.0),
        ("c", "2024-02-02", 5.0),  # c: repeat (its 10 comes after end)
        ("d", "2024-01-03", -4.0),  # d: a return only -> lead
        ("e", "2024-01-04", 1.0),
        ("e", "2024-01-05", 1.0),
        ("e", "2024-01-06", 0.0),  # e: repeat ($0 counts), referred f who bought -> advocate
        ("f", "2024-02-10", 3.0),  # f: buyer
        ("g", "2024-01-07", 1.0),
        ("g", "2024-01-08", 1.0),  # g: repeat; scored 10 then 8: the latest (8) counts
        ("h", "2024-01-09", 1.0),
        ("h", "2024-01-10", 1.0),  # h: repeat; referred i, who never bought
        ("z", "2024-03-20", 9.0),  # after end: unknown
    ]
)
LADDER_SURVEYS = _surveys(
    [
        ("a", "2024-02-03", 9, np.nan),
        (None, "2024-02-03", 10, np.nan),  # anonymous: ignored
        ("s", "2024-01-15", 3, np.nan),  # respondent without purchases -> lead
        ("g", "2024-01-20", 10, np.nan),
        ("g", "2024-02-20", 8, np.nan),
        ("c", "2024-03-10", 10, np.nan),  # after end
        ("q", "2024-03-10", 10, np.nan),  # after end: q not known yet
    ]
)
LADDER_CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["k", "f", "i", "late"],
        "signup_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-01", "2024-03-05"]),
        "referred_by": [None, "e", "h", None],
    }
)
END = "2024-02-29"


def test_ladder_hand_worked():
    ladder = loyalty_ladder(LADDER_ORDERS, LADDER_SURVEYS, LADDER_CUSTOMERS, end=END)
    expected = {
        "a": "advocate",
        "b": "buyer",
        "c": "repeat",
        "d": "lead",
        "e": "advocate",
        "f": "buyer",
        "g": "repeat",
        "h": "repeat",
        "i": "lead",
        "k": "lead",
        "s": "lead",
    }
    assert ladder["stage"].astype(str).to_dict() == expected
    assert list(ladder.index) == sorted(expected)
    assert list(ladder["stage"].cat.categories) == list(LADDER_STAGES)
    assert ladder["stage"].cat.ordered
    assert ladder.loc["e", "converted_referrals"] == 1
    assert ladder.loc["h", "converted_referrals"] == 0
    assert ladder.loc["g", "latest_score"] == 8
    assert ladder.loc["d", "purchases"] == 0 and ladder.loc["e", "purchases"] == 3


def test_ladder_without_surveys_or_customers():
    ladder = loyalty_ladder(LADDER_ORDERS, end=END)
    assert ladder.loc["a", "stage"] == "repeat"  # no NPS known: not an advocate
    assert "k" not in ladder.index and ladder.loc["d", "stage"] == "lead"


def test_ladder_as_of_equals_truncated_data():
    full = loyalty_ladder(LADDER_ORDERS, LADDER_SURVEYS, LADDER_CUSTOMERS, end=END)
    cut = loyalty_ladder(
        LADDER_ORDERS[LADDER_ORDERS["order_date"] <= END],
        LADDER_SURVEYS[LADDER_SURVEYS["response_date"] <= END],
        LADDER_CUSTOMERS[LADDER_CUSTOMERS["signup_date"] <= END],
        end=END,
    )
    pd.testing.assert_frame_equal(full, cut)


def test_ladder_transitions_hand_worked():
    moves = ladder_transitions(
        LADDER_ORDERS, LADDER_SURVEYS, LADDER_CUSTOMERS, start="2024-01-31", end=END
    )
    # As of Jan 31: a buyer, b buyer, c buyer, d lead, e repeat (f not yet bought), g repeat
    # (latest 10 -> advocate), h repeat, i lead, k lead, s lead; f known (signed up Feb 1)? no.
    # As of Feb 29: a advocate, b buyer, c repeat, e advocate, f buyer (new), g repeat (slipped).
    counts = moves["customers"]
    assert counts.loc["buyer"].tolist() == [0, 1, 1, 1, 3]  # b stays, c climbs, a -> advocate
    assert counts.loc["repeat"].tolist() == [0, 0, 1, 1, 2]  # h stays, e -> advocate
    assert counts.loc["advocate"].tolist() == [0, 0, 1, 0, 1]  # g slipped to repeat
    assert counts.loc["lead"].tolist() == [4, 0, 0, 0, 4]  # d, i, k, s
    assert counts.loc["new"].tolist() == [0, 1, 0, 0, 1]  # f
    assert counts["total"].sum() == 11
    shares = moves["row_share"]
    np.testing.assert_allclose(shares.loc["buyer"], [0, 100 / 3, 100 / 3, 100 / 3])
    np.testing.assert_allclose(shares.sum(axis=1), [100, 100, 100, 100, 100])


def test_ladder_transitions_empty_rows_are_nan():
    orders = _orders([("a", "2024-01-01", 1.0)])
    moves = ladder_transitions(orders, start="2024-01-01", end="2024-01-01")
    assert np.isnan(moves["row_share"].loc["lead"]).all()
    assert moves["customers"].loc["buyer", "buyer"] == 1
    with pytest.raises(ValueError, match="after end"):
        ladder_transitions(orders, start="2024-02-01", end="2024-01-01")


@st.composite
def _ladder_inputs(draw):
    ids = st.sampled_from(list("abcdefgh"))
    n = draw(st.integers(0, 15))
    orders = _orders(
        [
            (
                draw(ids),
                pd.Timestamp("2024-01-01") + pd.Timedelta(days=draw(st.integers(0, 60))),
                draw(st.sampled_from([-2.0, 0.0, 5.0])),
            )
            for _ in range(n)
        ]
    )
    m = draw(st.integers(0, 6))
    surveys = _surveys(
        [
            (
                draw(st.one_of(st.none(), ids)),
                pd.Timestamp("2024-01-01") + pd.Timedelta(days=draw(st.integers(0, 60))),
                draw(st.integers(0, 10)),
                np.nan,
            )
            for _ in range(m)
        ]
    )
    k = draw(st.integers(0, 5))
    customers = pd.DataFrame(
        {
            "customer_id": [draw(ids) for _ in range(k)],
            "referred_by": [draw(st.one_of(st.none(), ids)) for _ in range(k)],
        }
    )
    return orders, surveys, customers


@settings(max_examples=50, deadline=None)
@given(_ladder_inputs())
def test_property_every_known_customer_gets_exactly_one_stage(inputs):
    orders, surveys, customers = inputs
    end = "2024-03-01"
    ladder = loyalty_ladder(orders, surveys, customers, end=end)
    known = (
        set(orders["customer_id"])
        | set(customers["customer_id"])
        | set(surveys["customer_id"].dropna())
    )
    assert set(ladder.index) == known
    assert ladder.index.is_unique
    assert ladder["stage"].notna().all()
    assert set(ladder["stage"].astype(str)) <= set(LADDER_STAGES)
    # stage agrees with the purchase count
    assert ((ladder["stage"] == "lead") == (ladder["purchases"] == 0)).all()
    assert ((ladder["stage"] == "buyer") == (ladder["purchases"] == 1)).all()
    moves = ladder_transitions(orders, surveys, customers, start="2024-01-20", end=end)
    assert moves["customers"]["total"].sum() == len(ladder)


# ---------------------------------------------------------------------------------------------
# Loyalty loop
def test_loyalty_loop_hand_worked():
    orders = _orders(
        [
            ("a", "2024-01-01", 1.0),
            ("a", "2024-01-11", 1.0),  # a: one gap (10) <= population median -> bond
            ("b", "2024-01-02", 1.0),  # b: single purchase; promoter after it -> advocacy
            ("c", "2024-01-03", 1.0),  # c: CSAT 5 after it -> enjoyment
            ("d", "2024-01-04", 1.0),  # d: its NPS 10 came before the purchase -> purchase
            ("d", "2024-02-20", 1.0),  # gap 47 > median -> no bond
            ("e", "2024-01-01", 1.0),
            ("e", "2024-01-21", 1.0),
            ("e", "2024-01-23", 1.0),  # e: gaps 20, 2 -> own median 11, last gap 2 -> bond
            ("f", "2024-02-01", 1.0),  # f: referred g who bought later -> advocacy
            ("g", "2024-02-05", 1.0),
        ]
    )
    surveys = _surveys(
        [
            ("b", "2024-01-05", 10, np.nan),
            ("c", "2024-01-03", np.nan, 5),  # same day as the purchase counts
            ("d", "2024-01-10", 10, np.nan),
            ("c", "2024-03-01", 10, np.nan),  # after end: ignored
        ]
    )
    customers = pd.DataFrame({"customer_id": ["g"], "referred_by": ["f"]})
    end = "2024-02-29"
    out = loyalty_loop(orders, surveys, customers, output="customers", end=end)
    # Population gaps: 10, 47, 20, 2 -> median 15.
    assert out["stage"].astype(str).to_dict() == {
        "a": "bond",
        "b": "advocacy",
        "c": "enjoyment",
        "d": "purchase",
        "e": "bond",
        "f": "advocacy",
        "g": "purchase",
    }
    assert out.loc["a", "usual_gap_days"] == 15 and out.loc["e", "usual_gap_days"] == 11
    funnel = loyalty_loop(orders, surveys, customers, end=end, include_all=True)
    # Jan cohort a, b, c, d, e: enjoyment+ 4 (a, b, c, e), advocacy+ 3 (a, b, e), bond 2.
    jan = funnel.loc[pd.Period("2024-01", "M")]
    assert jan[["buyers", "enjoyment", "advocacy", "bond"]].tolist() == [5, 4, 3, 2]
    assert jan["bond_share"] == pytest.approx(40.0)
    feb = funnel.loc[pd.Period("2024-02", "M")]
    assert feb[["buyers", "enjoyment", "advocacy", "bond"]].tolist() == [2, 1, 1, 0]
    assert funnel.loc["All cohorts", "buyers"] == 7


def test_loyalty_loop_without_surveys_has_only_purchase_and_bond():
    orders = _orders([("a", "2024-01-01", 1.0), ("b", "2024-01-05", 1.0)])
    funnel = loyalty_loop(orders)
    assert funnel[["buyers", "enjoyment", "advocacy", "bond"]].iloc[0].tolist() == [2, 0, 0, 0]
    with pytest.raises(ConfigError, match="'output' parameter of loyalty_loop"):
        loyalty_loop(orders, output="table")


# ---------------------------------------------------------------------------------------------
# RFM
def test_default_map_covers_every_cell_once():
    grid = np.zeros((5, 5), dtype=int)
    for r_scores, f_scores in DEFAULT_SEGMENT_MAP.values():
        for r in r_scores:
            for f in f_scores:
                grid[r - 1, f - 1] += 1
    assert (grid == 1).all()
    assert len(DEFAULT_SEGMENT_MAP) == 10


def test_rfm_ties_always_share_a_score():
    # 10 customers: 8 bought once (tie), 2 bought twice; revenue ties in pairs.
    rows = []
    for i in range(10):
        cid = f"c{i}"
        rows.append((cid, "2024-01-01", float(i // 2)))
        if i >= 8:
            rows.append((cid, "2024-01-02", 0.0))
    rfm = rfm_segments(_orders(rows), end="2024-01-31")
    # F: 8 tied at 1 purchase -> 0 below -> F1; the two with 2 -> 8 below -> 1 + floor(4) = 5.
    assert rfm["F"].tolist() == [1] * 8 + [5, 5]
    # M pairs: 0,0,1,1,2,2,3,3,4,4 -> below 0,0,2,2,4,4,6,6,8,8 -> 1,1,2,2,3,3,4,4,5,5.
    assert rfm["M"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # R: 8 last bought Jan 1 (tied, lowest), 2 on Jan 2 -> R1 and R5.
    assert rfm["R"].tolist() == [1] * 8 + [5, 5]
    assert rfm["rfm"].tolist()[-1] == "555"
    assert rfm["segment"].astype(str).tolist() == ["Hibernating"] * 8 + ["Champions"] * 2
    # Order of rows in the input changes nothing.
    shuffled = _orders(rows).sample(frac=1.0, random_state=1)
    pd.testing.assert_frame_equal(rfm, rfm_segments(shuffled, end="2024-01-31"))


def test_rfm_columns_and_recency():
    rfm = rfm_segments(_orders([("a", "2024-01-01", 5.0), ("b", "2024-01-11", 5.0)]))
    assert list(rfm.columns) == [
        "recency_days",
        "purchases",
        "revenue",
        "R",
        "F",
        "M",
        "rfm",
        "segment",
    ]
    assert rfm["recency_days"].tolist() == [10.0, 0.0]
    assert rfm["R"].tolist() == [1, 3]  # b: 1 of 2 below -> 1 + floor(5 * 0.5)


def test_rfm_custom_map_and_bins():
    orders = _orders([("a", "2024-01-01", 5.0), ("b", "2024-01-11", 5.0)])
    rfm = rfm_segments(orders, bins=2, segment_map={"old": (1, (1, 2)), "recent": (2, [1, 2])})
    assert rfm["segment"].astype(str).tolist() == ["old", "recent"]
    assert list(rfm["segment"].cat.categories) == ["old", "recent"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bins": 3}, "defined on 5 scores"),
        ({"bins": 0}, "'bins' parameter of rfm_segments"),
        ({"bins": 2, "segment_map": {"x": (1, 1)}}, "uncovered: R1 F2, R2 F1, R2 F2"),
        (
            {"bins": 1, "segment_map": {"x": (1, 1), "y": (1, 1)}},
            r"in two segments: R1 F1 \(x and y\)",
        ),
        ({"bins": 2, "segment_map": {"x": (3, 1)}}, "outside 1..2"),
        ({"bins": 2, "segment_map": {"x": 1}}, "pair"),
    ],
)
def test_rfm_parameter_errors(kwargs, message):
    orders = _orders([("a", "2024-01-01", 5.0)])
    with pytest.raises(ConfigError, match=message):
        rfm_segments(orders, **kwargs)


def test_rfm_empty_orders():
    rfm = rfm_segments(_orders([("a", "2024-01-01", -5.0)]))
    assert len(rfm) == 0 and "segment" in rfm.columns


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([f"c{i}" for i in range(12)]),
            st.integers(0, 90),
            st.sampled_from([0.0, 1.0, 2.5, 10.0, 99.0]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_property_every_customer_gets_exactly_one_segment(rows):
    orders = _orders(
        [(c, pd.Timestamp("2024-01-01") + pd.Timedelta(days=d), a) for c, d, a in rows]
    )
    rfm = rfm_segments(orders)
    assert rfm.index.is_unique and set(rfm.index) == set(orders["customer_id"])
    assert rfm["segment"].notna().all()
    assert set(rfm["segment"].astype(str)) <= set(DEFAULT_SEGMENT_MAP)
    for score in ("R", "F", "M"):
        assert rfm[score].between(1, 5).all()
    # Ties share a score: equal values -> equal scores (and a higher value never scores lower).
    for value, score in (("purchases", "F"), ("revenue", "M"), ("recency_days", "R")):
        ordered = rfm.sort_values(value, ascending=(value != "recency_days"))
        assert ordered.groupby(value)[score].nunique().eq(1).all()
        assert ordered[score].is_monotonic_increasing


@settings(max_examples=40, deadline=None)
@given(_ladder_inputs())
def test_property_every_buyer_gets_exactly_one_loop_stage(inputs):
    orders, surveys, customers = inputs
    end = "2024-03-01"
    stages = loyalty_loop(orders, surveys, customers, output="customers", end=end)
    buyers = orders.loc[orders["amount"] >= 0, "customer_id"]
    assert set(stages.index) == set(buyers) and stages.index.is_unique
    assert stages["stage"].notna().all()
    funnel = loyalty_loop(orders, surveys, customers, include_all=True, end=end)
    if len(stages):
        counts = funnel[["buyers", "enjoyment", "advocacy", "bond"]].to_numpy()
        assert (np.diff(counts, axis=1) <= 0).all()  # a funnel: never widens
        assert funnel["buyers"].iloc[-1] == len(stages)


def test_rfm_accepts_a_customer_summary():
    from loyalty_metrics.summary import customer_summary

    orders = LADDER_ORDERS
    pd.testing.assert_frame_equal(
        rfm_segments(customer_summary(orders, end=END)), rfm_segments(orders, end=END)
    )


@settings(max_examples=40, deadline=None)
@given(bins=st.integers(1, 14), seed=st.integers(0, 10_000), n=st.integers(0, 60))
def test_rfm_codes_are_the_scores_written_side_by_side(bins, seed, n):
    from loyalty_metrics.segments import _rfm_codes

    rng = np.random.default_rng(seed)
    r, f, m = (rng.integers(1, bins + 1, n) for _ in range(3))
    sep = "" if bins <= 9 else "-"
    expected = [f"{a}{sep}{b}{sep}{c}" for a, b, c in zip(r, f, m, strict=True)]
    codes = _rfm_codes(r, f, m, bins)
    assert codes.dtype == "str"
    assert list(codes) == expected


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.integers(-5, 5).map(float),  # many ties
            st.integers(2**60, 2**60 + 50).map(float),  # whole numbers far from 0
            st.sampled_from([0.0, -0.0, 1e-300, -1e-300, 1e300]),
            st.floats(-1e6, 1e6, allow_nan=False),
        ),
        max_size=60,
    ),
    st.integers(1, 12),
)
def test_scores_by_counting_equal_rank_min(values: list[float], bins: int) -> None:
    # The counted "strictly below" equals rank(method="min") - 1 exactly, so the scores
    # 1 + floor(bins * below / n) are those of the rank.
    series = pd.Series(values, dtype="float64")
    expected = (series.rank(method="min").to_numpy() - 1).astype("int64")
    np.testing.assert_array_equal(_below(series), expected)
    n = max(len(values), 1)
    np.testing.assert_array_equal(
        _scores(series, bins),
        (1 + np.floor(bins * (series.rank(method="min").to_numpy() - 1) / n)).astype("int64"),
    )


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-3, 300), max_size=80), st.booleans())
def test_below_by_bincount_equals_rank_min(values: list[int], as_int: bool) -> None:
    # Whole numbers over a short range (purchases, recency days) take the bincount path.
    series = pd.Series(values, dtype="int64" if as_int else "float64")
    expected = (series.rank(method="min").to_numpy() - 1).astype("int64")
    np.testing.assert_array_equal(_below(series), expected)


def test_below_by_hand() -> None:
    # 3.0 has 0.5, 0.5 (tied) and 2.0 below it; the two 0.5s share 0; NaN stays NaN.
    assert _below(pd.Series([3.0, 0.5, 2.0, 0.5])).tolist() == [3, 0, 2, 0]
    assert np.isnan(_below(pd.Series([1.0, np.nan]))[1])
