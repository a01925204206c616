"""The sample shop: its parameters (channels, categories, prices, comments) and the simulation
of who signs up, through which channel, who buys, when and how often."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

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


def _prefixed_ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """``prefix`` + zero-padded ``numbers``, vectorised (numpy string ufuncs)."""
    numbers = np.asarray(numbers)
    if numbers.size == 0:  # np.strings.zfill fails on empty input
        return np.array([], dtype="str")
    digits = np.strings.zfill(numbers.astype("str"), width)
    return np.strings.add(prefix, digits)
