"""Engines (DESIGN section 7): DuckDB and Spark give the pandas engine's numbers.

Every KPI, every ``kpis_by_period`` cell, every cohort cell (all values and modes, and the
cells' status through their NaN pattern and the grid's shape) and every summary row is
compared to the pandas engine, to floating-point rounding, on hypothesis-generated shops and
on ``sample_data/``. A hand-worked shop checks the engine against arithmetic, not only
against pandas. Spark runs a few of these on one shared local[2] session.
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import loyalty_metrics as lm
from loyalty_metrics import engines
from loyalty_metrics.errors import ConfigError

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
RTOL = 1e-9
COHORT_VARIANTS = [
    ("customers", "on"),
    ("customers", "on_or_after"),
    ("retention", "on"),
    ("retention", "on_or_after"),
    ("revenue", "on"),
    ("cumulative_revenue_per_customer", "on"),
]


@pytest.fixture(scope="session")
def spark():
    """One local[2] Spark session (an Ibis backend) for every Spark test."""
    con = engines.connect(
        "spark",
        master="local[2]",
        config={
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.sql.execution.arrow.pyspark.enabled": "true",
            "spark.driver.memory": "1g",
        },
    )
    con._session.sparkContext.setLogLevel("ERROR")
    return con  # the JVM ends with the test process


@pytest.fixture(scope="module")
def sample():
    return {
        "orders": lm.read_orders(SAMPLE / "orders.csv"),
        "surveys": lm.read_surveys(SAMPLE / "surveys.csv"),
        "events": lm.read_events(SAMPLE / "events.csv"),
        "spend": lm.read_spend(SAMPLE / "spend.csv"),
        "customers": lm.read_customers(SAMPLE / "customers.csv"),
    }


def assert_same_frame(expected: pd.DataFrame, actual: pd.DataFrame, scale: float = 1.0) -> None:
    """Equal up to rounding: same type, index, columns, dtypes, NaN cells, attrs and the
    attributes of a CustomerSummary or CohortTable (a summary's ``channel`` by value: an
    engine cannot know the input's unused categories)."""
    assert type(actual) is type(expected)
    for name in getattr(expected, "_metadata", []):
        value, other = getattr(expected, name), getattr(actual, name)
        if isinstance(value, pd.Series):
            pd.testing.assert_series_equal(value, other)
        elif isinstance(value, float):
            assert other == pytest.approx(value, rel=RTOL, abs=RTOL * scale), name
        else:
            assert other == value, name
    if "channel" in expected.columns:
        expected, actual = (
            f.assign(channel=f["channel"].astype("object")) for f in (expected, actual)
        )
    pd.testing.assert_frame_equal(
        expected, actual, check_exact=False, rtol=RTOL, atol=RTOL * max(scale, 1.0)
    )
    assert expected.attrs.keys() == actual.attrs.keys()
    for key, meta in expected.attrs.items():
        other = actual.attrs[key]
        assert meta.keys() == other.keys()
        for name, value in meta.items():
            if isinstance(value, float):
                assert other[name] == pytest.approx(value, rel=RTOL, abs=RTOL * scale)
            else:
                assert other[name] == value, name


def assert_same_kpis(expected: pd.Series, actual: pd.Series, scale: float = 1.0) -> None:
    assert list(actual.index) == list(expected.index)
    assert actual.dtype == "float64"
    np.testing.assert_array_equal(np.isnan(expected.to_numpy()), np.isnan(actual.to_numpy()))
    np.testing.assert_allclose(
        actual.to_numpy(), expected.to_numpy(), rtol=RTOL, atol=RTOL * max(scale, 1.0)
    )
    assert actual.attrs == expected.attrs


# ---------------------------------------------------------------------------------------------
# A hand-worked shop.

ORDERS = pd.DataFrame(
    {
        "customer_id": pd.array(["a", "a", "a", "b", "b", "c", "c", "d", "e", "e"], dtype="str"),
        "order_id": pd.array(["1", "1", "2", "3", "4", "5", "6", "7", None, "8"], dtype="str"),
        "order_date": pd.to_datetime(
            [
                "2023-12-20",  # a: order 1 begins before start, so it is not in the window
                "2024-01-03",  # a: second line of order 1 (its date stays 2023-12-20)
                "2024-01-10",  # a: order 2, $0: still a purchase
                "2024-01-05",  # b: order 3
                "2024-01-20",  # b: order 4, a return
                "2024-02-01",  # c: order 5
                "2024-02-01 09:00",  # c: order 6, same day: one purchase day
                "2024-03-31 18:00",  # d: at 18:00 on end, inside
                "2024-03-01",  # e: a line without order_id: an order of its own (a return)
                "2024-04-01",  # e: after end, never read
            ],
            format="mixed",
        ).astype("datetime64[ns]"),
        "amount": [40.0, 10.0, 0.0, 30.0, -12.0, 20.0, 25.0, 15.0, -5.0, 99.0],
        "category": pd.Categorical(["x", "y", "x", "x", "y", "x", "y", "z", "x", "x"]),
    }
)
START, END = "2024-01-01", "2024-03-31"


@pytest.fixture(params=["duckdb", "spark"])
def engine(request):
    return request.getfixturevalue("spark") if request.param == "spark" else "duckdb"


def test_hand_worked_shop(engine):
    k = lm.kpis(ORDERS, start=START, end=END, engine=engine)
    # purchases in the window: a 1 (the $0 order 2; order 1 is dated 2023-12-20, outside),
    # b 1 (order 4 is a return), c 2 (orders 5, 6), d 1, e none (a return): a, b, c, d
    assert k["customers"] == 4
    assert k["purchases"] == 5  # a 1 + b 1 + c 2 + d 1
    # revenue, every line dated in the window: 10 + 0 + 30 - 12 + 20 + 25 + 15 - 5 = 83
    assert k["revenue"] == pytest.approx(83.0)
    assert k["average_ticket"] == pytest.approx(83 / 5)
    assert k["repeat_purchase_rate"] == pytest.approx(25.0)  # c only
    # new: first purchase ever in the window: b, c, d (a bought on 2023-12-20)
    assert k["new_customers"] == 3
    # categories of purchase lines in the window: a {x} (order 2), b {x}, c {x, y}, d {z}
    assert k["upsell_share"] == pytest.approx(25.0)
    assert k["upsell_ratio"] == pytest.approx(1 / 3)
    s = lm.customer_summary(ORDERS, start=START, end=END, engine=engine)
    assert list(s.index) == ["a", "b", "c", "d"]
    assert s.loc["c", "frequency"] == 0  # two purchases, one day
    assert s.loc["a", "revenue"] == pytest.approx(10.0)  # the 01-03 line of order 1, and $0
    assert s.unattributed_revenue == pytest.approx(-5.0)
    assert s.loc["d", "T"] == 0.0
    assert_same_frame(lm.customer_summary(ORDERS, start=START, end=END), s)


def test_hand_worked_cohorts(engine):
    table = lm.cohort_table(ORDERS, values="customers", end=END, engine=engine)
    # cohorts by first purchase ever: a 2023-12 (order 1), b, c 2024-01/02, d 2024-03
    assert [str(p) for p in table.index] == ["2023-12", "2024-01", "2024-02", "2024-03"]
    assert table.loc[pd.Period("2023-12", "M")].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert table.attrs["loyalty_metrics.cohorts"]["cohort_size"] == [1, 1, 1, 1]
    assert np.isnan(table.iloc[3, 1])  # 2024-03 + 1 month is after end: unreachable


def test_no_order_up_to_end_is_a_one_day_window_as_in_pandas():
    # hypothesis found it: the only order is after end, so the window is end..end (pandas
    # engine), not an empty window
    orders = ORDERS[ORDERS["customer_id"] == "e"].iloc[[1]]  # 2024-04-01
    for func in (lm.customer_summary, lm.kpis):
        expected = func(orders, end=END)
        actual = func(orders, end=END, engine="duckdb")
        assert actual.attrs == expected.attrs
    summary = lm.customer_summary(orders, end=END, engine="duckdb")
    assert (summary.window.start, summary.window.end) == (pd.Timestamp(END), pd.Timestamp(END))
    assert_same_frame(lm.customer_summary(orders, end=END), summary)


# ---------------------------------------------------------------------------------------------
# The analyst's caveats (caveats.py) are raised on the engine path as on the pandas path.

# sample_data's orders run 2023-01-01..2024-12-31.
CAVEAT_CASES = [
    # the window starts with the data: new customers are everyone; the first cohort too
    ({}, [("new_customers", "cac", "ltv_cac_ratio")], [("cohort_table",)]),
    # churn's base period 2022-04-01..2023-03-31 holds 90 of its 365 days of data
    (
        {"start": "2023-06-01", "end": "2024-03-31"},
        [("churn_rate", "retention_rate", "clv")],
        [],
    ),
    # nothing to say: base period covered, window after the first day
    ({"start": "2024-01-01"}, [], []),
]


@pytest.mark.parametrize(("window", "kpi_notes", "cohort_notes"), CAVEAT_CASES)
def test_caveats_as_the_pandas_engine(sample, window, kpi_notes, cohort_notes):
    from loyalty_metrics import caveats

    orders = sample["orders"]
    for func, about in ((lm.kpis, kpi_notes), (lm.cohort_table, cohort_notes)):
        with caveats.collect() as expected:
            func(orders, **window)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            func(orders, engine="duckdb", **window)
        ours = [w for w in caught if isinstance(w.message, lm.LoyaltyWarning)]
        notes = [w.message for w in ours]
        assert [n.about for n in notes] == about
        assert [(type(n), str(n)) for n in notes] == [(type(n), str(n)) for n in expected]
        # reported at the caller's line, as the pandas engine's
        assert all(w.filename == __file__ for w in ours)


def test_kpis_by_period_raises_no_caveat_on_either_engine(sample):
    from loyalty_metrics import caveats

    for engine in ("pandas", "duckdb"):
        with caveats.collect() as notes:
            lm.kpis_by_period(sample["orders"], freq="Y", engine=engine)
        assert notes == []


# ---------------------------------------------------------------------------------------------
# sample_data through every engine.


def test_sample_summary_and_kpis(sample, engine):
    orders = sample["orders"]
    scale = float(orders["amount"].abs().sum())
    assert_same_frame(lm.customer_summary(orders), lm.customer_summary(orders, engine=engine))
    tables = [sample[n] for n in ("orders", "surveys", "events", "spend", "customers")]
    assert_same_kpis(lm.kpis(*tables), lm.kpis(*tables, engine=engine), scale)


def test_sample_kpis_by_period(sample, engine):
    tables = [sample[n] for n in ("orders", "surveys", "events", "spend", "customers")]
    scale = float(sample["orders"]["amount"].abs().sum())
    # Spark: yearly rows only (each row is a query, and Spark's fixed cost per query is high)
    kwargs = {"freq": "Q" if engine == "duckdb" else "Y", "churn_period": "90D", "margin": 0.4}
    expected = lm.kpis_by_period(*tables, **kwargs)
    actual = lm.kpis_by_period(*tables, engine=engine, **kwargs)
    assert_same_frame(expected, actual, scale)


@pytest.mark.parametrize(("values", "mode"), COHORT_VARIANTS)
def test_sample_cohorts(sample, values, mode):
    orders = sample["orders"]
    for period in ("W", "M", "Q", "Y"):
        kwargs = {"values": values, "mode": mode, "period": period, "include_all": True}
        expected = lm.cohort_table(orders, start="2023-03-15", end="2024-11-20", **kwargs)
        actual = lm.cohort_table(
            orders, start="2023-03-15", end="2024-11-20", engine="duckdb", **kwargs
        )
        assert_same_frame(expected, actual, float(orders["amount"].abs().sum()))


def test_sample_cohorts_spark(sample, spark):
    orders = sample["orders"]
    for values, mode in (("retention", "on_or_after"), ("revenue", "on")):
        expected = lm.cohort_table(orders, values=values, mode=mode, include_all=True)
        actual = lm.cohort_table(orders, values=values, mode=mode, include_all=True, engine=spark)
        assert_same_frame(expected, actual, float(orders["amount"].abs().sum()))


def test_export_on_spark(sample, spark, tmp_path):
    tables = [sample[n] for n in ("orders", "surveys", "events", "spend", "customers")]
    kwargs = {"freq": "Y", "options": lm.MetricOptions(margin=0.4)}
    expected = lm.export_kpis(*tables, target=tmp_path / "p.csv", **kwargs).frame
    actual = lm.export_kpis(*tables, target=tmp_path / "s.csv", engine=spark, **kwargs).frame
    assert list(actual.columns) == list(expected.columns)
    assert (actual["input_hash"] == expected["input_hash"]).all()  # DataFrames: same hash
    numbers = list(lm.KPI_KEYS)
    np.testing.assert_allclose(
        actual[numbers].to_numpy(dtype="float64"),
        expected[numbers].to_numpy(dtype="float64"),
        rtol=RTOL,
        atol=1e-6,
    )


def test_files_read_by_the_engine(sample, tmp_path):
    """CSV and a Parquet folder, read by DuckDB itself, give the readers' numbers."""
    tables = [sample[n] for n in ("orders", "surveys", "events", "spend", "customers")]
    paths = [
        str(SAMPLE / f"{n}.csv") for n in ("orders", "surveys", "events", "spend", "customers")
    ]
    scale = float(sample["orders"]["amount"].abs().sum())
    assert_same_kpis(lm.kpis(*tables), lm.kpis(*paths, engine="duckdb"), scale)
    folder = tmp_path / "orders"
    folder.mkdir()
    orders = sample["orders"].copy()
    orders.attrs = {}  # the read report does not travel through Parquet
    half = len(orders) // 2
    orders.iloc[:half].to_parquet(folder / "part-0.parquet")
    orders.iloc[half:].to_parquet(folder / "part-1.parquet")
    for source in (folder, str(folder / "*.parquet")):
        summary = lm.customer_summary(source, engine="duckdb")
        assert_same_frame(lm.customer_summary(orders), summary, scale)


def test_columns_mapping_and_quantity_times_price(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text(
        "Kunde,Datum,Menge,Preis,Beleg\n"
        " 17 ,2024-01-02,2,5.50,A\n"
        "17,2024-01-02 18:00,-1,5.50,A\n"
        "18,2024-02-01,1,3.00,\n"
    )
    mapping = {
        "customer_id": "Kunde",
        "order_date": "Datum",
        "quantity": "Menge",
        "unit_price": "Preis",
        "order_id": "Beleg",
    }
    summary = engines.customer_summary(path, columns=mapping)
    # 17: order A nets 2 * 5.50 - 5.50 = 5.50; 18: one line without order id, 3.00
    assert list(summary.index) == ["17", "18"]
    assert summary["revenue"].tolist() == pytest.approx([5.5, 3.0])
    assert summary["units"].tolist() == [1.0, 1.0]  # 17: 2 - 1 (Menge); 18: 1
    with pytest.raises(ConfigError, match="no column 'customer_id'"):
        engines.customer_summary(path)


def test_summary_kept_in_the_engine(sample):
    kept = engines.customer_summary(sample["orders"], keep=True)
    con = engines.connect("duckdb")
    assert "frequency" in kept.columns
    n = kept.count().execute()
    assert n == len(lm.customer_summary(sample["orders"]))
    assert con is not None


def test_duckdb_settings(tmp_path):
    con = engines.connect("duckdb", memory_limit="256MB", temp_directory=tmp_path, threads=1)
    settings_ = con.raw_sql(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory'), "
        "current_setting('threads')"
    ).fetchall()[0]
    assert settings_[0].replace(" ", "") in ("256.0MiB", "244.1MiB", "256MB", "244.1MB")
    assert settings_[1] == str(tmp_path)
    assert settings_[2] == 1
    k = lm.kpis(ORDERS, start=START, end=END, engine=con)
    assert k["customers"] == 4


def test_bad_engine():
    with pytest.raises(ConfigError, match="The 'engine' parameter"):
        lm.kpis(ORDERS, engine="polars")
    with pytest.raises(ConfigError, match="The 'engine' parameter"):
        lm.customer_summary(ORDERS, engine=42)


def test_pandas_engine_imports_no_engine_library():
    code = (
        "import sys, pandas as pd, loyalty_metrics as lm\n"
        "o = pd.DataFrame({'customer_id': ['a'], 'order_date': pd.to_datetime(['2024-01-01']),"
        " 'amount': [1.0]})\n"
        "lm.kpis(o, engine='pandas'); lm.customer_summary(o); lm.cohort_table(o)\n"
        "lm.kpis_by_period(o)\n"
        "print(sorted(m for m in ('ibis', 'duckdb', 'pyspark') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------------------
# Hypothesis: random shops through pandas and DuckDB.

DAY0 = pd.Timestamp("2023-01-01")


@st.composite
def shops(draw):
    n = draw(st.integers(1, 40))
    customers = draw(st.lists(st.sampled_from(list("abcdefg")), min_size=n, max_size=n))
    days = draw(st.lists(st.integers(0, 800), min_size=n, max_size=n))
    hours = draw(st.lists(st.sampled_from([0, 9, 18]), min_size=n, max_size=n))
    # amounts in cents: exact in binary after summing, so $0 and -0.00 orders are exact too
    cents = draw(st.lists(st.integers(-3000, 5000), min_size=n, max_size=n))
    order_ids = draw(
        st.lists(st.one_of(st.none(), st.sampled_from(list("123456"))), min_size=n, max_size=n)
    )
    categories = draw(
        st.lists(st.one_of(st.none(), st.sampled_from(["x", "y", "z"])), min_size=n, max_size=n)
    )
    dates = DAY0 + pd.to_timedelta(days, unit="D") + pd.to_timedelta(hours, unit="h")
    orders = pd.DataFrame(
        {
            "customer_id": pd.array(customers, dtype="str"),
            "order_id": pd.array(order_ids, dtype="str"),
            "order_date": pd.Series(dates).astype("datetime64[ns]"),
            "amount": np.asarray(cents, dtype="float64") / 100,
            "category": pd.Categorical(categories),
            # one channel per customer: ties between lines of one instant cannot differ
            "channel": pd.Categorical([{"a": "web"}.get(c, "shop") for c in customers]),
        }
    )
    m = draw(st.integers(0, 15))
    surveys = pd.DataFrame(
        {
            "customer_id": pd.array(draw(st.lists(st.sampled_from(list("abcz")), min_size=m, max_size=m)), dtype="str"),
            "response_date": pd.Series(
                DAY0 + pd.to_timedelta(draw(st.lists(st.integers(0, 800), min_size=m, max_size=m)), unit="D")
            ).astype("datetime64[ns]"),
            "score": np.asarray(draw(st.lists(st.one_of(st.none(), st.integers(0, 10)), min_size=m, max_size=m)), dtype="float64"),
            "csat": np.asarray(draw(st.lists(st.one_of(st.none(), st.integers(1, 5)), min_size=m, max_size=m)), dtype="float64"),
        }
    )  # fmt: skip
    k = draw(st.integers(0, 15))
    events = pd.DataFrame(
        {
            "customer_id": pd.array(draw(st.lists(st.sampled_from(list("abcxy")), min_size=k, max_size=k)), dtype="str"),
            "timestamp": pd.Series(
                DAY0 + pd.to_timedelta(draw(st.lists(st.integers(600, 800), min_size=k, max_size=k)), unit="D")
            ).astype("datetime64[ns]"),
            "event_type": pd.Categorical(draw(st.lists(st.sampled_from(["login", "buy"]), min_size=k, max_size=k))),
            "duration": np.asarray(draw(st.lists(st.integers(0, 600), min_size=k, max_size=k)), dtype="float64"),
        }
    )  # fmt: skip
    spend = pd.DataFrame(
        {"date": pd.Series([DAY0, DAY0 + pd.Timedelta(days=400)]), "amount": [100.0, 50.0]}
    )
    customers = pd.DataFrame(
        {
            "customer_id": pd.array(["a", "q", "r"], dtype="str"),
            "signup_date": pd.Series(
                [DAY0, DAY0 + pd.Timedelta(days=300), pd.NaT], dtype="datetime64[ns]"
            ),
        }
    )
    start = draw(
        st.one_of(st.none(), st.integers(0, 400).map(lambda d: DAY0 + pd.Timedelta(days=d)))
    )
    end = draw(st.one_of(st.none(), st.integers(401, 820).map(lambda d: DAY0 + pd.Timedelta(days=d))))  # fmt: skip
    return orders, surveys, events, spend, customers, start, end


SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def on_both(call):
    """``call(engine)`` on pandas and DuckDB. A window pandas refuses (``start`` after the
    last order, ``end`` not given) must be refused by the engine with the same message:
    then (None, None)."""
    try:
        expected = call("pandas")
    except ValueError as exc:
        with pytest.raises(ValueError, match=re.escape(str(exc))):
            call("duckdb")
        return None, None
    return expected, call("duckdb")


@SETTINGS
@given(shops())
def test_random_shops_summary_and_kpis(shop):
    orders, surveys, events, spend, customers, start, end = shop
    scale = float(orders["amount"].abs().sum())
    window = {"start": start, "end": end}
    expected, actual = on_both(lambda e: lm.customer_summary(orders, engine=e, **window))
    if expected is not None:
        assert_same_frame(expected, actual, scale)
    tables = (orders, surveys, events, spend, customers)
    options = {"churn_period": "120D", "engagement_window": "60D"}
    expected, actual = on_both(lambda e: lm.kpis(*tables, engine=e, **window, **options))
    if expected is not None:
        assert_same_kpis(expected, actual, scale)


@SETTINGS
@given(shops(), st.sampled_from(["M", "Q"]), st.sampled_from(["expanding", "period", "180D"]))
def test_random_shops_kpis_by_period(shop, freq, window):
    orders, surveys, events, spend, customers, start, end = shop
    tables = (orders, surveys, events, spend, customers)
    kwargs = {"freq": freq, "window": window, "start": start, "end": end}
    expected, actual = on_both(lambda e: lm.kpis_by_period(*tables, engine=e, **kwargs))
    if expected is not None:
        assert_same_frame(expected, actual, float(orders["amount"].abs().sum()))


@SETTINGS
@given(shops(), st.sampled_from(COHORT_VARIANTS), st.sampled_from(["W", "M", "Q", "Y"]))
def test_random_shops_cohorts(shop, variant, period):
    orders, *_, start, end = shop
    values, mode = variant
    kwargs = {"values": values, "mode": mode, "period": period, "include_all": True}
    expected, actual = on_both(
        lambda e: lm.cohort_table(orders, start=start, end=end, engine=e, **kwargs)
    )
    if expected is not None:
        assert_same_frame(expected, actual, float(orders["amount"].abs().sum()))


# ---------------------------------------------------------------------------------------------
# Predictive models fitted on counts aggregated in the engine (CDNOW).

CDNOW = Path(__file__).parent / "data" / "cdnow" / "cdnow_sample.txt"


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    raw = pd.read_csv(
        CDNOW,
        sep=r"\s+",
        header=None,
        names=["full_id", "customer_id", "date", "cds", "amount"],
        dtype={"full_id": "str", "customer_id": "str", "date": "str"},
    )
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"],
            "order_date": pd.to_datetime(raw["date"], format="%Y%m%d").astype("datetime64[ns]"),
            "amount": raw["amount"].astype("float64"),
        }
    )


@pytest.mark.parametrize("model_name", ["BetaGeoModel", "ParetoNBDModel", "ModifiedBetaGeoModel"])
def test_transaction_models_on_engine_counts(cdnow, model_name):
    from loyalty_metrics import models

    summary = lm.customer_summary(cdnow, end="1997-09-30")
    counts = engines.rfm_counts(cdnow, end="1997-09-30", engine="duckdb")
    # 2,357 customers, far fewer distinct histories, and the counts add up
    assert counts["count"].sum() == len(summary) == 2357
    assert len(counts) < len(summary) / 2
    model = getattr(models, model_name)
    full = model(time_unit="W").fit(summary)
    weighted = model(time_unit="W").fit(counts, weights=counts["count"])
    np.testing.assert_allclose(weighted.params_, full.params_, rtol=1e-6)
    assert weighted.log_likelihood_ == pytest.approx(full.log_likelihood_, rel=1e-9)
    assert weighted.n_customers_ == full.n_customers_
    if model_name == "BetaGeoModel":  # Fader, Hardie & Lee (2005)
        np.testing.assert_allclose(weighted.params_, [0.243, 4.414, 0.793, 2.426], atol=5e-4)


def test_gamma_gamma_on_engine_counts(cdnow):
    from loyalty_metrics.models import GammaGammaModel

    summary = lm.customer_summary(cdnow, end="1997-09-30")
    pairs = engines.rfm_counts(cdnow, end="1997-09-30", what="spend", engine="duckdb")
    assert pairs["count"].sum() == int((summary["frequency"] > 0).sum())
    full = GammaGammaModel().fit(summary)
    weighted = GammaGammaModel().fit(pairs, weights=pairs["count"])
    np.testing.assert_allclose(weighted.params_, full.params_, rtol=1e-6)
    assert weighted.n_customers_ == full.n_customers_
    assert weighted.frequency_monetary_corr_ == pytest.approx(full.frequency_monetary_corr_)


def test_weights_are_counts():
    from loyalty_metrics.models import BetaGeoModel

    truth = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    sample = truth.sample(3000, 39.0, seed=1)[["frequency", "recency", "T"]]
    sample["T"] = sample["T"].round()  # few distinct ages, so rows repeat
    sample["recency"] = np.minimum(sample["recency"].round(), sample["T"]).where(
        sample["frequency"] > 0, 0.0
    )
    counts = sample.groupby(["frequency", "recency", "T"]).size().rename("count").reset_index()
    counts.attrs = dict(sample.attrs)  # the sample's time unit
    assert len(counts) < len(sample)
    full = BetaGeoModel(time_unit="W").fit(sample)
    weighted = BetaGeoModel(time_unit="W").fit(counts, weights=counts["count"])
    np.testing.assert_allclose(weighted.params_, full.params_, rtol=1e-6)
    with pytest.raises(ValueError, match="'weights' parameter of BetaGeoModel.fit"):
        BetaGeoModel().fit(counts, weights=np.full(len(counts), 1.5))


def test_cohort_status_from_the_table(sample):
    orders = sample["orders"]
    for period in ("W", "M", "Q", "Y"):
        window = {"period": period, "start": "2023-02-10", "end": "2024-06-30"}
        table = lm.cohort_table(orders, engine="duckdb", **window)
        pd.testing.assert_frame_equal(
            engines.cohort_status(table), lm.cohort_cell_status(orders, **window)
        )


def test_cli_engine(tmp_path):
    from click.testing import CliRunner

    from loyalty_metrics.cli import cli as main

    runner = CliRunner()
    args = ["kpis", str(SAMPLE), "--format", "json", "-q"]
    pandas_out = runner.invoke(main, args)
    duck_out = runner.invoke(main, [*args, "--engine", "duckdb"])
    assert pandas_out.exit_code == 0 and duck_out.exit_code == 0, duck_out.output
    import json

    expected, actual = json.loads(pandas_out.output), json.loads(duck_out.output)
    assert expected.keys() == actual.keys()
    # the KPIs only: engines.kpis emits no caveats yet (the pandas path's window_caveats)
    expected.pop("caveats"), actual.pop("caveats")
    for key, value in expected.items():
        assert actual[key] == pytest.approx(value, rel=RTOL), key
    (tmp_path / "loyalty.toml").write_text(
        f'[engine]\nname = "duckdb"\nmemory_limit = "512MB"\ntemp_directory = "{tmp_path}"\n'
    )
    for name in ("orders", "surveys"):
        (tmp_path / f"{name}.csv").write_bytes((SAMPLE / f"{name}.csv").read_bytes())
    configured = runner.invoke(main, ["kpis", str(tmp_path), "--format", "json", "-q"])
    assert configured.exit_code == 0, configured.output
    assert json.loads(configured.output)["nps"] == pytest.approx(expected["nps"], rel=RTOL)
    cohorts = runner.invoke(main, ["cohorts", str(SAMPLE), "--engine", "duckdb", "-q"])
    assert cohorts.exit_code == 0
    assert cohorts.output == runner.invoke(main, ["cohorts", str(SAMPLE), "-q"]).output


def test_cli_engine_marks_partial_periods_as_pandas_does(tmp_path):
    from click.testing import CliRunner

    from loyalty_metrics.cli import cli as main

    runner = CliRunner()
    # --start mid-month: with --window period the first month is partial, as is the last
    # (the window ends on 2024-12-15).
    args = ["kpis", str(SAMPLE), "--freq", "M", "--start", "2024-01-10", "--end", "2024-12-15"]
    args += ["--kpi", "customers", "--format", "csv", "-q"]
    pandas_out = runner.invoke(main, args)
    duck_out = runner.invoke(main, [*args, "--engine", "duckdb"])
    assert pandas_out.exit_code == 0 and duck_out.exit_code == 0, duck_out.output
    assert duck_out.output == pandas_out.output
    rows = pandas_out.output.splitlines()
    assert rows[1].split(",")[1] == "partial" and rows[-1].split(",")[1] == "partial"
    assert rows[2].split(",")[1] == "complete"
    args = ["cohorts", str(SAMPLE), "--end", "2024-12-15", "-q", "-o"]
    pandas_csv, duck_csv = tmp_path / "pandas.csv", tmp_path / "duck.csv"
    assert runner.invoke(main, [*args, str(pandas_csv)]).exit_code == 0
    assert runner.invoke(main, [*args, str(duck_csv), "--engine", "duckdb"]).exit_code == 0
    expected_lines = pandas_csv.read_text().splitlines()
    actual_lines = duck_csv.read_text().splitlines()
    assert expected_lines[0].endswith(",partial_period")
    assert any(line.split(",")[-1] for line in expected_lines[1:])  # some cell is partial
    assert [line.split(",")[-1] for line in actual_lines] == [
        line.split(",")[-1] for line in expected_lines
    ]


def test_cli_engine_refuses_linking_cancellations():
    from click.testing import CliRunner

    from loyalty_metrics.cli import cli as main

    args = ["kpis", str(SAMPLE), "--engine", "duckdb", "--link-cancellations", "30D", "-q"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert (
        "--link-cancellations (or [cancellations] within) needs --engine pandas" in result.output
    )
