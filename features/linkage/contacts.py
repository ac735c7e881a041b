"""How many different people a phone number or e-mail address belongs to.

A phone number on two records is strong evidence that they are one person
only if few people give that number. A hostel's or a supported-housing
scheme's landline, a family's home phone, a council switchboard or a
support worker's mobile is given by many residents; a match on it says
little. Splink's answer is term-frequency adjustment: the weight of an exact
match on a value falls with how common the value is. Splink counts records,
but one resident known to seven services holds their own mobile on seven
records, which would make a personal number look as common as a shared
one. So frequencies here are counted over *holders*: the distinct pairs of
initials (of the first name, through the nickname table, and of the
surname) on the records that hold the value. Initials survive the typos and
variants that split one person's full name ("Owen" and "Owne", "Bob" and
"Robert", "N Jones" and "Nicola Jones"), while different people mostly
differ in one of them: a personal mobile has one holder, a hostel line
about as many as the residents who gave it. (Counting distinct names
instead made a one-letter typo in a surname halve the weight of that
person's own number.)

How the count becomes a weight: a number that ``h`` different people give
is ``h`` times as likely to be shared by two different people as one
person's own number, so its exact match counts ``log2(h)`` less than the
trained weight of an exact match (:func:`contact_frequencies` scales the
holders by the trained u probability of "exact match, names agree"). One
holder keeps the weight the model learned; thirty lose about five bits.
Splink's own scheme (the value's share of all values) would also lower the
weight of every *personal* number, by one to two bits here, and lose true
links that rest on one.

A value with at least ``generic_contact_min_holders`` holders is *generic*.
Generic values are counted in the night's linkage summary (how many values
and how many records hold one - never the values themselves, which are
personal data) so the data team can see them; their matches are weak
through the frequencies above and they play no other part.

Counted in polars, so both engines get the same tables.
"""

from __future__ import annotations

from typing import Any

import polars as pl

#: Label of the exact-match level whose trained u is a personal value's chance agreement.
EXACT_NAMES_AGREE = "exact match, names agree"

#: Prepared columns whose exact matches are weighted by holders, and the
#: name each has in the night's stats.
CONTACT_COLUMNS: dict[str, str] = {"phone_std": "phone", "email_std": "email"}

_HOLDER = pl.col("first_name_canon").str.slice(0, 1) + pl.col("last_initial")


def contact_holders(prepared: pl.DataFrame, column: str) -> pl.DataFrame:
    """``column`` value and ``holders``: distinct pairs of initials among the records that hold it.

    A record without both a first name (or initial) and a surname is not
    counted, but every value has at least one holder.
    """
    return (
        prepared.lazy()
        .filter(pl.col(column).is_not_null())
        .group_by(column)
        .agg(_HOLDER.drop_nulls().n_unique().clip(lower_bound=1).alias("holders"))
        .sort(column)
        .collect()
    )


def contact_frequencies(prepared: pl.DataFrame, column: str, exact_u: float | None) -> pl.DataFrame:
    """Splink's term-frequency table for ``column``: ``holders x exact_u`` per value.

    ``exact_u`` is the trained u probability of the comparison's "exact
    match, names agree" level (see the module docstring). Without one (the
    level was never seen when u was sampled, e.g. a night with no phone
    numbers), each value's share of all holders is used, as Splink would.
    """
    holders = contact_holders(prepared, column)
    if exact_u is None or not 0 < exact_u < 1:
        exact_u = 1.0 / (float(holders["holders"].sum()) or 1.0)
    return holders.select(column, (pl.col("holders") * exact_u).clip(upper_bound=1.0).alias(f"tf_{column}"))


def trained_exact_u(model: dict[str, Any], comparison: str) -> float | None:
    """u probability of ``comparison``'s "exact match, names agree" level in a model JSON, if trained."""
    for c in model.get("comparisons", []):
        if c.get("output_column_name") != comparison:
            continue
        for level in c.get("comparison_levels", []):
            if level.get("label_for_charts") == EXACT_NAMES_AGREE:
                u = level.get("u_probability")
                return float(u) if isinstance(u, (int, float)) and u > 0 else None
    return None


def generic_contact_stats(prepared: pl.DataFrame, min_holders: int) -> dict[str, int]:
    """Counts of generic phone numbers and e-mails (values held by ``min_holders``+ names).

    Returns ``generic_phone_values``, ``records_with_generic_phone`` and the
    same for e-mail. Counts only: a value is personal data and is never
    logged or written.
    """
    stats: dict[str, int] = {}
    for column, name in CONTACT_COLUMNS.items():
        generic = contact_holders(prepared, column).filter(pl.col("holders") >= min_holders)
        stats[f"generic_{name}_values"] = generic.height
        stats[f"records_with_generic_{name}"] = int(
            prepared.select(pl.col(column).is_in(generic[column].implode()).sum()).item()
        )
    return stats
