"""Who each person is for capacity and the fairness audit - never model inputs.

* ``locality``: the gazetteer locality of the person's current address, read
  the same way as the nightly graph stage (``features.graph.addresses``: the
  address on their most recently active record), or "unknown".
* ``sex``, ``ethnicity``: from the equality-monitoring fields of the
  council's own people records, where any record holds them (never from
  the synthetic borough's truth); "unknown" otherwise. Ethnicity is reduced
  to its broad group (the text before ":" in the ONS categories).
* ``dob``: the most common date of birth across the person's records, for
  the age band at each snapshot.

None of these columns is ever passed to a model (``models.pipelines``
selects feature columns by name).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import polars as pl

from features.graph.addresses import UNKNOWN_LOCALITY, person_addresses

UNKNOWN = "unknown"
#: Age bands (lower bound inclusive) for the fairness audit.
AGE_BANDS: tuple[tuple[int, str], ...] = (
    (65, "65+"),
    (50, "50-64"),
    (35, "35-49"),
    (25, "25-34"),
    (0, "16-24"),
)


def _sex_expr() -> pl.Expr:
    first = pl.col("sex").str.strip_chars().str.to_lowercase().str.slice(0, 1)
    return (
        pl.when(first == "m").then(pl.lit("male")).when(first == "f").then(pl.lit("female")).otherwise(None)
    )


def _ethnicity_expr() -> pl.Expr:
    broad = pl.col("ethnicity").str.split(":").list.first().str.strip_chars()
    return pl.when(broad.str.len_chars() > 0).then(broad).otherwise(None)


def _most_common(column: str) -> pl.Expr:
    return pl.col(column).drop_nulls().mode().sort().first()


def person_attributes(
    persons: pl.DataFrame,
    people: pl.DataFrame,
    events: pl.DataFrame,
    gazetteer: pl.DataFrame,
    as_of: date,
    reliability: Mapping[str, int] | None = None,
) -> pl.DataFrame:
    """``person_id, locality, sex, ethnicity, dob`` for every person (one row each).

    ``reliability`` ranks sources for choosing a person's address (the council's
    ``sources.yaml``; None: the defaults), as the night does.
    """
    addresses = person_addresses(persons, people, events, gazetteer, as_of, 365, reliability=reliability)
    locality = addresses.filter(pl.col("current")).select("person_id", "locality").unique("person_id")
    equality = (
        persons.join(
            people.select(
                "source",
                "source_person_id",
                _sex_expr().alias("sex"),
                _ethnicity_expr().alias("ethnicity"),
                "dob",
            ),
            on=["source", "source_person_id"],
            how="left",
        )
        .group_by("person_id")
        .agg(_most_common("sex"), _most_common("ethnicity"), _most_common("dob"))
    )
    return (
        persons.select("person_id")
        .unique()
        .join(locality, on="person_id", how="left")
        .join(equality, on="person_id", how="left")
        .with_columns(
            pl.col("locality").fill_null(UNKNOWN_LOCALITY),
            pl.col("sex").fill_null(UNKNOWN),
            pl.col("ethnicity").fill_null(UNKNOWN),
        )
        .sort("person_id")
    )


def age_band_expr(dob: str = "dob", on: str = "snapshot") -> pl.Expr:
    """Age band on the date in column ``on``; "unknown" without a date of birth."""
    years = (pl.col(on).dt.year() - pl.col(dob).dt.year()) - (
        (pl.col(on).dt.month() * 100 + pl.col(on).dt.day())
        < (pl.col(dob).dt.month() * 100 + pl.col(dob).dt.day())
    ).cast(pl.Int32)
    expr: Any = pl.when(pl.col(dob).is_null()).then(pl.lit(UNKNOWN))
    for lower, name in AGE_BANDS:
        expr = expr.when(years >= lower).then(pl.lit(name))
    out: pl.Expr = expr.otherwise(pl.lit(UNKNOWN))
    return out
