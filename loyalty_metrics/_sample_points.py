"""The sample data's loyalty-points ledger, simulated from the members and their orders.

Members earn one point per whole currency unit of each purchase made since they joined;
redeemers (a share of members) take a reward each time their earnings since their balance
last expired pass a multiple of it; a balance expires a year after the member's last
earning; refunds claw the order's points back and a few purchases bring a goodwill credit.
Vectorised like the rest of the generator: the only loop runs over a member's spells of
activity (a handful), never over members or rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_NS_PER_DAY = 86_400 * 10**9

# Points programme: one point per currency unit of a purchase's lines; redeemers (a share of
# members) take a reward of _REWARD points each time their earnings since their balance last
# expired pass a multiple of it; a balance expires _EXPIRY_DAYS after the last earning.
POINT_TYPES = np.array(["earn", "redeem", "expire", "adjust"])
_REDEEMER_SHARE = 0.45
_REWARD = 250
_EXPIRY_DAYS = 365
_GOODWILL_SHARE = 0.01  # of members' purchases


def simulate_ledger(
    rng: np.random.Generator,
    customer_ids: pd.api.extensions.ExtensionArray,
    member: np.ndarray,
    member_since: np.ndarray,
    orders: pd.DataFrame,
    n_days: int,
    origin: int,
) -> dict[str, np.ndarray]:
    """The members' ledger rows, consistent with their orders, sorted as the file is.

    Returns arrays of equal length: ``owner`` (index into ``customer_ids``), ``day`` (day
    index from ``origin``), ``points``, ``kind`` (code into :data:`POINT_TYPES`),
    ``order_id`` and ``note`` (object, None when blank).
    """
    ids = orders["order_id"].to_numpy(dtype=object)
    is_order = orders["order_id"].str.startswith("O").to_numpy()
    day = (orders["order_date"].to_numpy(dtype="datetime64[ns]").view("int64") - origin) // (
        _NS_PER_DAY
    )
    owner = pd.Index(np.asarray(customer_ids, dtype=object)).get_indexer(
        orders["customer_id"].to_numpy(dtype=object)
    )
    # One earning per order: its positive lines (partial returns are not clawed back), on
    # its day, once the customer has joined; orders sorted by customer, day, id.
    sale = is_order & (orders["amount"].to_numpy() > 0)
    per_order = pd.DataFrame(
        {"owner": owner[sale], "day": day[sale], "amount": orders["amount"].to_numpy()[sale]},
        index=pd.Index(ids[sale], name="order_id"),
    )
    per_order = per_order.groupby(level=0, sort=True).agg(
        owner=("owner", "first"), day=("day", "min"), amount=("amount", "sum")
    )
    earned = np.floor(per_order["amount"].to_numpy() + 1e-9).astype("int64")
    e_owner = per_order["owner"].to_numpy()
    e_day = per_order["day"].to_numpy()
    keep = member[e_owner] & (e_day >= member_since[e_owner]) & (earned > 0)
    sort = np.flatnonzero(keep)[np.lexsort((e_day[keep], e_owner[keep]))]
    e_owner, e_day, earned = e_owner[sort], e_day[sort], earned[sort]
    e_order = per_order.index.to_numpy(dtype=object)[sort]

    # Spells of activity: a new one starts after more than a year without earning.
    first_of_owner = np.diff(e_owner, prepend=-1) != 0
    new_spell = first_of_owner | (np.diff(e_day, prepend=e_day[:1]) > _EXPIRY_DAYS)
    spell = np.cumsum(new_spell) - 1
    total = np.cumsum(earned)
    within = total - (total - earned)[new_spell][spell]  # spell earnings up to this order

    # Redemptions: a reward each time a redeemer's spell earnings pass a multiple of it.
    redeemer = rng.random(len(member)) < _REDEEMER_SHARE
    crossings = np.where(redeemer[e_owner], within // _REWARD - (within - earned) // _REWARD, 0)
    redeem = np.repeat(np.arange(len(e_owner)), crossings)

    # Adjustments: a refund (R<n> negates O<n>) claws the order's points back; a few
    # purchases come with a goodwill credit.
    refunds = ~is_order
    refund_day = pd.Series(day[refunds], index=ids[refunds]).groupby(level=0).min()
    refund_of = pd.Index(np.strings.add("R", np.strings.slice(e_order.astype("str"), 1, None)))
    clawed = np.flatnonzero(refund_of.isin(refund_day.index))
    clawed_day = refund_day.reindex(refund_of[clawed]).to_numpy()
    goodwill = np.flatnonzero(rng.random(len(e_owner)) < _GOODWILL_SHARE)
    bonus = rng.choice(np.array([100, 250]), size=len(goodwill))

    none = np.array([None], dtype=object)
    parts = [  # (rows of the earnings, day, points, type, order_id, note)
        (np.arange(len(e_owner)), e_day, earned, 0, e_order, none),
        (redeem, e_day[redeem], np.full(len(redeem), -_REWARD), 1, none, none),
        (
            clawed,
            clawed_day,
            -earned[clawed],
            3,
            e_order[clawed],
            np.strings.add("refund ", refund_of[clawed].to_numpy(dtype="str")).astype(object),
        ),
        (goodwill, e_day[goodwill], bonus, 3, none, np.array(["goodwill"], dtype=object)),
    ]
    row = np.concatenate([p[0] for p in parts])
    rows_day = np.concatenate([p[1] for p in parts]).astype("int64")
    rows_points = np.concatenate([p[2] for p in parts]).astype("float64")
    rows_kind = np.concatenate([np.full(len(p[0]), p[3]) for p in parts])
    rows_order = np.concatenate([np.broadcast_to(p[4], len(p[0])) for p in parts])
    rows_note = np.concatenate([np.broadcast_to(p[5], len(p[0])) for p in parts])

    # Expiry: a spell's balance (with what earlier spells left, a negative balance stays)
    # expires a year after its last earning, when that falls before the end.
    n_spells = int(spell[-1]) + 1 if len(spell) else 0
    spell_owner = e_owner[new_spell]
    spell_net = np.bincount(spell[row], weights=rows_points, minlength=n_spells)
    expires = np.zeros(n_spells, dtype="int64")
    np.maximum.at(expires, spell, e_day + _EXPIRY_DAYS)
    spell_rank = np.arange(n_spells) - np.searchsorted(spell_owner, spell_owner)
    carried, expired = np.zeros(n_spells), np.zeros(n_spells)
    for k in range(int(spell_rank.max(initial=-1)) + 1):  # a handful of spells per member
        now = np.flatnonzero(spell_rank == k)
        balance = carried[now] + spell_net[now]
        expired[now] = np.where(expires[now] < n_days, np.maximum(balance, 0), 0)
        later = now + 1 < n_spells
        later[later] = spell_owner[now[later] + 1] == spell_owner[now[later]]
        carried[now[later] + 1] = (balance - expired[now])[later]
    gone = np.flatnonzero(expired > 0)

    owner_all = np.concatenate([e_owner[row], spell_owner[gone]])
    day_all = np.concatenate([rows_day, expires[gone]])
    kind_all = np.concatenate([rows_kind, np.full(len(gone), 2)])
    # By day, customer, then earn, redeem, adjust, expire.
    sel = np.lexsort((np.array([0, 1, 3, 2])[kind_all], owner_all, day_all))
    return {
        "owner": owner_all[sel],
        "day": day_all[sel],
        "points": np.concatenate([rows_points, -expired[gone]])[sel],
        "kind": kind_all[sel],
        "order_id": np.concatenate([rows_order, np.full(len(gone), None)])[sel],
        "note": np.concatenate([rows_note, np.full(len(gone), None)])[sel],
    }


# The sample's loyalty.toml: tier minimums on net revenue over the trailing year that about the
# top 20% (silver) and top 5% (gold) of the last year's buyers reach, to two significant figures.
_TIER_QUANTILES = {"silver": 0.80, "gold": 0.95}
_MIN_TIER_BUYERS = 20
# Too few buyers to fit: the scheme loyalty.toml's documentation shows.
_FALLBACK_TIERS = {"silver": 500.0, "gold": 2000.0}


def sample_config(orders: pd.DataFrame) -> str:
    """The sample's ``loyalty.toml``: only ``[metrics] tier_thresholds``, fitted to ``orders``.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": [f"c{i}" for i in range(100)],
    ...     "order_date": pd.Timestamp("2024-06-01"), "amount": np.arange(1.0, 101.0)})
    >>> sample_config(orders).splitlines()[-1]
    'tier_thresholds = { silver = 80, gold = 95 }'
    """
    dates = orders["order_date"]
    recent = orders.loc[dates > dates.max() - pd.Timedelta(days=365)]
    revenue = recent.groupby("customer_id")["amount"].sum()
    tiers = {name: float(f"{revenue.quantile(q):.2g}") for name, q in _TIER_QUANTILES.items()}
    how = "fitted so that about the top 20% of the last\n# year's buyers reach silver and the top 5% gold"
    if len(revenue) < _MIN_TIER_BUYERS or not 0 < tiers["silver"] < tiers["gold"]:
        tiers = _FALLBACK_TIERS
        how = "too few buyers to fit\n# them, so the documentation's example"
    scheme = ", ".join(f"{name} = {value:g}" for name, value in tiers.items())
    return (
        "# Written with the sample data (loyalty sample / write_sample): loyalty tiers on net\n"
        f"# revenue over the trailing 365 days, {how}. Every other option keeps its default.\n"
        "[metrics]\n"
        f"tier_thresholds = {{ {scheme} }}\n"
    )
