#!/usr/bin/env python3
"""Deterministic generator of a realistic order-lines CSV (benchmark input).

Columns: order_id, customer_id, order_date (ISO date), product_id, category,
quantity, amount (2 decimals; = line total).

Model (all vectorised numpy, seeded):
  * customers are acquired over 2021-01-01..2023-12-31 with growth, yearly
    seasonality (Nov/Dec peak, summer dip) and a weekly pattern;
  * each customer has a BG/NBD-like behaviour: purchase rate ~ Gamma, dropout
    probability after each purchase ~ Beta -> heavy-tailed order counts (most
    customers buy once, a few buy very often); repeat orders follow the same
    seasonal intensity (time-warped Poisson process) and are right-censored
    at the end of the observation window;
  * 1-4 lines per order, ~20 categories with Zipf-like popularity, each
    customer has a favourite category; product prices are log-normal per
    category, quantity mostly 1.

Usage: gen_orders.py --lines N --out PATH [--seed S]
"""

import argparse
import time

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

START = np.datetime64("2021-01-01")
END = np.datetime64("2023-12-31")

CATEGORIES = [
    "Apparel",
    "Shoes",
    "Electronics",
    "Home & Kitchen",
    "Beauty",
    "Sports & Outdoors",
    "Toys & Games",
    "Books",
    "Grocery",
    "Health",
    "Jewelry",
    "Garden",
    "Automotive",
    "Pet Supplies",
    "Office",
    "Music",
    "Baby",
    "Tools",
    "Video Games",
    "Crafts",
]
# relative popularity of categories (Zipf-like)
CAT_POP = 1.0 / np.arange(1, len(CATEGORIES) + 1) ** 0.8
CAT_POP /= CAT_POP.sum()
# median unit price per category
CAT_PRICE = np.array(
    [35, 60, 180, 45, 22, 55, 28, 15, 9, 18, 120, 30, 70, 25, 20, 14, 32, 65, 50, 12], dtype=float
)


def day_intensity(days):
    """Relative order intensity per calendar day (seasonality + weekday)."""
    d = days.astype("datetime64[D]")
    doy = (d - d.astype("datetime64[Y]")).astype(int)
    dow = (d.astype(int) + 3) % 7  # 0 = Monday
    season = (
        1.0
        + 0.25 * np.cos(2 * np.pi * (doy - 20) / 365.25)
        - 0.15 * np.cos(4 * np.pi * (doy - 200) / 365.25)
    )
    season = season + 0.9 * np.exp(-0.5 * ((doy - 330) / 6.0) ** 2)  # Black Friday
    season = season + 0.6 * np.exp(-0.5 * ((doy - 352) / 7.0) ** 2)  # Christmas
    week = np.array([1.0, 0.97, 0.97, 1.0, 1.08, 1.15, 1.05])[dow]
    return season * week


def generate(n_lines, seed):
    rng = np.random.default_rng(seed)
    days = np.arange(START, END + np.timedelta64(1, "D"))
    n_days = len(days)
    inten = day_intensity(days)
    # operational-time grid for the seasonal (non-homogeneous) Poisson process
    cum = np.concatenate([[0.0], np.cumsum(inten / inten.mean())])  # len n_days+1

    # customers: generous estimate, trimmed afterwards to exactly n_lines
    lines_per_customer = 4.2
    n_cust = int(n_lines / lines_per_customer * 1.25) + 1000

    # acquisition day: growth x seasonality x weekday
    growth = np.linspace(1.0, 2.2, n_days)
    p_acq = growth * inten
    p_acq /= p_acq.sum()
    acq_day = rng.choice(n_days, size=n_cust, p=p_acq)
    acq_tau = cum[acq_day] + rng.random(n_cust) * (cum[acq_day + 1] - cum[acq_day])

    # BG/NBD-like heterogeneity
    lam = rng.gamma(shape=0.9, scale=1.0 / 55.0, size=n_cust)  # purchases / day
    p_drop = rng.beta(0.7, 0.45, size=n_cust)  # dropout after a purchase
    p_drop = np.clip(p_drop, 0.004, 1.0)
    n_repeat = np.minimum(rng.geometric(p_drop) - 1, 400)  # repeat purchases before dropout

    n_orders_raw = 1 + n_repeat
    cust_of_order = np.repeat(np.arange(n_cust), n_orders_raw)
    first_idx = np.concatenate([[0], np.cumsum(n_orders_raw)[:-1]])
    gaps = rng.exponential(1.0, size=len(cust_of_order)) / lam[cust_of_order]
    gaps[first_idx] = 0.0
    cs = np.cumsum(gaps)
    tau = acq_tau[cust_of_order] + (cs - np.repeat(cs[first_idx], n_orders_raw))
    keep = tau < cum[-1]
    cust_of_order = cust_of_order[keep]
    tau = tau[keep]
    del gaps, cs, keep
    order_day = np.searchsorted(cum, tau, side="right") - 1
    order_day = np.clip(order_day, 0, n_days - 1)

    # lines per order
    n_lines_order = rng.choice([1, 2, 3, 4], size=len(order_day), p=[0.50, 0.27, 0.15, 0.08])

    # trim to exactly n_lines, keeping whole customers (customers are in random order)
    lines_per_cust = np.bincount(cust_of_order, weights=n_lines_order, minlength=n_cust)
    cum_lines = np.cumsum(lines_per_cust)
    if cum_lines[-1] < n_lines:
        raise SystemExit("internal: not enough lines generated, raise lines_per_customer margin")
    last_cust = int(np.searchsorted(cum_lines, n_lines))  # include customers 0..last_cust
    sel = cust_of_order <= last_cust
    cust_of_order, order_day, n_lines_order = (
        cust_of_order[sel],
        order_day[sel],
        n_lines_order[sel],
    )
    excess = int(n_lines_order.sum() - n_lines)
    # drop excess lines from the last customer's orders (keeping >= 1 line per order)
    idx_last = np.nonzero(cust_of_order == last_cust)[0][::-1]
    for i in idx_last:
        if excess <= 0:
            break
        take = min(excess, n_lines_order[i] - 1)
        n_lines_order[i] -= take
        excess -= take
    if excess > 0:  # still too many: drop whole trailing orders of that customer
        drop = []
        for i in idx_last[:-1]:
            if excess <= 0:
                break
            drop.append(i)
            excess -= n_lines_order[i]
        m = np.ones(len(cust_of_order), bool)
        m[drop] = False
        cust_of_order, order_day, n_lines_order = cust_of_order[m], order_day[m], n_lines_order[m]
        if excess < 0:  # overshoot: add lines back to the last order
            n_lines_order[np.nonzero(cust_of_order == last_cust)[0][0]] += -excess
    assert n_lines_order.sum() == n_lines

    # order ids increase with date (like a real export), customer ids random-ish
    order_rank = np.lexsort((cust_of_order, order_day))
    cust_of_order, order_day, n_lines_order = (
        cust_of_order[order_rank],
        order_day[order_rank],
        n_lines_order[order_rank],
    )
    n_orders = len(order_day)
    order_id = 10_000_000 + np.arange(n_orders, dtype=np.int64)
    cust_ids = 100_000 + rng.permutation(last_cust + 1).astype(np.int64)
    customer_id = cust_ids[cust_of_order]

    # explode orders into lines
    line_order = np.repeat(np.arange(n_orders), n_lines_order)
    n = len(line_order)

    # favourite category per customer, 55% of lines from it
    fav = rng.choice(len(CATEGORIES), size=last_cust + 1, p=CAT_POP)
    use_fav = rng.random(n) < 0.55
    rand_cat = rng.choice(len(CATEGORIES), size=n, p=CAT_POP)
    cat = np.where(use_fav, fav[cust_of_order[line_order]], rand_cat).astype(np.int16)
    del use_fav, rand_cat

    # products: category c has prod_n[c] SKUs, skewed popularity within category
    prod_n = np.round(120 + 900 * CAT_POP / CAT_POP.max()).astype(np.int64)
    prod_off = np.concatenate([[0], np.cumsum(prod_n)[:-1]])
    within = np.floor(prod_n[cat] * rng.random(n) ** 2.2).astype(np.int64)
    prod_idx = prod_off[cat] + within
    n_prod = int(prod_n.sum())
    prod_rng = np.random.default_rng(seed + 7919)
    prod_cat = np.repeat(np.arange(len(CATEGORIES)), prod_n)
    prod_price_cents = np.round(
        100 * CAT_PRICE[prod_cat] * prod_rng.lognormal(0.0, 0.6, size=n_prod)
    ).astype(np.int64)
    prod_price_cents = np.maximum(prod_price_cents, 99) // 100 * 100 - 1  # x.99 pricing
    prod_sku = np.char.add("SKU-", np.char.zfill(np.arange(1, n_prod + 1).astype(str), 6))

    quantity = rng.choice(
        [1, 2, 3, 4, 5, 6], size=n, p=[0.76, 0.14, 0.05, 0.03, 0.01, 0.01]
    ).astype(np.int64)
    # occasional discount on the line (10-30%)
    disc = np.where(rng.random(n) < 0.15, rng.choice([0.9, 0.8, 0.7], size=n), 1.0)
    amount_cents = np.round(prod_price_cents[prod_idx] * quantity * disc).astype(np.int64)
    del disc

    # assemble arrow table
    dates = (START + order_day[line_order].astype("timedelta64[D]")).astype("datetime64[D]")
    amount_buf = np.zeros(2 * n, dtype=np.int64)
    amount_buf[0::2] = amount_cents  # decimal128 little-endian low word
    amount = pa.Array.from_buffers(pa.decimal128(12, 2), n, [None, pa.py_buffer(amount_buf)])
    sku_dict = pa.array(prod_sku, pa.string())
    cat_dict = pa.array(CATEGORIES, pa.string())
    table = pa.table(
        {
            "order_id": pa.array(order_id[line_order]),
            "customer_id": pa.array(customer_id[line_order]),
            "order_date": pa.array(dates, pa.date32()),
            "product_id": pa.DictionaryArray.from_arrays(
                pa.array(prod_idx.astype(np.int32)), sku_dict
            ).cast(pa.string()),
            "category": pa.DictionaryArray.from_arrays(
                pa.array(cat.astype(np.int32)), cat_dict
            ).cast(pa.string()),
            "quantity": pa.array(quantity),
            "amount": amount,
        }
    )
    return table


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--lines", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    t0 = time.perf_counter()
    table = generate(a.lines, a.seed)
    t1 = time.perf_counter()
    # no string in this data contains a comma, quote or newline, so unquoted output is valid CSV
    pacsv.write_csv(
        table, a.out, write_options=pacsv.WriteOptions(quoting_style="none", batch_size=1 << 16)
    )
    t2 = time.perf_counter()
    print(
        f"wrote {table.num_rows} lines to {a.out}: generate {t1 - t0:.1f}s, write {t2 - t1:.1f}s"
    )


if __name__ == "__main__":
    main()
