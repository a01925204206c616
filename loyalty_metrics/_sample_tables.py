"""The sample's tables: orders, surveys, events, spend, customers and points from the simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._sample_points import POINT_TYPES, simulate_ledger
from ._sample_simulation import (
    _CAC,
    _CAT_MARGIN,
    _CAT_PRICE,
    _CAT_SHARES,
    _CAT_SPREAD,
    _CATEGORIES,
    _CHANNELS,
    _COMMENTS,
    _EVENT_TYPES,
    _FIXED_MONTHLY,
    _NS_PER_DAY,
    _NS_PER_SECOND,
    _PRODUCTS_PER_CATEGORY,
    _REGION_SHARES,
    _REGIONS,
    _REPEAT_CHANNEL_SHARES,
    _TIERS,
    _Population,
    _prefixed_ids,
    _Purchases,
)


def _orders_table(
    rng: np.random.Generator, pop: _Population, purch: _Purchases, n_days: int, origin: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """The order lines, and which customers returned something (they score lower later)."""
    n_orders = len(purch.customer)
    number = np.arange(1, n_orders + 1)
    lines_per_order = 1 + np.minimum(rng.poisson(1.3, size=n_orders), 6)
    line_order = np.repeat(np.arange(n_orders), lines_per_order)
    n_lines = len(line_order)
    customer = purch.customer[line_order]

    # Half the lines come from the customer's favourite category.
    category = np.where(
        rng.random(n_lines) < 0.5,
        pop.favourite[customer],
        rng.choice(len(_CATEGORIES), size=n_lines, p=_CAT_SHARES),
    )
    # A fixed catalogue (drawn from its own stream so it does not depend on the size) with a
    # few best sellers per category.
    catalogue = np.random.default_rng(20_240_101)
    base_price = _CAT_PRICE[:, None] * catalogue.lognormal(
        0.0, _CAT_SPREAD[:, None], (len(_CATEGORIES), _PRODUCTS_PER_CATEGORY)
    )
    popularity = 1.0 / np.arange(1, _PRODUCTS_PER_CATEGORY + 1) ** 0.9
    cumulative = np.cumsum(popularity / popularity.sum())
    product = np.minimum(
        np.searchsorted(cumulative, rng.random(n_lines)), _PRODUCTS_PER_CATEGORY - 1
    )
    product_code = category * _PRODUCTS_PER_CATEGORY + product
    quantity = rng.choice(np.array([1, 2, 3, 4]), size=n_lines, p=[0.78, 0.15, 0.05, 0.02])
    discount = np.where(rng.random(n_lines) < 0.15, 1.0 - rng.uniform(0.1, 0.3, n_lines), 1.0)
    unit = base_price.ravel()[product_code]
    amount = np.round(unit * pop.spend_level[customer] * quantity * discount, 2)
    # Cost of goods follows the list price (before discounts): discounts eat the margin.
    cost = np.round(unit * pop.spend_level[customer] * quantity * (1.0 - _CAT_MARGIN[category]), 2)
    # A few promotional orders are free: $0 orders are still purchases.
    free = rng.random(n_orders) < 0.004
    amount[free[line_order]] = 0.0

    acquisition = pop.channel[purch.customer]
    other = rng.choice(len(_CHANNELS), size=n_orders, p=_REPEAT_CHANNEL_SHARES)
    order_channel = np.where(purch.first | (rng.random(n_orders) < 0.35), acquisition, other)
    channel = order_channel[line_order]
    day = purch.day[line_order]

    # Partial returns: the last line of some multi-line orders comes back a few days later,
    # as a negative line of the same order.
    line_start = np.cumsum(lines_per_order) - lines_per_order
    partial = (lines_per_order >= 2) & (rng.random(n_orders) < 0.06) & ~free
    partial_line = (line_start + lines_per_order - 1)[partial]
    partial_day = purch.day[partial] + rng.integers(2, 31, size=int(partial.sum()))
    keep_partial = partial_day < n_days
    partial_line, partial_day = partial_line[keep_partial], partial_day[keep_partial]
    # Full refunds: every line of some orders is negated by a separate refund order.
    refund = (rng.random(n_orders) < 0.025) & ~free & ~partial
    refund_day = purch.day + rng.integers(3, 41, size=n_orders)
    refund &= refund_day < n_days
    refund_lines = np.flatnonzero(refund[line_order])

    source = np.concatenate([np.arange(n_lines), partial_line, refund_lines])
    kind = np.concatenate(
        [
            np.zeros(n_lines, "int64"),
            np.ones(len(partial_line), "int64"),
            np.full(len(refund_lines), 2),
        ]
    )
    sign = np.where(kind == 0, 1.0, -1.0)
    line_day = np.concatenate([day, partial_day, refund_day[line_order[refund_lines]]])
    order_index = line_order[source]
    # By day, order, then original lines before returns; a stable sort keeps the line order.
    sel = np.argsort((line_day * n_orders + order_index) * 3 + kind, kind="stable")

    width = max(7, len(str(n_orders)))
    order_number = np.where(kind == 2, n_orders + number[order_index], number[order_index])
    order_ids = pd.array(
        np.concatenate([_prefixed_ids("O", number, width), _prefixed_ids("R", number, width)]),
        dtype="str",
    )
    product_ids = pd.array(
        _prefixed_ids("P", np.arange(len(_CATEGORIES) * _PRODUCTS_PER_CATEGORY) + 1001, 4),
        dtype="str",
    )
    frame = pd.DataFrame(
        {
            "customer_id": _take(pop.ids, customer[source][sel]),
            "order_date": _dates(origin, line_day[sel]),
            "amount": (sign * amount[source])[sel],
            "order_id": order_ids.take(order_number[sel] - 1),
            "category": pd.Categorical.from_codes(category[source][sel], categories=_CATEGORIES),
            "product_id": product_ids.take(product_code[source][sel]),
            "quantity": (sign * quantity[source])[sel].astype("float64"),
            "cost": (sign * cost[source])[sel],
            "channel": pd.Categorical.from_codes(channel[source][sel], categories=_CHANNELS),
        }
    )
    returned = np.zeros(len(pop.signup), dtype=bool)
    returned[customer[np.concatenate([partial_line, refund_lines])]] = True
    return _observed_categories(frame, ("category", "channel")), returned


def _surveys_table(
    rng: np.random.Generator,
    pop: _Population,
    purch: _Purchases,
    returned: np.ndarray,
    n_days: int,
    origin: int,
) -> pd.DataFrame:
    buyers = np.flatnonzero(pop.buyer)
    once = buyers[rng.random(len(buyers)) < 0.32]
    regulars = buyers[purch.repeats[buyers] >= 2]
    twice = regulars[rng.random(len(regulars)) < 0.3]
    respondent = np.sort(np.concatenate([once, twice]), kind="stable")

    # Responses come after the first purchase, up to two weeks after the latest one.
    low = pop.first[respondent]
    high = np.minimum(purch.last[respondent] + 14, n_days - 1)
    day = low + np.floor(rng.random(len(respondent)) * (high - low + 1)).astype("int64")

    satisfaction = (
        7.45
        + 1.3 * pop.member[respondent]
        + 0.7 * np.log1p(purch.repeats[respondent])
        - 1.8 * returned[respondent]
        + rng.normal(0.0, 2.0, len(respondent))
    )
    n_anonymous = round(0.08 * len(respondent))
    anonymous_day = rng.integers(0, n_days, size=n_anonymous)
    anonymous_satisfaction = 7.4 + rng.normal(0.0, 2.2, n_anonymous)

    satisfaction = np.concatenate([satisfaction, anonymous_satisfaction])
    day = np.concatenate([day, anonymous_day])
    customer = np.concatenate([respondent, np.full(n_anonymous, -1)])
    region = np.concatenate(
        [pop.region[respondent], rng.choice(len(_REGIONS), size=n_anonymous, p=_REGION_SHARES)]
    )
    m = len(customer)
    score = np.clip(np.rint(satisfaction), 0, 10)
    csat = np.clip(np.rint(1.0 + 0.4 * score + rng.normal(0.0, 0.6, m)), 1, 5)
    kind = rng.random(m)
    csat = np.where(kind < 0.12, np.nan, csat)  # NPS-only responses
    score = np.where(kind > 0.95, np.nan, score)  # CSAT-only responses

    band = np.where(np.isnan(score), np.digitize(csat, [3, 4]), np.digitize(score, [7, 9]))
    pick = rng.random(m)
    comment = np.full(m, None, dtype=object)
    with_comment = rng.random(m) < 0.25
    for b, texts in enumerate(_COMMENTS):  # three bands, vectorised within each
        rows = with_comment & (band == b)
        comment[rows] = texts[np.floor(pick[rows] * len(texts)).astype("int64")]

    order = np.lexsort((customer, day))
    customer_ids = _take(pop.ids, np.maximum(customer, 0))
    frame = pd.DataFrame(
        {
            "customer_id": customer_ids.where(customer >= 0),
            "response_date": _dates(origin, day),
            "score": score,
            "csat": csat,
            "segment": pd.Categorical.from_codes(region, categories=_REGIONS),
            "comment": pd.array(comment, dtype="str"),
        }
    ).iloc[order]
    frame = frame.reset_index(drop=True)
    return _observed_categories(frame, ("segment",))


def _events_table(
    rng: np.random.Generator, pop: _Population, purch: _Purchases, n_days: int, origin: int
) -> pd.DataFrame:
    n = len(pop.signup)
    # Browsing sessions while the customer is engaged; members and frequent buyers come back
    # more often.
    span = np.maximum(purch.active_until - pop.signup, 1)
    boost = np.where(pop.member, 1.5, 1.0)
    session_rate = (0.002 + 0.5 * pop.rate) * boost
    sessions = rng.poisson(session_rate * span)
    s_customer = np.repeat(np.arange(n), sessions)
    s_day = pop.signup[s_customer] + np.floor(
        rng.random(len(s_customer)) * span[s_customer]
    ).astype("int64")
    s_start = s_day * 86_400 + _time_of_day(rng, len(s_customer))

    # Each session: a login, one or more views, sometimes an add-to-cart.
    views = 1 + rng.poisson(1.0, size=len(s_customer))
    cart = (rng.random(len(s_customer)) < 0.25).astype("int64")
    per_session = 1 + views + cart
    e_session = np.repeat(np.arange(len(s_customer)), per_session)
    position = np.arange(len(e_session)) - np.repeat(
        np.cumsum(per_session) - per_session, per_session
    )
    e_type = np.where(position == 0, 0, np.where(position <= views[e_session], 1, 2))
    duration = np.select(
        [e_type == 0, e_type == 1],
        [rng.integers(2, 16, len(e_session)), np.rint(3 + rng.exponential(40.0, len(e_session)))],
        rng.integers(3, 21, len(e_session)),
    ).astype("int64")
    # Events of a session follow each other: offset = durations of the earlier events.
    elapsed = np.cumsum(duration) - duration
    offset = elapsed - np.repeat(elapsed[np.cumsum(per_session) - per_session], per_session)
    e_seconds = s_start[e_session] + offset
    e_customer = s_customer[e_session]

    # One purchase event per order and a review after some of them.
    p_seconds = purch.day * 86_400 + _time_of_day(rng, len(purch.day))
    p_duration = rng.integers(30, 241, len(purch.day))
    reviewed = rng.random(len(purch.day)) < 0.12
    r_day = purch.day + rng.integers(3, 22, len(purch.day))
    reviewed &= r_day < n_days
    r_seconds = r_day[reviewed] * 86_400 + _time_of_day(rng, int(reviewed.sum()))
    r_duration = rng.integers(60, 401, int(reviewed.sum()))

    seconds = np.concatenate([e_seconds, p_seconds, r_seconds])
    seconds = np.minimum(seconds, n_days * 86_400 - 1)  # a late session never spills over the end
    customer = np.concatenate([e_customer, purch.customer, purch.customer[reviewed]])
    types = np.concatenate([e_type, np.full(len(p_seconds), 3), np.full(len(r_seconds), 4)])
    durations = np.concatenate([duration, p_duration, r_duration])
    order = np.argsort((seconds * (n + 1) + customer) * len(_EVENT_TYPES) + types, kind="stable")
    frame = pd.DataFrame(
        {
            "customer_id": _take(pop.ids, customer[order]),
            "timestamp": pd.Series(
                (origin + seconds[order] * _NS_PER_SECOND).view("datetime64[ns]")
            ),
            "event_type": pd.Categorical.from_codes(types[order], categories=_EVENT_TYPES),
            "duration": durations[order].astype("float64"),
        }
    )
    return _observed_categories(frame, ("event_type",))


def _spend_table(
    rng: np.random.Generator, pop: _Population, first_day: pd.Timestamp, months: int
) -> pd.DataFrame:
    month_starts = pd.DatetimeIndex([first_day + pd.DateOffset(months=k) for k in range(months)])
    offsets = ((month_starts - first_day) // pd.Timedelta(days=1)).to_numpy()
    month = np.searchsorted(offsets, pop.signup, side="right") - 1
    paid = len(_CAC)
    is_paid = pop.channel < paid
    new = np.bincount(month[is_paid] * paid + pop.channel[is_paid], minlength=months * paid)
    new = new.reshape(months, paid)
    scale = len(pop.signup) / 3000
    noise = rng.lognormal(0.0, 0.2, size=(months, paid))
    amount = np.round(new * _CAC * noise + _FIXED_MONTHLY * scale * noise, 2)
    frame = pd.DataFrame(
        {
            "date": pd.Series(np.repeat(month_starts.to_numpy(), paid)).astype("datetime64[ns]"),
            "amount": amount.ravel(),
            "channel": pd.Categorical.from_codes(
                np.tile(np.arange(paid), months), categories=_CHANNELS
            ),
        }
    )
    return _observed_categories(frame, ("channel",))


def _customers_table(pop: _Population, origin: int) -> pd.DataFrame:
    member_since = np.where(pop.member, pop.member_since, -1)
    referrer = _take(pop.ids, np.maximum(pop.referred_by, 0))
    frame = pd.DataFrame(
        {
            "customer_id": _take(pop.ids, np.arange(len(pop.signup))),
            "signup_date": _dates(origin, pop.signup),
            "acquisition_channel": pd.Categorical.from_codes(pop.channel, categories=_CHANNELS),
            "is_member": pd.array(pop.member, dtype="boolean"),
            "member_since": _dates(origin, member_since),
            "tier": pd.Categorical.from_codes(pop.tier, categories=_TIERS),
            "referred_by": referrer.where(pop.referred_by >= 0),
        }
    )
    return _observed_categories(frame, ("acquisition_channel", "tier"))


def _points_table(
    rng: np.random.Generator, pop: _Population, orders: pd.DataFrame, n_days: int, origin: int
) -> pd.DataFrame:
    rows = simulate_ledger(rng, pop.ids, pop.member, pop.member_since, orders, n_days, origin)
    frame = pd.DataFrame(
        {
            "customer_id": _take(pop.ids, rows["owner"]),
            "date": _dates(origin, rows["day"]),
            "points": rows["points"],
            "type": pd.Categorical.from_codes(rows["kind"], categories=POINT_TYPES),
            "order_id": pd.Series(rows["order_id"], dtype="str"),
            "note": pd.Series(rows["note"], dtype="str"),
        }
    )
    return _observed_categories(frame, ("type",))


def _take(ids: pd.api.extensions.ExtensionArray, index: np.ndarray) -> pd.Series:
    return pd.Series(ids.take(np.asarray(index, dtype="int64")))


def _dates(origin: int, days: np.ndarray) -> pd.Series:
    """Day indexes -> datetime64[ns]; a negative index is NaT."""
    days = np.asarray(days, dtype="int64")
    ns = np.where(days >= 0, origin + days * _NS_PER_DAY, np.iinfo(np.int64).min)
    return pd.Series(ns.view("datetime64[ns]"))


def _time_of_day(rng: np.random.Generator, size: int) -> np.ndarray:
    """Seconds after midnight, busiest in the afternoon and evening."""
    return np.clip(np.rint(rng.normal(15.5 * 3600, 4.0 * 3600, size)), 0, 86_399).astype("int64")


def _observed_categories(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Keep only the categories that occur (sorted), as a reader would infer them."""
    for column in columns:
        used = frame[column].cat.remove_unused_categories().cat.categories
        # An explicit str index: an empty one would otherwise be object dtype.
        frame[column] = frame[column].cat.set_categories(pd.Index(sorted(used), dtype="str"))
    return frame
