"""What changed since the previous night, so a night can redo only that.

Most nights, only a day's events arrive: almost every person's records and
events are what they were last night, and only the night's date has moved.
A feature computed from someone's events then changes in one of three ways
only, and this module finds the people for whom any of them happened:

1. **Their records changed**: a new record, a changed person row, or an
   event added, corrected or removed (compared by *fingerprint*: a hash of
   the record's person row, and one of its events in extract order - the
   row numbers themselves are left out, so a row inserted higher up a file
   does not make everyone below it look changed).
2. **Linkage changed who they are**: the set of records of a person id is
   not what it was (a merge, a split, a new person).
3. **An event crossed a window's edge**: every window is a comparison
   ``age_days <= cut``; moving the night from ``before`` to ``now`` flips it
   exactly for events dated in ``[before - cut, now - cut)``. Each feature
   family declares its cuts (``features.person_features.catalogue.age_cuts``,
   the graph's window); an undeclared cut would be a bug that the
   incremental-equals-fresh tests are there to catch, and the nightly
   stages also recompute a sample of the people they reuse and fall back to
   a full recompute if any differs.

Everything else - "days since" figures - moves by exactly the number of
days between the nights, which the caller adds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

RECORD_KEY = ["source", "source_person_id"]
#: Columns that say where a row sat in its file, not what it says.
_POSITION_COLUMNS = ("row_number",)


def _row_hash(frame: pl.LazyFrame, key: list[str]) -> pl.Expr:
    content = [c for c in frame.collect_schema().names() if c not in (*key, *_POSITION_COLUMNS)]
    return pl.struct(content).hash(seed=0)


def record_fingerprints(people: pl.LazyFrame, events: pl.LazyFrame) -> pl.DataFrame:
    """``source``, ``source_person_id``, ``people_hash``, ``events_hash`` for every record.

    ``events_hash`` is null for a record with no events. The hashes say only
    whether something changed; they are not kept beyond the night's folder.
    """
    people_hashes = people.select(*RECORD_KEY, _row_hash(people, RECORD_KEY).alias("people_hash"))
    event_hashes = (
        events.with_columns(_row_hash(events, RECORD_KEY).alias("_h"))
        .group_by(RECORD_KEY)
        .agg(pl.col("_h").sort_by("row_number", "_h").alias("_hs"))
        .select(*RECORD_KEY, pl.col("_hs").hash(seed=0).alias("events_hash"))
    )
    return people_hashes.join(event_hashes, on=RECORD_KEY, how="left").collect().sort(RECORD_KEY)


def changed_records(now: pl.DataFrame, before: pl.DataFrame) -> pl.DataFrame:
    """Records (``source``, ``source_person_id``) that are new, gone or different between two nights."""
    columns = [*RECORD_KEY, "people_hash", "events_hash"]
    joined = now.select(columns).join(
        before.select(columns), on=RECORD_KEY, how="full", coalesce=True, suffix="_before"
    )
    differs = pl.col("people_hash").ne_missing(pl.col("people_hash_before")) | pl.col(
        "events_hash"
    ).ne_missing(pl.col("events_hash_before"))
    return joined.filter(differs).select(RECORD_KEY)


def regrouped_persons(now: pl.DataFrame, before: pl.DataFrame) -> pl.Series:
    """Person ids (tonight's) whose set of records is not last night's set for that id."""

    def record_sets(persons: pl.DataFrame) -> pl.DataFrame:
        return persons.group_by("person_id").agg(
            pl.concat_str(RECORD_KEY, separator="\x1f").sort().alias("records")
        )

    joined = record_sets(now).join(record_sets(before), on="person_id", how="left", suffix="_before")
    return joined.filter(pl.col("records").ne_missing(pl.col("records_before")))["person_id"]


def crossing_records(events: pl.LazyFrame, cuts: Iterable[int], before: date, now: date) -> pl.DataFrame:
    """Records with an event whose ``age_days <= cut`` answer differs between the two nights."""
    ranges = [(before - timedelta(days=cut), now - timedelta(days=cut)) for cut in sorted(set(cuts))]
    if not ranges or now <= before:
        return pl.DataFrame(schema={"source": pl.String, "source_person_id": pl.String})
    date_col = pl.col("event_date")
    crossing = pl.any_horizontal([date_col.is_between(lo, hi, closed="left") for lo, hi in ranges])
    return events.filter(crossing).select(RECORD_KEY).unique().collect()


def persons_of(records: pl.DataFrame, persons: pl.DataFrame) -> pl.Series:
    """Tonight's person ids holding any of ``records``."""
    return persons.join(records.select(RECORD_KEY).unique(), on=RECORD_KEY, how="semi")["person_id"].unique()


def reassigned_records(now: pl.DataFrame, before: pl.DataFrame) -> pl.DataFrame:
    """Records that belong to a different person id tonight than last night."""
    joined = now.select(*RECORD_KEY, "person_id").join(
        before.select(*RECORD_KEY, "person_id"), on=RECORD_KEY, how="inner", suffix="_before"
    )
    return joined.filter(pl.col("person_id") != pl.col("person_id_before")).select(RECORD_KEY)


@dataclass(frozen=True)
class Changes:
    """Who must be recomputed tonight: tonight's person ids, and last night's ids that held a changed record."""

    now: pl.Series
    before: pl.Series


def night_changes(
    *,
    fingerprints: pl.DataFrame,
    previous_fingerprints: pl.DataFrame,
    persons: pl.DataFrame,
    previous_persons: pl.DataFrame,
    events: pl.LazyFrame,
    cuts: Iterable[int],
    before: date,
    now: date,
) -> Changes:
    """Everyone whose features may differ from last night's, for a feature family with these ``cuts``."""
    records = pl.concat(
        [
            changed_records(fingerprints, previous_fingerprints),
            reassigned_records(persons, previous_persons),
            crossing_records(events, cuts, before, now),
        ]
    ).unique()
    changed_now = pl.concat([persons_of(records, persons), regrouped_persons(persons, previous_persons)])
    return Changes(now=changed_now.unique().sort(), before=persons_of(records, previous_persons).sort())
