"""Where each person lives, as far as the night's records can tell.

Every source record says where that system thinks the person lives. An
address is keyed by the gazetteer UPRN the record is placed on (held, or
found from its postcode and numbers, or from its street and numbers when it
holds no postcode: :mod:`features.graph.gazetteer_match`), else by a UPRN it
holds that the gazetteer lacks, else by its normalised text
("A:<postcode>|<words>", see ``features.linkage.prep``), so "12 High St" and
"12 High Street" are one address even off the gazetteer. Each record's
address also has a *quality* (:data:`features.graph.best_record.ADDRESS_QUALITY`)
and a locality: the gazetteer entry's, or, for a line with a postcode the
gazetteer knows, the postcode's.

A record's *recency* is the date of its latest event on or before the night.
A person's *current* address is the one on their most reliable record, not
their latest (:func:`features.graph.best_record.best_address`): the best
placed address, then the most reliable source, then the most recently
active record. Their locality is that address's, or "unknown" - which
happens only when no record of theirs places them (a postcode alone, a
street without a number, a line the gazetteer cannot place).

What this can infer about moves is limited: systems update addresses at
different speeds, so "two addresses on records active in the last year"
means "two addresses in use by council systems this year", which is a move,
a stale record, or a second home - never proof of a move.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

import polars as pl

from features.graph.best_record import PLACED_QUALITY, best_address
from features.graph.gazetteer_match import place_records

UNKNOWN_LOCALITY = "unknown"


def record_addresses(
    people: pl.DataFrame, gazetteer: pl.DataFrame, *, entries: pl.DataFrame | None = None
) -> pl.DataFrame:
    """``source``, ``source_person_id``, ``address_key`` (null when the record has no address),
    ``address_quality`` (null likewise) and ``locality`` (null unless the record is placed).

    ``entries``: :func:`features.graph.gazetteer_match.gazetteer_entries` of the gazetteer,
    for a caller placing several frames on the same one."""
    placed = place_records(people, gazetteer, entries=entries)
    on_gazetteer = pl.when(pl.col("_held_on_gazetteer")).then(pl.col("_held_uprn"))
    uprn = pl.coalesce(on_gazetteer, "_postcode_uprn", "_street_uprn", "_held_uprn")
    text_key = pl.concat_str(
        [pl.lit("A:"), pl.col("_postcode").fill_null(""), pl.lit("|"), pl.col("_tokens").list.join(" ")]
    )
    quality = (
        pl.when(pl.col("_held_on_gazetteer") | pl.col("_postcode_uprn").is_not_null())
        .then(4)
        .when(pl.col("_postcode_locality").is_not_null())
        .then(3)
        .when(pl.col("_street_uprn").is_not_null())
        .then(2)
        .when(pl.col("_tokens").is_not_null() | pl.col("_held_uprn").is_not_null())
        .then(1)
        .when(pl.col("_postcode").is_not_null())
        .then(0)
    )
    return placed.select(
        "source",
        "source_person_id",
        pl.when(uprn.is_not_null())
        .then(pl.lit("U:") + uprn)
        .when(pl.col("_tokens").is_not_null())
        .then(text_key)
        .when(pl.col("_postcode").is_not_null())
        .then(pl.lit("A:") + pl.col("_postcode") + pl.lit("|"))
        .alias("address_key"),
        quality.cast(pl.Int8).alias("address_quality"),
        pl.when(quality >= 3)
        .then(pl.coalesce("_uprn_locality", "_postcode_locality"))
        .when(quality == 2)
        .then(pl.col("_uprn_locality"))
        .alias("locality"),
    )


def record_recency(events: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """``source``, ``source_person_id``, ``last_event`` (latest event on or before the night)."""
    return (
        events.lazy()
        .filter(pl.col("event_date") <= as_of)
        .group_by("source", "source_person_id")
        .agg(pl.col("event_date").max().alias("last_event"))
        .collect()
    )


def person_addresses(
    persons: pl.DataFrame,
    people: pl.DataFrame,
    events: pl.DataFrame,
    gazetteer: pl.DataFrame,
    as_of: date,
    window_days: int,
    *,
    reliability: Mapping[str, int] | None = None,
) -> pl.DataFrame:
    """One row per (person, address held): ``person_id``, ``address_key``,
    ``recent`` (held on a record active in the window), ``current`` (the
    person's current address), ``locality`` (of the address, or "unknown").

    ``reliability``: each source's rank (``sources.yaml``; the default
    configuration's when None)."""
    since = as_of - timedelta(days=window_days)
    records = (
        persons.join(record_addresses(people, gazetteer), on=["source", "source_person_id"])
        .join(record_recency(events, as_of), on=["source", "source_person_id"], how="left")
        .filter(pl.col("address_key").is_not_null())
    )
    current = best_address(records, reliability).select("person_id", "address_key")
    return (
        records.group_by("person_id", "address_key")
        .agg(
            (pl.col("last_event") > since).any().fill_null(False).alias("recent"),
            pl.col("locality")
            .filter(pl.col("address_quality") >= PLACED_QUALITY)
            .drop_nulls()
            .min()
            .fill_null(UNKNOWN_LOCALITY)
            .alias("locality"),
        )
        .join(current.with_columns(current=pl.lit(True)), on=["person_id", "address_key"], how="left")
        .with_columns(pl.col("current").fill_null(False))
        .select("person_id", "address_key", "recent", "current", "locality")
        .sort("person_id", "address_key")
    )
