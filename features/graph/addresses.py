"""Where each person lives, as far as the night's records can tell.

Every source record says where that system thinks the person lives. An
address is keyed by its UPRN when the record holds one, or when its postcode
and address numbers pick out exactly one gazetteer entry; otherwise by its
normalised text ("A:<postcode>|<words>", see ``features.linkage.prep``), so
"12 High St" and "12 High Street" are one address even off the gazetteer.

A record's *recency* is the date of its latest event on or before the night.
A person's *current* address is the one on their most recently active record
that holds an address line (ties: the record that sorts first by source and
id); a record with only a postcode (a contact-centre caller, say) is used only
when no record holds more, so a phone call does not move someone out of their
locality. Their locality is
the gazetteer locality of that address, or "unknown". What this can infer
about moves is limited: systems update addresses at different speeds, so
"two addresses on records active in the last year" means "two addresses in
use by council systems this year", which is a move, a stale record, or a
second home - never proof of a move.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from features.linkage.prep import address_numbers_expr, address_tokens_expr, postcode_expr

UNKNOWN_LOCALITY = "unknown"


def _normalised(frame: pl.DataFrame) -> pl.LazyFrame:
    tokens = address_tokens_expr("address")
    return frame.lazy().with_columns(
        postcode_expr("postcode").alias("_postcode"),
        tokens.alias("_tokens"),
        address_numbers_expr(tokens).alias("_numbers"),
    )


def gazetteer_lookup(gazetteer: pl.DataFrame) -> pl.DataFrame:
    """Gazetteer entries keyed by postcode and address numbers, where that key is unique."""
    return (
        _normalised(gazetteer)
        .filter(pl.col("_postcode").is_not_null())
        .group_by("_postcode", "_numbers")
        .agg(pl.col("uprn").str.strip_chars().str.strip_chars_start("0").first(), pl.len().alias("_n"))
        .filter(pl.col("_n") == 1)
        .select("_postcode", "_numbers", pl.col("uprn").alias("_gazetteer_uprn"))
        .collect()
    )


def record_addresses(people: pl.DataFrame, gazetteer: pl.DataFrame) -> pl.DataFrame:
    """``source``, ``source_person_id``, ``address_key`` (null when the record has no address)."""
    uprn = pl.col("uprn").str.replace_all(r"[^0-9]", "").str.strip_chars_start("0")
    text_key = pl.concat_str(
        [pl.lit("A:"), pl.col("_postcode").fill_null(""), pl.lit("|"), pl.col("_tokens").list.join(" ")]
    )
    return (
        _normalised(people)
        .join(gazetteer_lookup(gazetteer).lazy(), on=["_postcode", "_numbers"], how="left", nulls_equal=True)
        .select(
            "source",
            "source_person_id",
            pl.when(uprn.str.len_chars() > 0)
            .then(pl.lit("U:") + uprn)
            .when(pl.col("_gazetteer_uprn").is_not_null())
            .then(pl.lit("U:") + pl.col("_gazetteer_uprn"))
            .when(pl.col("_tokens").is_not_null())
            .then(text_key)
            .when(pl.col("_postcode").is_not_null())
            .then(pl.lit("A:") + pl.col("_postcode") + pl.lit("|"))
            .alias("address_key"),
        )
        .collect()
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
) -> pl.DataFrame:
    """One row per (person, address held): ``person_id``, ``address_key``,
    ``recent`` (held on a record active in the window), ``current`` (the
    person's current address), ``locality`` (of the address)."""
    since = as_of - timedelta(days=window_days)
    localities = gazetteer.select(
        (pl.lit("U:") + pl.col("uprn").str.strip_chars().str.strip_chars_start("0")).alias("address_key"),
        "locality",
    ).unique("address_key", keep="first")
    records = (
        persons.join(record_addresses(people, gazetteer), on=["source", "source_person_id"])
        .join(record_recency(events, as_of), on=["source", "source_person_id"], how="left")
        .filter(pl.col("address_key").is_not_null())
        .with_columns(
            _postcode_only=pl.col("address_key").str.starts_with("A:")
            & pl.col("address_key").str.ends_with("|")
        )
        .sort(
            ["person_id", "_postcode_only", "last_event", "source", "source_person_id"],
            descending=[False, False, True, False, False],
            nulls_last=True,
        )
    )
    current = records.group_by("person_id", maintain_order=True).first().select("person_id", "address_key")
    return (
        records.group_by("person_id", "address_key")
        .agg((pl.col("last_event") > since).any().fill_null(False).alias("recent"))
        .join(current.with_columns(current=pl.lit(True)), on=["person_id", "address_key"], how="left")
        .with_columns(pl.col("current").fill_null(False))
        .join(localities, on="address_key", how="left")
        .with_columns(pl.col("locality").fill_null(UNKNOWN_LOCALITY))
        .sort("person_id", "address_key")
    )
