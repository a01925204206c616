"""The KPI snapshot: exact keys, a hand-worked shop, absent inputs, as-of truncation, periods."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_metrics.errors import ConfigError
from loyalty_metrics.metrics.engagement import engagement_score
from loyalty_metrics.metrics.purchase import repeat_purchase_rate, upsell_share
from loyalty_metrics.metrics.retention import churn_rate
from loyalty_metrics.metrics.survey import csat, nps
from loyalty_metrics.metrics.value import cac, clv
from loyalty_metrics.snapshot import KPI_KEYS, kpis, kpis_by_period

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"

DESIGN_KEYS = [
    "customers",
    "new_customers",
    "purchases",
    "revenue",
    "average_ticket",
    "purchase_frequency",
    "repeat_purchase_rate",
    "upsell_ratio",
    "upsell_share",
    "nps",
    "nps_ci_low",
    "nps_ci_high",
    "responses",
    "csat",
    "customer_loyalty_index",
    "churn_rate",
    "retention_rate",
    "clv",
    "cac",
    "ltv_cac_ratio",
    "engagement_score",
]
Z95 = 1.959963984540054


def ns(values) -> pd.Series:
    return pd.Series(pd.to_datetime(values, format="mixed")).astype("datetime64[ns]")


ORDERS = pd.DataFrame(
    {
        "customer_id": pd.array(["a", "a", "b", "c", "c", "d"], dtype="str"),
        "order_id": pd.array(["1", "2", "3", "4", "4", "5"], dtype="str"),
        "order_date": ns(
            [
                "2023-01-02",
                "2024-06-01",
                "2023-01-02",
                "2024-03-01",
                "2024-03-01",
                "2024-12-31 18:00",
            ]
        ),
        "amount": [100.0, 100.0, 50.0, 30.0, -30.0, -20.0],
        "category": pd.Categorical(["x", "y", "x", "x", "x", "x"]),
    }
)
SURVEYS = pd.DataFrame(
    {
        "customer_id": pd.array(["a", "b", "c", None, "a"], dtype="str"),
        "response_date": ns(
            ["2023-02-01", "2023-03-01", "2024-04-01", "2024-12-31", "2025-01-01"]
        ),
        "score": [10.0, 9.0, 3.0, 8.0, 0.0],
        "csat": [5.0, 4.0, 2.0, np.nan, 1.0],
    }
)
SPEND = pd.DataFrame({"date": ns(["2023-06-01", "2025-01-01"]), "amount": [300.0, 1000.0]})
EVENTS = pd.DataFrame(
    {
        "customer_id": pd.array(["a", "b"], dtype="str"),
        "timestamp": ns(["2024-12-01 10:00", "2024-10-15"]),
        "event_type": pd.Categorical(["login", "login"]),
        "duration": [10.0, 20.0],
    }
)
CUSTOMERS = pd.DataFrame({"customer_id": pd.array(["a", "b", "c"], dtype="str")})
YEARS = 730 / 365.25  # 2023-01-02..2024-12-31


def test_keys_are_exactly_design_in_order():
    assert list(KPI_KEYS) == DESIGN_KEYS
    result = kpis(ORDERS)
    assert list(result.index) == DESIGN_KEYS
    assert result.dtype == "float64"


def test_snapshot_by_hand():
    k = kpis(ORDERS, SURVEYS, EVENTS, SPEND, CUSTOMERS)
    # customers a, b, c (d only returned); all first bought in the window
    assert k["customers"] == 3 and k["new_customers"] == 3
    # purchases: a 2, b 1, c 1 (order 4 nets to $0: a purchase)
    assert k["purchases"] == 4
    assert k["revenue"] == pytest.approx(230.0)  # 100 + 100 + 50 + 30 - 30 - 20
    assert k["average_ticket"] == pytest.approx(57.5)  # 230 / 4
    assert k["purchase_frequency"] == pytest.approx(4 / 3)
    assert k["repeat_purchase_rate"] == pytest.approx(100 / 3)  # a
    # categories: a {x, y}, b {x}, c {x}
    assert k["upsell_ratio"] == pytest.approx(0.5)
    assert k["upsell_share"] == pytest.approx(100 / 3)
    # surveys up to 2024-12-31: 10, 9, 3, 8 -> P 2, D 1, n 4 (the 2025 response is after end)
    assert k["responses"] == 4
    assert k["nps"] == pytest.approx(25.0)
    p, d = 2.75 / 7, 1.75 / 7
    se = math.sqrt((p + d - (p - d) ** 2) / 7)
    assert k["nps_ci_low"] == pytest.approx(100 * (p - d - Z95 * se))
    assert k["nps_ci_high"] == pytest.approx(100 * (p - d + Z95 * se))
    assert k["csat"] == pytest.approx(200 / 3)  # 5, 4, 2
    assert k["customer_loyalty_index"] == pytest.approx((25 + 100 / 3 + 100 / 3) / 3)
    # cohort 2023-01-02..2024-01-01: a (back in 2024), b (not) -> 50%; lifespan 2 years
    assert k["churn_rate"] == 50.0 and k["retention_rate"] == 50.0
    assert k["clv"] == pytest.approx(230 / 3 / YEARS * 2)
    assert k["cac"] == pytest.approx(100.0)  # 300 / 3 (the 2025 spend is after end)
    assert k["ltv_cac_ratio"] == pytest.approx(k["clv"] / 100)
    # 90 days to 2024-12-31: a (1 day, 10 s, 1 event) and b (1 day, 20 s, 1 event):
    # a (75 + 50 + 75) / 3, b (75 + 100 + 75) / 3; c and d (orders) known with 0 -> mean / 4
    assert k["engagement_score"] == pytest.approx((200 / 3 + 250 / 3) / 4)


def test_snapshot_agrees_with_each_metric():
    k = kpis(ORDERS, SURVEYS, EVENTS, SPEND, CUSTOMERS, margin=0.3, churn_period="180D")
    assert k["repeat_purchase_rate"] == pytest.approx(repeat_purchase_rate(ORDERS))
    assert k["upsell_share"] == pytest.approx(upsell_share(ORDERS))
    assert k["nps"] == pytest.approx(nps(SURVEYS, start="2023-01-02", end="2024-12-31"))
    assert k["csat"] == pytest.approx(csat(SURVEYS, start="2023-01-02", end="2024-12-31"))
    assert k["churn_rate"] == pytest.approx(churn_rate(ORDERS, period="180D"), nan_ok=True)
    assert k["clv"] == pytest.approx(clv(ORDERS, margin=0.3))  # lifespan from the yearly churn
    assert k["cac"] == pytest.approx(cac(SPEND, ORDERS))
    assert k["engagement_score"] == pytest.approx(engagement_score(EVENTS, ORDERS, CUSTOMERS))


def test_absent_inputs_are_nan():
    k = kpis(ORDERS)
    for key in (
        "nps",
        "nps_ci_low",
        "nps_ci_high",
        "responses",
        "csat",
        "customer_loyalty_index",
        "cac",
        "ltv_cac_ratio",
        "engagement_score",
    ):
        assert math.isnan(k[key]), key
    assert k["customers"] == 3


def test_empty_orders():
    k = kpis(ORDERS.iloc[:0], SURVEYS, EVENTS, SPEND)
    assert k["customers"] == 0 and k["purchases"] == 0 and k["revenue"] == 0
    assert math.isnan(k["average_ticket"]) and math.isnan(k["repeat_purchase_rate"])
    assert math.isnan(k["churn_rate"]) and math.isnan(k["cac"])


def test_spend_without_new_customers_gives_nan_cac():
    k = kpis(ORDERS, spend=SPEND, start="2024-01-01")  # a first bought in 2023: not new
    assert k["new_customers"] == 1  # c: first purchase 2024-03-01
    k = kpis(ORDERS.loc[ORDERS["customer_id"] != "c"], spend=SPEND, start="2024-01-01")
    assert k["new_customers"] == 0
    assert math.isnan(k["cac"]) and math.isnan(k["ltv_cac_ratio"])


def test_options_are_checked():
    with pytest.raises(ConfigError, match="The 'nps_method' parameter of kpis"):
        kpis(ORDERS, nps_method="exact")
    with pytest.raises(ConfigError, match="'cli_weights'"):
        kpis(ORDERS, cli_weights=[1, 2])
    with pytest.raises(ConfigError, match="'churn_period'"):
        kpis(ORDERS, churn_period="annually")


def test_cli_options_pass_through():
    k = kpis(
        ORDERS,
        SURVEYS,
        cli_nps_scale="percent",
        cli_weights={"nps": 1, "repeat_purchase_rate": 0, "upsell_share": 0},
    )
    assert k["customer_loyalty_index"] == pytest.approx((25 + 100) / 2)


# ---------------------------------------------------------------------------------------------
# A seeded shop for the as-of properties and the periods


def shop(seed: int = 7, customers: int = 60, days: int = 760) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    origin = pd.Timestamp("2023-01-01")
    n = customers * 6
    cust = rng.integers(0, customers, n)
    day = rng.integers(0, days, n)
    order = rng.integers(0, n // 2, n)
    orders = pd.DataFrame(
        {
            "customer_id": pd.array([f"C{c:03d}" for c in cust], dtype="str"),
            "order_id": pd.array(
                [f"O{o:04d}-{c}" for o, c in zip(order, cust, strict=True)], dtype="str"
            ),
            "order_date": (
                origin
                + pd.to_timedelta(day, unit="D")
                + pd.to_timedelta(rng.integers(0, 86_400, n), unit="s")
            ).astype("datetime64[ns]"),
            "amount": np.round(rng.gamma(2.0, 20.0, n) * np.where(rng.random(n) < 0.08, -1, 1), 2),
            "category": pd.Categorical(rng.choice(["a", "b", "c", "d"], n)),
            "channel": pd.Categorical(rng.choice(["web", "store"], n)),
        }
    )
    m = customers * 3
    surveys = pd.DataFrame(
        {
            "customer_id": pd.array(
                [f"C{c:03d}" for c in rng.integers(0, customers, m)], dtype="str"
            ),
            "response_date": (origin + pd.to_timedelta(rng.integers(0, days, m), unit="D")).astype(
                "datetime64[ns]"
            ),
            "score": rng.integers(0, 11, m).astype("float64"),
            "csat": rng.integers(1, 6, m).astype("float64"),
        }
    )
    e = customers * 8
    events = pd.DataFrame(
        {
            "customer_id": pd.array(
                [f"C{c:03d}" for c in rng.integers(0, customers + 10, e)], dtype="str"
            ),
            "timestamp": (
                origin + pd.to_timedelta(rng.integers(0, days * 86_400, e), unit="s")
            ).astype("datetime64[ns]"),
            "event_type": pd.Categorical(rng.choice(["login", "review", "share"], e)),
            "duration": rng.integers(1, 600, e).astype("float64"),
        }
    )
    spend = pd.DataFrame(
        {
            "date": (origin + pd.to_timedelta(np.arange(0, days, 7), unit="D")).astype(
                "datetime64[ns]"
            ),
            "amount": rng.uniform(50, 150, len(range(0, days, 7))),
        }
    )
    return {"orders": orders, "surveys": surveys, "events": events, "spend": spend}


SHOP = shop()


def truncate(tables: dict[str, pd.DataFrame], day: pd.Timestamp) -> dict[str, pd.DataFrame]:
    limit = day + pd.Timedelta(days=1)
    dates = {
        "orders": "order_date",
        "surveys": "response_date",
        "events": "timestamp",
        "spend": "date",
    }
    return {name: frame.loc[frame[dates[name]] < limit] for name, frame in tables.items()}


def assert_same(a: pd.Series, b: pd.Series) -> None:
    pd.testing.assert_series_equal(a, b, check_exact=False, rtol=1e-9, check_names=False)


@settings(max_examples=12, deadline=None)
@given(st.integers(0, len(SHOP["orders"]) - 1))
def test_property_as_of_equals_truncated(position):
    # d is an order's day, so the truncated data's default end is d as well
    day = SHOP["orders"]["order_date"].iloc[position].normalize()
    full = kpis(**SHOP, end=day)
    cut = kpis(**truncate(SHOP, day))
    assert_same(full, cut)


def test_by_period_rows_agree_with_kpis_as_of_each_period_end():
    table = kpis_by_period(**SHOP, freq="M")
    assert list(table.columns) == DESIGN_KEYS
    assert table.index.name == "period_end"
    last = SHOP["orders"]["order_date"].max().normalize()
    assert table.index[-1] == last  # the partial last period is as of end
    assert len(table) == 25  # January 2023 .. January 2025
    for day in table.index:
        assert_same(table.loc[day], kpis(**SHOP, end=day))


def test_by_period_with_start_and_period_windows():
    quarterly = kpis_by_period(**SHOP, freq="Q", start="2023-04-01", end="2024-06-30")
    assert quarterly.index.tolist() == list(
        pd.to_datetime(["2023-06-30", "2023-09-30", "2023-12-31", "2024-03-31", "2024-06-30"])
    )
    for day in quarterly.index:
        assert_same(quarterly.loc[day], kpis(**SHOP, start="2023-04-01", end=day))
    per = kpis_by_period(**SHOP, freq="Q", window="period", end="2024-06-30")
    assert_same(
        per.loc[pd.Timestamp("2024-03-31")], kpis(**SHOP, start="2024-01-01", end="2024-03-31")
    )
    trailing = kpis_by_period(**SHOP, freq="Q", window="365D", end="2024-06-30")
    assert_same(
        trailing.loc[pd.Timestamp("2024-06-30")],
        kpis(**SHOP, start="2023-07-02", end="2024-06-30"),
    )
    # the first trailing rows do not reach before the data's first day
    assert_same(trailing.iloc[0], kpis(**SHOP, end=trailing.index[0]))


def test_by_period_with_blank_order_ids_and_multiday_orders():
    orders = SHOP["orders"].copy()
    orders.loc[orders.index[::9], "order_id"] = None
    # an order whose lines straddle a month end: dated by its earliest line
    orders.loc[orders.index[:2], ["customer_id", "order_id"]] = ["C999", "X1"]
    orders.loc[orders.index[:2], "order_date"] = pd.to_datetime(["2023-05-31", "2023-06-02"])
    table = kpis_by_period(orders, freq="M", end="2024-12-31")
    for day in table.index[3:8]:
        assert_same(table.loc[day], kpis(orders, end=day))


def test_by_period_parameter_errors():
    with pytest.raises(ConfigError, match="The 'freq' parameter of kpis_by_period"):
        kpis_by_period(ORDERS, freq="monthly")
    with pytest.raises(ConfigError, match="The 'window' parameter of kpis_by_period"):
        kpis_by_period(ORDERS, window="rolling")


def test_by_period_of_empty_orders():
    table = kpis_by_period(ORDERS.iloc[:0])
    assert table.empty and list(table.columns) == DESIGN_KEYS


def test_kpis_say_what_was_passed_and_what_is_expected():
    import loyalty_metrics as lm
    from loyalty_metrics.errors import ConfigError, DataValidationError

    orders = pd.DataFrame(
        {"customer_id": ["a"], "order_date": pd.to_datetime(["2024-01-01"]), "amount": [1.0]}
    )
    summary = lm.customer_summary(orders)
    for func in (lm.kpis, lm.kpis_by_period):
        with pytest.raises(ConfigError, match="needs the order lines .* not a customer summary"):
            func(summary)
    with pytest.raises(DataValidationError, match=r"missing required column 'amount' \(columns "):
        lm.kpis(orders.rename(columns={"amount": "Amount"}))
    with pytest.raises(TypeError, match="got list"):
        lm.kpis([1, 2])


def test_every_table_of_a_folder_at_once():
    """``lm.kpis(**lm.read_folder(path))``: the folder's points ledger is accepted, not read."""
    import loyalty_metrics as lm

    tables = lm.read_folder(SAMPLE)
    assert "points" in tables  # sample_data/ holds a ledger: the case this is about
    others = [tables[n] for n in ("orders", "surveys", "events", "spend", "customers")]
    pd.testing.assert_series_equal(lm.kpis(**tables), lm.kpis(*others))
    pd.testing.assert_frame_equal(
        lm.kpis_by_period(**tables, freq="Q"), lm.kpis_by_period(*others, freq="Q")
    )


# ---------------------------------------------------------------------------------------------
# The survey aggregates of kpis_by_period: running counts equal a pass over the rows.


@settings(max_examples=60, deadline=None)
@given(
    days=st.lists(st.one_of(st.none(), st.integers(0, 60)), min_size=1, max_size=30),
    scores=st.lists(st.one_of(st.none(), st.integers(0, 10)), min_size=30, max_size=30),
    csats=st.lists(st.one_of(st.none(), st.integers(1, 5)), min_size=30, max_size=30),
    first=st.integers(-5, 60),
    length=st.integers(0, 40),
    with_csat=st.booleans(),
)
def test_survey_running_counts_equal_a_pass_over_the_rows(
    days, scores, csats, first, length, with_csat
):
    from loyalty_metrics._window import Window
    from loyalty_metrics.snapshot import _survey_aggregates, _SurveyCounts

    n = len(days)
    base = pd.Timestamp("2024-01-01")
    surveys = pd.DataFrame(
        {
            "customer_id": [f"c{i % 7}" for i in range(n)],
            # undated rows are outside every window of a dated table; all undated: whole
            "response_date": pd.to_datetime(
                [None if d is None else base + pd.Timedelta(days=d) for d in days]
            ),
            "score": pd.array(scores[:n], dtype="Float64").astype("float64"),
        }
    )
    if with_csat:
        surveys["csat"] = pd.array(csats[:n], dtype="Float64").astype("float64")
    window = Window(
        start=base + pd.Timedelta(days=first), end=base + pd.Timedelta(days=first + length)
    )
    assert _SurveyCounts(surveys).aggregates(window) == _survey_aggregates(surveys, window)


@pytest.mark.parametrize("func", [kpis, kpis_by_period])
def test_every_kpi_option_keyword_reaches_the_options(func, monkeypatch):
    # The keywords are passed on by name (no reflection): each option of KPI_OPTIONS given
    # as a keyword must arrive in the options parsed, over what ``options=`` says.
    from loyalty_metrics import snapshot
    from loyalty_metrics.options import KPI_OPTIONS, MetricOptions

    seen: list[MetricOptions] = []

    class Parsed(Exception):
        pass

    def capture(name, options):
        seen.append(options)
        raise Parsed

    monkeypatch.setattr(snapshot, "parse_options", capture)
    orders = pd.DataFrame(
        {"customer_id": ["a"], "order_date": pd.to_datetime(["2024-01-01"]), "amount": [1.0]}
    )
    for name in KPI_OPTIONS:
        marker = object()  # equal to no default
        with pytest.raises(Parsed):
            func(orders, options=MetricOptions(), **{name: marker})
        assert getattr(seen[-1], name) is marker, name
    assert len(seen) == len(KPI_OPTIONS) > 10
