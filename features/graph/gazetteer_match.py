"""Placing a record's address on the council's gazetteer (its LLPG).

Systems write the same address differently ("Flat 6, 39 Pine Drive",
"39 PINE DR FLAT 6", "6/39 Pine Dr"), and some hold a UPRN, some a postcode,
some neither. A record is placed on the gazetteer, most certain first:

1. by the UPRN it holds, when the gazetteer has it;
2. by its postcode and the numbers in its address line, when exactly one
   gazetteer entry has them (an entry without numbers - "Rose Cottage" - also
   needs every word of the line to be in the entry, so a bare street name
   does not pick the one unnumbered house in the postcode);
3. when it holds no postcode at all: by the numbers and words of its address
   line, when exactly one gazetteer entry has those numbers and every word
   (and at least one word that names the street, not just "road" or "flat").
   A line that holds a postcode the gazetteer does not know is not placed
   this way: it may be a street of the same name outside the borough.

A record that is not placed but holds an address line and a postcode the
gazetteer knows is still in a known locality: the one most of that
postcode's entries are in. A postcode alone, or a line the gazetteer cannot
place, is not placed anywhere. Every step is a join over whole frames.
"""

from __future__ import annotations

import polars as pl

from features.linkage.prep import (
    ADDRESS_ABBREVIATIONS,
    address_numbers_expr,
    address_tokens_expr,
    postcode_expr,
)

#: Words that say what kind of place an address is, not which one: a line made of
#: these and numbers alone ("flat 3 12 road") is not placed by its street.
GENERIC_ADDRESS_WORDS: tuple[str, ...] = tuple(sorted(set(ADDRESS_ABBREVIATIONS.values())))

_RECORD = ["source", "source_person_id"]


def uprn_key(uprn: pl.Expr) -> pl.Expr:
    """A UPRN as a key: its digits without leading zeros, or null."""
    digits = uprn.str.replace_all(r"[^0-9]", "").str.strip_chars_start("0")
    return pl.when(digits.str.len_chars() > 0).then(digits)


def _words(tokens: pl.Expr) -> pl.Expr:
    """An address's tokens that are not numbers."""
    return tokens.list.eval(pl.element().filter(~pl.element().str.contains(r"^[0-9]")))


def normalised(frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """Add ``_postcode``, ``_tokens``, ``_numbers`` and ``_words`` (``features.linkage.prep``'s forms)."""
    tokens = address_tokens_expr("address")
    return (
        frame.lazy()
        .with_columns(postcode_expr("postcode").alias("_postcode"), tokens.alias("_tokens"))
        .with_columns(
            address_numbers_expr(pl.col("_tokens")).alias("_numbers"),
            _words(pl.col("_tokens")).fill_null(pl.lit([], dtype=pl.List(pl.String))).alias("_words"),
        )
    )


def gazetteer_entries(gazetteer: pl.DataFrame) -> pl.DataFrame:
    """``_uprn``, ``_postcode``, ``_numbers``, ``_words``, ``locality``: one row per gazetteer entry."""
    return (
        normalised(gazetteer)
        .select(uprn_key(pl.col("uprn")).alias("_uprn"), "_postcode", "_numbers", "_words", "locality")
        .filter(pl.col("_uprn").is_not_null())
        .unique("_uprn", keep="first", maintain_order=True)
        .collect()
    )


def postcode_localities(entries: pl.DataFrame) -> pl.DataFrame:
    """``_postcode``, ``_postcode_locality``: the locality most of the postcode's entries are in
    (ties: the first by name)."""
    return (
        entries.filter(pl.col("_postcode").is_not_null() & pl.col("locality").is_not_null())
        .group_by("_postcode", "locality")
        .len()
        .sort(["_postcode", "len", "locality"], descending=[False, True, False])
        .group_by("_postcode", maintain_order=True)
        .first()
        .select("_postcode", pl.col("locality").alias("_postcode_locality"))
    )


def _subset(words: str, of: str) -> pl.Expr:
    return pl.col(words).list.set_difference(pl.col(of)).list.len() == 0


def _unique_match(candidates: pl.LazyFrame, alias: str) -> pl.LazyFrame:
    """Each record's gazetteer UPRN, where exactly one entry is a candidate."""
    return (
        candidates.group_by(_RECORD)
        .agg(pl.col("_uprn").unique().alias("_found"))
        .filter(pl.col("_found").list.len() == 1)
        .select(*_RECORD, pl.col("_found").list.first().alias(alias))
    )


def _by_postcode(records: pl.LazyFrame, entries: pl.DataFrame) -> pl.LazyFrame:
    unique_keys = (
        entries.lazy()
        .filter(pl.col("_postcode").is_not_null())
        .group_by("_postcode", "_numbers")
        .agg(pl.col("_uprn"), pl.col("_words"))
        .filter(pl.col("_uprn").list.len() == 1)
        .select(
            "_postcode", "_numbers", pl.col("_uprn").list.first(), pl.col("_words").list.first().alias("_gw")
        )
    )
    candidates = (
        records.filter(pl.col("_postcode").is_not_null() & pl.col("_tokens").is_not_null())
        .join(unique_keys, on=["_postcode", "_numbers"], nulls_equal=True)
        .filter(pl.col("_numbers").is_not_null() | _subset("_words", "_gw"))
    )
    return _unique_match(candidates, "_postcode_uprn")


def _by_street(records: pl.LazyFrame, entries: pl.DataFrame) -> pl.LazyFrame:
    """Records without a postcode, by numbers and every word, through their rarest word."""
    entry_words = entries.lazy().select("_uprn", "_numbers", pl.col("_words").alias("_w")).explode("_w")
    frequency = entry_words.group_by("_w").agg(pl.len().alias("_n"))
    asking = records.filter(
        pl.col("_postcode").is_null()
        & pl.col("_numbers").is_not_null()
        & (pl.col("_words").list.set_difference(pl.lit(list(GENERIC_ADDRESS_WORDS))).list.len() > 0)
    )
    rarest = (
        asking.select(*_RECORD, "_numbers", pl.col("_words").alias("_w"))
        .explode("_w")
        .join(frequency, on="_w", how="left")
        .group_by(*_RECORD, "_numbers")
        .agg(
            pl.col("_n").is_null().any().alias("_unknown_word"),
            pl.col("_w").sort_by(["_n", "_w"]).first(),
        )
        .filter(~pl.col("_unknown_word"))
    )
    candidates = (
        rarest.join(entry_words, on=["_numbers", "_w"])
        .join(entries.lazy().select("_uprn", pl.col("_words").alias("_gw")), on="_uprn")
        .join(asking.select(*_RECORD, "_words"), on=_RECORD)
        .filter(_subset("_words", "_gw"))
    )
    return _unique_match(candidates, "_street_uprn")


def place_records(
    people: pl.DataFrame, gazetteer: pl.DataFrame, *, entries: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Each record and where the gazetteer places it (``entries``: :func:`gazetteer_entries`
    of ``gazetteer``, when the caller already has them).

    Returns ``source``, ``source_person_id``, ``_postcode``, ``_tokens`` (as
    :func:`normalised`), ``_held_uprn`` (the UPRN the record holds),
    ``_held_on_gazetteer`` (whether the gazetteer has it), ``_postcode_uprn``
    (step 2), ``_street_uprn`` (step 3), ``_postcode_locality`` (of its
    postcode, when it holds an address line too) and ``_uprn_locality`` (of
    the gazetteer entry it is placed on by any step).
    """
    entries = gazetteer_entries(gazetteer) if entries is None else entries
    records = normalised(people.select(*_RECORD, "address", "postcode", "uprn")).with_columns(
        uprn_key(pl.col("uprn")).alias("_held_uprn")
    )
    localities = entries.lazy().select("_uprn", "locality")
    placed = (
        records.join(_by_postcode(records, entries), on=_RECORD, how="left")
        .join(_by_street(records, entries), on=_RECORD, how="left")
        .join(postcode_localities(entries).lazy(), on="_postcode", how="left")
        .with_columns(
            pl.col("_held_uprn")
            .is_in(entries["_uprn"].implode())
            .fill_null(False)
            .alias("_held_on_gazetteer"),
            pl.when(pl.col("_tokens").is_not_null())
            .then(pl.col("_postcode_locality"))
            .alias("_postcode_locality"),
        )
        .with_columns(
            pl.when(pl.col("_held_on_gazetteer"))
            .then(pl.col("_held_uprn"))
            .otherwise(pl.coalesce("_postcode_uprn", "_street_uprn"))
            .alias("_placed_uprn")
        )
        .join(
            localities.rename({"_uprn": "_placed_uprn", "locality": "_uprn_locality"}),
            on="_placed_uprn",
            how="left",
        )
    )
    return placed.select(
        *_RECORD,
        "_postcode",
        "_tokens",
        "_held_uprn",
        "_held_on_gazetteer",
        "_postcode_uprn",
        "_street_uprn",
        "_postcode_locality",
        "_uprn_locality",
    ).collect()
