"""Which of a person's records their name and address are taken from.

A person's records disagree: a council tax account holds "12 High Street,
KM1 1AA" and the UPRN, a contact-centre call taken last week holds
"flat 6 39 pine dr" with no postcode and the name typed "Joyce Joohn". The
latest record is not the best one: taking it sent people with a full,
gazetteer-matched address on three systems to the "No known address" list.
So the record is chosen by how much it can be trusted, and only then by
how recent it is:

- **address**: the best placed address first (:data:`ADDRESS_QUALITY`: a
  gazetteer UPRN, then a line with a postcode the gazetteer knows, then a
  line placed by its street and number, then a line the gazetteer cannot
  place, then a postcode alone); among those, the most reliable source;
  then the most recently active record;
- **name**: the most reliable source; then the most complete name (both
  names, a first name that is more than an initial); then the record holding
  most identity details (date of birth, NI and NHS numbers, address,
  postcode, UPRN); then the most recently active record.

Remaining ties go to the record that sorts first by source and id, so the
choice never depends on row order. A source's *reliability* is
configuration (``sources.yaml``, ``reliability``): systems that check who
someone is and bill, pay or serve them at their address (council tax,
housing rent, benefits, adult social care) over casework systems that check
identity but hold a family's or an old address (children's services,
homelessness) over what a caller or reporter says (contact centre,
anti-social behaviour). A source the configuration does not rank counts as
the least reliable.

A record's *recency* is its latest event on or before the night; a system
does not say when it last updated an address, so that is what "updated"
can honestly mean.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

import polars as pl

from early_warning.config import Config, load_config

#: How well a record's address is placed on the gazetteer (higher is better),
#: with the word the case file uses for it. See :mod:`features.graph.gazetteer_match`.
ADDRESS_QUALITY: dict[int, str] = {
    4: "gazetteer",  # a UPRN the gazetteer has: held, or found from postcode and numbers
    3: "postcode",  # an address line with a postcode the gazetteer knows
    2: "street",  # no postcode; placed on one gazetteer entry by its street and numbers
    1: "as_held",  # an address line (or UPRN) the gazetteer cannot place
    0: "postcode_only",  # a postcode and nothing else: not an address to visit
}
#: The lowest quality that places a person in a locality: below it, "No known address".
PLACED_QUALITY = 2

#: Identity details whose presence makes a record more complete (after the name itself).
IDENTITY_DETAILS: tuple[str, ...] = ("dob", "ni_number", "nhs_number", "address", "postcode", "uprn")

_TIE_BREAK = ["source", "source_person_id"]


@cache
def _default_reliability() -> dict[str, int]:
    return {name: source.reliability for name, source in load_config().sources.items()}


def source_reliability(config: Config | None = None) -> dict[str, int]:
    """Each source's reliability rank from the configuration (the default one when None)."""
    if config is None:
        return dict(_default_reliability())
    return {name: source.reliability for name, source in config.sources.items()}


def reliability_expr(reliability: Mapping[str, int] | None) -> pl.Expr:
    """The ``source`` column's reliability rank (0 for a source not ranked)."""
    ranks = source_reliability() if reliability is None else dict(reliability)
    return pl.col("source").replace_strict(ranks, default=0, return_dtype=pl.Int64)


def _first_per_person(frame: pl.DataFrame, order: list[str], descending: list[bool]) -> pl.DataFrame:
    return (
        frame.sort(
            ["person_id", *order, *_TIE_BREAK], descending=[False, *descending, False, False], nulls_last=True
        )
        .group_by("person_id", maintain_order=True)
        .first()
    )


def best_address(records: pl.DataFrame, reliability: Mapping[str, int] | None = None) -> pl.DataFrame:
    """One row per person with an address: the record it is taken from (all its columns).

    ``records`` needs ``person_id``, ``source``, ``source_person_id``,
    ``address_key``, ``address_quality`` and ``last_event`` (null: no event).
    """
    held = records.filter(pl.col("address_key").is_not_null())
    return _first_per_person(
        held.with_columns(reliability_expr(reliability).alias("_reliability")),
        ["address_quality", "_reliability", "last_event"],
        [True, True, True],
    ).drop("_reliability")


def _present(column: str) -> pl.Expr:
    text = pl.col(column).cast(pl.String).str.strip_chars()
    return (text.str.len_chars() > 0).fill_null(False)


def name_completeness() -> pl.Expr:
    """0-3: a last name, a first name, and a first name that is more than an initial."""
    first = pl.col("first_name").str.replace_all(r"[^\p{L}]", "")
    last = pl.col("last_name").str.replace_all(r"[^\p{L}]", "")
    return (
        (last.str.len_chars() > 0).fill_null(False).cast(pl.Int64)
        + (first.str.len_chars() > 0).fill_null(False).cast(pl.Int64)
        + (first.str.len_chars() > 1).fill_null(False).cast(pl.Int64)
    )


def best_name(records: pl.DataFrame, reliability: Mapping[str, int] | None = None) -> pl.DataFrame:
    """One row per person with a name: the record it is taken from (all its columns).

    ``records`` needs ``person_id``, ``source``, ``source_person_id``,
    ``first_name``, ``last_name``, ``last_event`` and the
    :data:`IDENTITY_DETAILS` columns (as the source held them).
    """
    details = pl.sum_horizontal(_present(column).cast(pl.Int64) for column in IDENTITY_DETAILS)
    named = records.with_columns(
        reliability_expr(reliability).alias("_reliability"),
        name_completeness().alias("_name_parts"),
        details.alias("_details"),
    ).filter(pl.col("_name_parts") > 0)
    return _first_per_person(
        named, ["_reliability", "_name_parts", "_details", "last_event"], [True, True, True, True]
    ).drop("_reliability", "_name_parts", "_details")
