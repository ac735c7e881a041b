"""Point-in-time event frame shared by every feature family.

Every feature reads events through :func:`events_as_of`, which is the single
place that drops events after the night and attaches the resolved person.
Dates become whole days before the night (``age_days``: 0 on the night
itself), so every window is the same cheap integer comparison
``age_days <= window`` (inclusive at both ends).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from features.person_features import catalogue as cat

AGE = "age_days"

#: Columns of the events frame that feature code reads.
EVENT_COLUMNS: tuple[str, ...] = (
    "source",
    "source_person_id",
    "event_date",
    "event_type",
    "role",
    "amount",
    "topic",
    "channel",
    "row_number",
)


def day_number(d: date) -> int:
    """Days since 1970-01-01, the integer polars stores a ``Date`` as."""
    return (d - date(1970, 1, 1)).days


def events_as_of(events: pl.LazyFrame, persons: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """Events on or before ``as_of`` with their ``person_id`` and ``age_days``.

    Events whose source record is not in ``persons`` are dropped (linkage
    resolves every accepted record, so none should be). Nothing dated after
    ``as_of`` can reach a feature.
    """
    night = day_number(as_of)
    # Exact duplicate rows would double-count events; a record resolved to two
    # different persons is a linkage fault and is not hidden here.
    links = persons.select("source", "source_person_id", "person_id").unique()
    return (
        events.select(EVENT_COLUMNS)
        .filter(pl.col("event_date") <= pl.lit(as_of, dtype=pl.Date))
        .join(links, on=["source", "source_person_id"], how="inner")
        .with_columns((pl.lit(night, dtype=pl.Int32) - pl.col("event_date").cast(pl.Int32)).alias(AGE))
        .drop("source_person_id")
    )


def within(days: int) -> pl.Expr:
    """True for events at most ``days`` days before the night (inclusive)."""
    return pl.col(AGE) <= days


def person_ids(persons: pl.LazyFrame) -> pl.LazyFrame:
    """One row per person with how many records and systems hold them."""
    return persons.group_by("person_id").agg(
        pl.struct("source", "source_person_id").n_unique().cast(pl.Int32).alias(cat.SOURCE_RECORDS),
        pl.col("source").n_unique().cast(pl.Int32).alias(cat.SOURCE_SYSTEMS),
    )
