"""Failure demand: contact-centre contacts that repeat a recent contact on the same topic.

A contact is a repeat when the same person contacted the contact centre
about the same topic ``REPEAT_CONTACT_DAYS`` days or fewer before it (a
same-day second contact is a repeat). The earlier contact may fall before
the counting window; the repeat itself must be inside it. Contacts with no
topic recorded are never repeats.
"""

from __future__ import annotations

import polars as pl

from features.person_features import catalogue as cat
from features.person_features._events import AGE, within

COUNT = pl.Int32


def repeat_contacts(events: pl.LazyFrame) -> pl.LazyFrame:
    """One row per person with a recent contact-centre contact: repeat counts per window."""
    lookback = max(cat.REPEAT_WINDOWS) + cat.REPEAT_CONTACT_DAYS
    keys = ["person_id", "topic"]
    same_thread = pl.all_horizontal([pl.col(k) == pl.col(k).shift(1) for k in keys])
    gap = pl.col("event_date").cast(pl.Int32) - pl.col("event_date").cast(pl.Int32).shift(1)
    is_repeat = (same_thread & (gap <= cat.REPEAT_CONTACT_DAYS)).fill_null(False)
    return (
        events.filter(
            (pl.col("source") == cat.CONTACT_SOURCE) & pl.col("topic").is_not_null() & within(lookback)
        )
        .select("person_id", "topic", "event_date", AGE)
        .sort([*keys, "event_date"])
        .with_columns(is_repeat.alias("_repeat"))
        .group_by("person_id")
        .agg(
            [
                (pl.col("_repeat") & within(w)).sum().cast(COUNT).alias(cat.repeat_contacts(w))
                for w in cat.REPEAT_WINDOWS
            ]
        )
    )
