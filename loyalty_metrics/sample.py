"""A deterministic, coherent sample data set: customers, orders, surveys, events, spend, points.

The generator simulates a small online shop over ``months`` months. Customers sign up at a
slowly growing pace through five acquisition channels; some join the loyalty programme and
some were referred by an earlier customer. Purchases follow a BG/NBD-like process
(Fader, Hardie & Lee 2005): each buyer has a gamma-distributed purchase rate and a
beta-distributed probability of dropping out after each purchase, and programme members buy
more often once they joined. Survey scores, engagement events and marketing spend are drawn
from the same customers, so they relate to behaviour: repeat buyers and members score
higher, customers who stop buying stop logging in, spend follows the new customers of each
channel. Programme members earn a point per currency unit of each purchase; some redeem
blocks of points, balances expire after twelve months without earning, and a few
adjustments (refund clawbacks, goodwill credits) complete the ledger.

Everything is vectorised (no Python loop over customers or rows) and driven by one seeded
:class:`numpy.random.Generator`, so the same arguments always give the same frames and
byte-identical files.

Examples
--------
>>> tables = generate_sample(200, seed=1)
>>> sorted(tables)
['customers', 'events', 'orders', 'points', 'spend', 'surveys']
>>> tables["customers"]["customer_id"].is_unique
True
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ._sample_points import POINT_TYPES, sample_config, simulate_ledger
from ._window import DateLike, to_day
from .schema import TABLES

__all__ = ["SAMPLE_FILES", "generate_sample", "write_sample"]

#: Canonical columns the sample leaves out: it gives ``amount`` (so no ``unit_price`` to
#: compute it from) and its returns reference their order by ``order_id`` (no ``cancels``).
NOT_GENERATED: dict[str, tuple[str, ...]] = {"orders": ("unit_price", "cancels")}

#: File names :func:`write_sample` writes, by table (the canonical data-folder names), and the
#: ``loyalty.toml`` with tier thresholds fitted to the sample (``config``).
SAMPLE_FILES: dict[str, str] = {
    **{name: f"{name}.csv" for name in TABLES},
    "config": "loyalty.toml",
}

_NS_PER_DAY = 86_400 * 10**9
_NS_PER_SECOND = 10**9

# Acquisition channels and their shares of sign-ups; the first four are paid for.
_CHANNELS = np.array(["search", "social", "email", "referral", "direct"])
_CHANNEL_SHARES = np.array([0.32, 0.22, 0.14, 0.12, 0.20])
# Monthly marketing spend: cost per acquired customer and a fixed monthly cost (per 3000
# customers) for the paid channels search, social, email, referral (bonuses).
_CAC = np.array([48.0, 36.0, 14.0, 22.0])
_FIXED_MONTHLY = np.array([400.0, 250.0, 300.0, 0.0])
# Channels of repeat orders that are not attributed to the acquisition channel.
_REPEAT_CHANNEL_SHARES = np.array([0.20, 0.10, 0.30, 0.0, 0.40])

# Product categories: median unit price, price spread (lognormal sigma), share of lines
# and gross margin.
_CATEGORIES = np.array(["electronics", "home", "fashion", "beauty", "sports", "books", "grocery"])
_CAT_PRICE = np.array([150.0, 45.0, 38.0, 22.0, 42.0, 16.0, 9.0])
_CAT_SPREAD = np.array([0.7, 0.6, 0.5, 0.4, 0.6, 0.3, 0.4])
_CAT_SHARES = np.array([0.10, 0.17, 0.22, 0.16, 0.12, 0.13, 0.10])
_CAT_MARGIN = np.array([0.15, 0.35, 0.50, 0.55, 0.40, 0.30, 0.20])
_PRODUCTS_PER_CATEGORY = 40

_REGIONS = np.array(["north", "south", "east", "west"])
_REGION_SHARES = np.array([0.30, 0.25, 0.25, 0.20])
_TIERS = np.array(["bronze", "silver", "gold"])

_EVENT_TYPES = np.array(["login", "view", "add_to_cart", "purchase", "review"])
_POINTS_STREAM = 15


# Survey comments by NPS band (detractor, passive, promoter); CSV quoting is exercised on
# purpose (commas, quotes) and one comment is not ASCII.
_COMMENTS = (
    np.array(
        [
            "Delivery was late, twice.",
            "Item arrived damaged",
            "Support never answered my email",
            "Too expensive for the quality",
            'The "free" shipping was not free',
            "Returned it, refund took weeks",
        ]
    ),
    np.array(
        [
            "OK overall",
            "Good products, slow delivery",
            "Fine, nothing special",
            "Prices could be better",
            "Decent, but the app is clunky",
        ]
    ),
    np.array(
        [
            "Great service!",
            "Love the loyalty rewards",
            "Fast delivery, great quality",
            "Always find what I need",
            "Très bien, merci",
            "Best shop in town, recommended it to friends",
        ]
    ),
)


def generate_sample(
    customers: int = 3000,
    *,
    seed: int = 0,
    start: DateLike = "2023-01-01",
    months: int = 24,
) -> dict[str, pd.DataFrame]:
    """Generate a coherent sample data set, the same for the same arguments.

    Parameters
    ----------
    customers : int, default 3000
        Number of customers (rows of the ``customers`` table). About 92% of them buy;
        the rest sign up and only browse. Orders come to about 7 lines per customer.
    seed : int, default 0
        Seed of the :class:`numpy.random.Generator` that drives everything.
    start : date-like, default "2023-01-01"
        First day of the simulated period.
    months : int, default 24
        Length of the period in calendar months; nothing is dated on or after
        ``start + months``.

    Returns
    -------
    dict of str to pandas.DataFrame
        The six canonical tables (``orders``, ``surveys``, ``events``, ``spend``,
        ``customers``, ``points``) with the canonical column names in schema order and the canonical
        dtypes: ids ``str``, dates ``datetime64[ns]``, money / quantity / scores / durations
        ``float64``, categories ``category``, ``is_member`` ``boolean``.

        - ``customers``: ``customer_id`` (``C00001``... in sign-up order), ``signup_date``,
          ``acquisition_channel`` (search, social, email, referral, direct), ``is_member``,
          ``member_since`` (>= ``signup_date``; NaT for non-members), ``tier`` (bronze,
          silver, gold; members only) and ``referred_by`` (an earlier customer; referral
          sign-ups only).
        - ``orders``: one row per order line; ``order_id`` groups the lines of an order.
          Partial returns are negative lines of the original order dated a few days later;
          full refunds are separate orders ``R<number>`` negating every line of order
          ``O<number>``. ``channel`` is the marketing channel the order is attributed to
          (a customer's first order: their acquisition channel).
        - ``surveys``: NPS ``score`` (0-10) and ``csat`` (1-5) responses, some NPS-only
          (blank ``csat``), some CSAT-only (blank ``score``), some anonymous (blank
          ``customer_id``); ``segment`` is the respondent's region; optional ``comment``.
        - ``events``: ``login``, ``view``, ``add_to_cart`` (in sessions), ``purchase`` (one
          per order) and ``review`` events with a ``duration`` in whole seconds.
        - ``spend``: marketing spend per paid channel (search, social, email, referral) and
          month, dated on the first day of the month.
        - ``points``: the loyalty-programme ledger. Members ``earn`` one point per whole
          currency unit of each purchase made since they joined (``order_id`` names it);
          about 45% of members ``redeem`` 250 points on the day a purchase takes their
          earnings past each multiple of 250; a member's whole balance expires
          (``expire``) 365 days after their last earning; ``adjust`` rows claw back the points
          of refunded orders
          (``note`` "refund R...") and credit a few goodwill bonuses (``note`` "goodwill").

    Notes
    -----
    Purchase process (BG/NBD-like): rates ``lambda ~ Gamma(0.6, 1/25)`` per day, dropout
    probabilities ``p ~ Beta(1.4, 3.5)``. After the first purchase, repeats arrive as a Poisson
    process (rate x1.8 once the customer is a programme member) until the customer drops
    out, which happens after each repeat with probability ``p``.

    Examples
    --------
    >>> tables = generate_sample(100, seed=7, start="2024-01-01", months=6)
    >>> orders = tables["orders"]
    >>> bool(orders["order_date"].min() >= pd.Timestamp("2024-01-01"))
    True
    >>> bool(orders["order_date"].max() < pd.Timestamp("2024-07-01"))
    True
    >>> bool(orders["customer_id"].isin(tables["customers"]["customer_id"]).all())
    True
    >>> generate_sample(100, seed=7, start="2024-01-01", months=6)["orders"].equals(orders)
    True
    """
    _check_int("customers", customers, minimum=1)
    _check_int("seed", seed, minimum=0)
    _check_int("months", months, minimum=1)
    first_day = to_day(start, name="start")
    if first_day is None:
        raise ValueError(
            f"The 'start' parameter of generate_sample must be a date. Got {start!r} instead."
        )
    end_exclusive = first_day + pd.DateOffset(months=months)
    n_days = int((end_exclusive - first_day).days)

    rng = np.random.default_rng(seed)
    population = _simulate_customers(rng, customers, n_days)
    purchases = _simulate_purchases(rng, population, n_days)
    origin = first_day.value
    orders, returned = _orders_table(rng, population, purchases, n_days, origin)
    surveys = _surveys_table(rng, population, purchases, returned, n_days, origin)
    events = _events_table(rng, population, purchases, n_days, origin)
    spend = _spend_table(rng, population, first_day, months)
    customers_table = _customers_table(population, origin)
    # The ledger draws from its own stream, so adding it left the other tables unchanged.
    points_rng = np.random.default_rng([seed, _POINTS_STREAM])
    points = _points_table(points_rng, population, orders, n_days, origin)
    return {
        "orders": orders,
        "surveys": surveys,
        "events": events,
        "spend": spend,
        "customers": customers_table,
        "points": points,
    }


def write_sample(
    out_dir: str | os.PathLike[str],
    *,
    customers: int = 3000,
    seed: int = 0,
    start: DateLike = "2023-01-01",
    months: int = 24,
) -> dict[str, Path]:
    """Generate a sample data set and write it as CSV files, with its loyalty.toml, into ``out_dir``.

    Parameters
    ----------
    out_dir : path-like
        Folder to write to (created if missing). Existing sample files are replaced;
        each file is written to a temporary file first and moved into place.
    customers, seed, start, months
        As in :func:`generate_sample`.

    Returns
    -------
    dict of str to pathlib.Path
        Table name -> file written: ``orders.csv``, ``surveys.csv``, ``events.csv``,
        ``spend.csv``, ``customers.csv``, ``points.csv``, and ``config``: ``loyalty.toml``
        (only ``[metrics] tier_thresholds``, fitted to the sample's spend). UTF-8, comma-separated, ``\\n`` line ends, ISO
        dates (``YYYY-MM-DD``, or ``YYYY-MM-DD HH:MM:SS`` for event timestamps), money in
        the shortest form that reads back exactly (``12.5``), whole numbers without
        decimals, ``is_member`` as true/false, blanks for missing values. The same arguments give byte-identical files.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = write_sample(tmp, customers=50, seed=3)
    ...     header = paths["orders"].read_text().splitlines()[0]
    >>> sorted(p.name for p in paths.values())
    ['customers.csv', 'events.csv', 'loyalty.toml', 'orders.csv', 'points.csv', 'spend.csv', 'surveys.csv']
    >>> header
    'customer_id,order_date,amount,order_id,category,product_id,quantity,cost,channel'
    """
    tables = generate_sample(customers, seed=seed, start=start, months=months)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, frame in tables.items():
        path = out / SAMPLE_FILES[name]
        _write_csv(name, frame, path)
        written[name] = path
    written["config"] = out / SAMPLE_FILES["config"]
    _write_atomic(sample_config(tables["orders"]).encode("utf-8"), written["config"])
    return written


# --------------------------------------------------------------------------- simulation


@dataclass
class _Population:
    """Per-customer latent and observed attributes (arrays of length n)."""

    ids: pd.api.extensions.ExtensionArray  # customer ids, str dtype
    signup: np.ndarray  # day index
    channel: np.ndarray  # index into _CHANNELS
    rate: np.ndarray  # purchases per day before joining the programme
    dropout: np.ndarray  # probability of dropping out after a purchase
    spend_level: np.ndarray  # multiplier of unit prices (basket quality)
    favourite: np.ndarray  # favourite category index
    region: np.ndarray  # index into _REGIONS
    buyer: np.ndarray  # bool
    first: np.ndarray  # day of the first purchase (valid where buyer)
    member: np.ndarray  # bool
    member_since: np.ndarray  # day index (valid where member)
    tier: np.ndarray  # index into _TIERS, -1 for non-members
    referred_by: np.ndarray  # customer index, -1 when not referred


@dataclass
class _Purchases:
    """Purchase occasions (orders before returns), sorted by day then customer."""

    customer: np.ndarray  # customer index
    day: np.ndarray  # day index
    first: np.ndarray  # bool: the customer's first purchase
    # per customer
    repeats: np.ndarray  # repeat purchases made
    last: np.ndarray  # day of the latest purchase (valid where buyer)
    active_until: np.ndarray  # last day the customer is still engaged (exclusive)


def _simulate_customers(rng: np.random.Generator, n: int, n_days: int) -> _Population:
    # Sign-ups grow slowly over time, up to the last day (so no trend collapses at the end).
    signup_span = max(1, n_days)
    signup = np.sort(np.floor(signup_span * rng.random(n) ** 0.8).astype("int64"))
    channel = rng.choice(len(_CHANNELS), size=n, p=_CHANNEL_SHARES)
    rate = rng.gamma(0.6, 1 / 25, size=n)
    dropout = rng.beta(1.4, 3.5, size=n)
    spend_level = rng.gamma(8.0, 1 / 8, size=n)
    favourite = rng.choice(len(_CATEGORIES), size=n, p=_CAT_SHARES)
    region = rng.choice(len(_REGIONS), size=n, p=_REGION_SHARES)

    # About 8% never buy; the others buy on sign-up day or within a few weeks.
    delay = np.where(rng.random(n) < 0.45, 0, np.ceil(rng.exponential(12.0, size=n))).astype(
        "int64"
    )
    first = signup + delay
    buyer = (rng.random(n) >= 0.08) & (first < n_days)

    # Frequent buyers are more likely to join; some join at sign-up, most after buying.
    rate_rank = (np.argsort(np.argsort(rate)) + 0.5) / n
    wants = rng.random(n) < 0.12 + 0.40 * rate_rank
    joined_after = np.where(buyer, first, signup) + np.ceil(rng.exponential(50.0, size=n)).astype(
        "int64"
    )
    member_since = np.where(rng.random(n) < 0.3, signup, joined_after)
    member = wants & (member_since < n_days)

    # Tiers follow the purchase rate among members: top ~12% gold, next ~30% silver.
    tier = np.full(n, -1, dtype="int64")
    score = rate_rank + rng.normal(0.0, 0.15, size=n)
    if member.any():
        cut_silver, cut_gold = np.quantile(score[member], [0.58, 0.88])
        tier[member] = np.where(
            score[member] >= cut_gold, 2, np.where(score[member] >= cut_silver, 1, 0)
        )

    # Referral sign-ups name an earlier customer, usually a programme member.
    referral = channel == int(np.flatnonzero(_CHANNELS == "referral")[0])
    index = np.arange(n)
    members_idx = np.flatnonzero(member)
    earlier_members = np.searchsorted(members_idx, index)  # members with a smaller index
    pick_member = (rng.random(n) < 0.7) & (earlier_members > 0)
    member_slot = np.floor(rng.random(n) * earlier_members).astype("int64")
    member_pick = members_idx[member_slot] if len(members_idx) else np.zeros(n, dtype="int64")
    any_pick = np.floor(rng.random(n) * index).astype("int64")
    referred_by = np.where(pick_member, member_pick, any_pick)
    referred_by = np.where(referral & (index > 0), referred_by, -1)
    # The very first customer cannot have been referred.
    channel = np.where(
        referral & (index == 0), int(np.flatnonzero(_CHANNELS == "direct")[0]), channel
    )

    width = max(5, len(str(n)))
    ids = pd.array(_prefixed_ids("C", np.arange(1, n + 1), width), dtype="str")
    return _Population(
        ids=ids,
        signup=signup,
        channel=channel,
        rate=rate,
        dropout=dropout,
        spend_level=spend_level,
        favourite=favourite,
        region=region,
        buyer=buyer,
        first=first,
        member=member,
        member_since=member_since,
        tier=tier,
        referred_by=referred_by,
    )


def _simulate_purchases(rng: np.random.Generator, pop: _Population, n_days: int) -> _Purchases:
    n = len(pop.signup)
    buyers = np.flatnonzero(pop.buyer)
    first = pop.first[buyers].astype("float64")
    end = float(n_days)
    rate = pop.rate[buyers]
    boost = 1.8
    # Piecewise-constant intensity: rate before joining the programme, rate * boost after.
    joins = np.where(pop.member[buyers], np.maximum(pop.member_since[buyers], first), end)
    before = rate * (joins - first)
    total = before + rate * boost * (end - joins)

    # Without dropout the repeats would be a Poisson process: ``count`` arrivals, whose
    # sorted positions in intensity space are the normalised cumulative sums of count + 1
    # exponential gaps (no sort needed). The customer drops out after ``allowed`` repeats.
    count = rng.poisson(total)
    allowed = rng.geometric(pop.dropout[buyers]) - 1
    sizes = count + 1
    owner = np.repeat(np.arange(len(buyers)), sizes)
    cumulative = np.cumsum(rng.exponential(1.0, size=len(owner)))
    group_last = np.cumsum(sizes) - 1
    group_base = np.concatenate([[0.0], cumulative[group_last[:-1]]])
    within = cumulative - group_base[owner]
    rank = np.arange(len(owner)) - (group_last - count)[owner]
    kept = (rank < count[owner]) & (rank < allowed[owner])
    owner = owner[kept]
    u = (within[kept] / (within[group_last])[owner]) * total[owner]
    safe_rate = np.where(rate > 0, rate, 1.0)[owner]
    t = np.where(
        u < before[owner],
        first[owner] + u / safe_rate,
        joins[owner] + (u - before[owner]) / (safe_rate * boost),
    )
    t = np.minimum(t, np.nextafter(end, 0))

    repeats_b = np.bincount(owner, minlength=len(buyers))
    repeat_day = np.floor(t).astype("int64")
    last_b = pop.first[buyers].copy()
    np.maximum.at(last_b, owner, repeat_day)
    dropped_b = count > allowed

    repeats = np.zeros(n, dtype="int64")
    repeats[buyers] = repeats_b
    last = pop.first.copy()
    last[buyers] = last_b
    # Engagement fades out a few weeks after a customer's last purchase once they dropped
    # out; non-buyers browse for a few weeks after signing up.
    active_until = np.full(n, n_days, dtype="int64")
    active_until[buyers] = np.where(dropped_b, np.minimum(last_b + 30, n_days), n_days)
    non_buyers = ~pop.buyer
    active_until[non_buyers] = np.minimum(pop.signup[non_buyers] + 21, n_days)

    customer = np.concatenate([buyers, buyers[owner]])
    day = np.concatenate([pop.first[buyers], repeat_day])
    is_first = np.concatenate([np.ones(len(buyers), bool), np.zeros(len(owner), bool)])
    # Sort by day, then customer, a customer's first purchase first (one integer key).
    order = np.argsort((day * (n + 1) + customer) * 2 + ~is_first, kind="stable")
    return _Purchases(
        customer=customer[order],
        day=day[order],
        first=is_first[order],
        repeats=repeats,
        last=last,
        active_until=active_until,
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


# --------------------------------------------------------------------------- helpers


def _check_int(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(
            f"The {name!r} parameter of generate_sample must be an int >= {minimum}. "
            f"Got {value!r} instead."
        )


def _prefixed_ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """``prefix`` + zero-padded ``numbers``, vectorised (numpy string ufuncs)."""
    numbers = np.asarray(numbers)
    if numbers.size == 0:  # np.strings.zfill fails on empty input
        return np.array([], dtype="str")
    digits = np.strings.zfill(numbers.astype("str"), width)
    return np.strings.add(prefix, digits)


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


def _for_csv(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as it is written: whole numbers as integers, booleans as true/false."""
    out = frame.copy()
    for column, spec in TABLES[name].columns.items():
        if column not in out.columns:
            continue
        if spec.kind in ("number", "nps_score", "csat_score", "duration"):
            out[column] = out[column].astype("Int64")
        elif spec.kind == "bool":
            out[column] = np.where(
                out[column].to_numpy(dtype=bool, na_value=False), "true", "false"
            )
    return out


def _csv_bytes(frame: pd.DataFrame, *, quoted_text: bool) -> bytes:
    """CSV text of ``frame``: dates-only columns as ``YYYY-MM-DD``, others to the second.

    Tables without free text go through pyarrow's writer (ten times faster than pandas');
    free text needs pandas' minimal quoting. Both give the same bytes for the same values.
    """
    if quoted_text:
        return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    table = pa.Table.from_pandas(frame, preserve_index=False)
    for position, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            ns = frame[field.name].to_numpy(dtype="datetime64[ns]").view("int64")
            valid = ns != np.iinfo(np.int64).min
            unit = pa.date32() if not (ns[valid] % _NS_PER_DAY).any() else pa.timestamp("s")
            table = table.set_column(position, field.name, pc.cast(table.column(position), unit))
    sink = pa.BufferOutputStream()
    header = (",".join(frame.columns) + "\n").encode("utf-8")
    # quoting_style="none" raises if a value holds a comma, quote or newline: nothing is
    # written wrongly, it fails loudly.
    pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=False, quoting_style="none"))
    return header + sink.getvalue().to_pybytes()


def _write_csv(name: str, frame: pd.DataFrame, path: Path) -> None:
    """Write atomically: a temporary file in the same folder, then an atomic rename."""
    has_text = any(spec.kind == "text" for spec in TABLES[name].columns.values())
    _write_atomic(_csv_bytes(_for_csv(name, frame), quoted_text=has_text), path)


def _write_atomic(data: bytes, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
