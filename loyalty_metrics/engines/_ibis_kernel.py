"""The order kernel and the customer summary as Ibis expressions (DESIGN sections 2-3).

The same conventions as :func:`loyalty_metrics.customer_summary`, written once for every SQL
engine: lines sharing ``order_id`` (per customer) are one order, a line without one is an
order of its own; an order's net amount is the sum of its lines up to ``end`` and its date the
earliest of them; a *purchase* is an order with net amount >= -1e-6; the window is
``start <= t < end + 1 day``; nothing after ``end`` is read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pandas as pd

from .._window import ONE_DAY, Window, checked_window, to_day
from ..schema import AMOUNT_TOLERANCE
from ._backend import Engine, temp_name

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = [
    "category_column",
    "category_counts",
    "netted_orders",
    "orders_up_to",
    "purchase_lines",
    "resolve_window",
    "summary_table",
]


def _ts(value: pd.Timestamp) -> dt.datetime:
    return value.to_pydatetime()


def resolve_window(engine: Engine, lines: ir.Table, start: object, end: object) -> Window:
    """As :func:`loyalty_metrics._window.resolve_window`, with one small query to the engine."""
    start_day = to_day(start, name="start")
    end_day = to_day(end, name="end")
    if start_day is not None and end_day is not None:
        return checked_window(start_day, end_day)
    dates = lines.order_date
    if end_day is None:
        row = engine.execute(lines.aggregate(first=dates.min(), last=dates.max()))
        first, last = row["first"].iloc[0], row["last"].iloc[0]
        end_day = pd.NaT if pd.isna(last) else pd.Timestamp(last).normalize()
    else:
        upto = lines.filter(dates < _ts(end_day + ONE_DAY))
        first = engine.execute(upto.order_date.min())
    if start_day is None:
        if pd.isna(end_day):
            start_day = pd.NaT
        else:  # no order up to end: the window is that day, as the pandas engine's
            start_day = end_day if pd.isna(first) else pd.Timestamp(first).normalize()
    return checked_window(start_day, end_day)


def category_column(lines: ir.Table) -> str | None:
    """The column whose distinct values are a customer's categories (``category``, else
    ``product_id``), or None."""
    return next((c for c in ("category", "product_id") if c in lines.columns), None)


def orders_up_to(lines: ir.Table, end: pd.Timestamp) -> ir.Table:
    """Orders from the lines on or before ``end``: ``customer_id``, ``order_id`` (when the
    lines have it), ``order_date``, ``amount`` (net) and ``purchase``."""
    lines = lines.filter(lines.order_date < _ts(end + ONE_DAY))
    if "order_id" in lines.columns:
        keyed = lines.filter(lines.order_id.notnull())
        grouped = keyed.group_by(["customer_id", "order_id"]).aggregate(
            order_date=keyed.order_date.min(), amount=keyed.amount.sum()
        )
        single = lines.filter(lines.order_id.isnull()).select(
            "customer_id", "order_id", "order_date", "amount"
        )
        orders = grouped.union(single, distinct=False)
    else:
        orders = lines.select("customer_id", "order_date", "amount")
    return orders.mutate(purchase=orders.amount >= -AMOUNT_TOLERANCE)


@contextmanager
def netted_orders(engine: Engine, lines: ir.Table, end: pd.Timestamp) -> Iterator[ir.Table]:
    """:func:`orders_up_to` materialised once (a temporary table of DuckDB, a cached Spark
    DataFrame), for the several aggregates of one call to read, and released on exit.

    Without it each aggregate's query nets the lines into orders again. Other backends get
    the expression itself (the same numbers, netted per query).
    """
    orders = orders_up_to(lines, end)
    if engine.is_spark:
        with orders.cache() as cached:
            yield cached
    elif engine.is_duckdb:
        # By hand: Ibis 12's drop_table writes an empty DROP with sqlglot >= 30.
        name = temp_name()
        table = engine.backend.create_table(name, orders, temp=True)
        try:
            yield table
        finally:
            engine.backend.con.execute(f'DROP TABLE IF EXISTS temp.main."{name}"')
    else:
        yield orders


def _in_window(dates: ir.Column, window: Window) -> ir.BooleanColumn:
    return (dates >= _ts(window.start)) & (dates < _ts(window.end_exclusive))


def purchase_lines(lines: ir.Table, orders: ir.Table, window: Window) -> ir.Table:
    """The lines of the purchases dated in the window (an order is in it by its date)."""
    if "order_id" not in lines.columns:  # each line is an order
        return lines.filter(
            (lines.amount >= -AMOUNT_TOLERANCE) & _in_window(lines.order_date, window)
        )
    keep = orders.filter(orders.purchase & _in_window(orders.order_date, window))
    upto = lines.filter(lines.order_date < _ts(window.end_exclusive))
    keyed = upto.filter(upto.order_id.notnull())
    keyed = keyed.semi_join(keep, ["customer_id", "order_id"])
    single = upto.filter(
        upto.order_id.isnull()
        & (upto.amount >= -AMOUNT_TOLERANCE)
        & _in_window(upto.order_date, window)
    )
    return keyed.union(single, distinct=False)


def category_counts(bought: ir.Table, column: str) -> ir.Table:
    """Distinct values of ``column`` per customer of the lines ``bought``: ``categories``."""
    values = bought.filter(bought[column].notnull())
    return values.group_by("customer_id").aggregate(categories=values[column].nunique())


def window_revenue(lines: ir.Table, window: Window) -> ir.Table:
    """Net amount (and ``units``: net quantity, when the lines have one) of the lines dated
    in the window, per customer."""
    inside = lines.filter(_in_window(lines.order_date, window))
    sums = {"revenue": inside.amount.sum()}
    if "quantity" in lines.columns:
        sums["units"] = inside.quantity.sum()
    return inside.group_by("customer_id").aggregate(**sums)


def summary_table(lines: ir.Table, window: Window) -> ir.Table:
    """The customer summary as an engine table (columns of ``SUMMARY_COLUMNS``, plus
    ``customer_id`` and, when the lines have them, ``channel`` and ``units``)."""
    import ibis

    orders = orders_up_to(lines, window.end)
    bought = orders.filter(orders.purchase)
    ever = bought.group_by("customer_id").aggregate(first_purchase_ever=bought.order_date.min())
    inside = bought.filter(_in_window(bought.order_date, window)).mutate(
        day=lambda t: t.order_date.date()
    )
    inside = inside.mutate(first_day=inside.day.min().over(group_by="customer_id"))
    per = inside.group_by("customer_id").aggregate(
        first_purchase=inside.order_date.min(),
        last_purchase=inside.order_date.max(),
        purchases=inside.count(),
        days=inside.day.nunique(),
        repeat_spend=inside.amount.sum(where=inside.day != inside.first_day),
        first_day=inside.day.min(),
        last_day=inside.day.max(),
    )
    per = per.inner_join(ever, "customer_id").left_join(
        window_revenue(lines, window), "customer_id"
    )
    column = category_column(lines)
    needs_lines = column is not None or "channel" in lines.columns
    bought_lines = purchase_lines(lines, orders, window) if needs_lines else None
    if column is not None:
        per = per.left_join(category_counts(bought_lines, column), "customer_id")
    if "channel" in lines.columns:
        per = per.left_join(_first_channel(bought_lines, per), "customer_id")
    end_day = ibis.date(window.end.date())
    frequency = (per.days - 1).cast("int64")
    columns = {
        "customer_id": per.customer_id,
        "first_purchase": per.first_purchase,
        "last_purchase": per.last_purchase,
        "purchases": per.purchases.cast("int64"),
        "revenue": per.revenue.fill_null(0.0),
        "categories": per.categories.fill_null(0).cast("float64")
        if column is not None
        else ibis.null("float64"),
        "frequency": frequency,
        "recency": per.last_day.delta(per.first_day, unit="day").cast("float64"),
        "T": end_day.delta(per.first_day, unit="day").cast("float64"),
        "monetary_value": ibis.ifelse(
            frequency > 0, per.repeat_spend / frequency.cast("float64"), ibis.null("float64")
        ),
        "first_purchase_ever": per.first_purchase_ever,
    }
    if "channel" in lines.columns:
        columns["channel"] = per.channel
    if "quantity" in lines.columns:
        columns["units"] = per.units.fill_null(0.0)
    return per.select(**columns)


def _first_channel(bought_lines: ir.Table, per: ir.Table) -> ir.Table:
    """Channel of the first purchase's lines. When lines of that instant disagree, the one of
    the smallest ``order_id`` (then the smallest channel) wins: the pandas engine takes the
    first in file order, which a SQL engine does not have, and files are usually written in
    order-id order."""
    firsts = per.select("customer_id", "first_purchase")
    at_first = bought_lines.inner_join(
        firsts,
        [
            bought_lines.customer_id == firsts.customer_id,
            bought_lines.order_date == firsts.first_purchase,
        ],
    )
    at_first = at_first.filter(at_first.channel.notnull())
    order_key = at_first.order_id.fill_null("") if "order_id" in at_first.columns else ""
    key = order_key + "\x00" + at_first.channel
    return at_first.group_by("customer_id").aggregate(channel=at_first.channel.argmin(key))
