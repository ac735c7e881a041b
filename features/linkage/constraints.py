"""People's word on linkage, kept every night: cannot-link and must-link pairs of records.

A caseworker who knows a record joined to a person is not them, or the data
team who know two records are one person, say so in the review app; the
night reads the active statements as pairs of records named by source and
source reference (``CONSTRAINT_SCHEMA``) and passes them to
:func:`features.linkage.pipeline.resolve_persons`. Clustering then keeps each
cannot-link pair in different persons, even when other records would chain
them together, and joins each must-link pair unless that would break a
cannot-link (the cannot-link wins: keeping people apart is the safer error).

A statement naming a record that did not come in tonight is ignored and
counted, not an error: records leave the extracts in the ordinary way.

This module maps the pairs to the night's record ids and writes the lineage's
``why``; :mod:`features.linkage.clustering` applies them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from features.linkage.ids import KEY_SEPARATOR

NOT_SAME_PERSON = "not_same_person"
SAME_PERSON = "same_person"

#: One row per pair of records a statement is about (``review_ui.store.link_constraints`` writes the same).
CONSTRAINT_SCHEMA: dict[str, pl.DataType] = {
    "constraint_id": pl.Int64(),
    "kind": pl.String(),
    "source_a": pl.String(),
    "record_a": pl.String(),
    "source_b": pl.String(),
    "record_b": pl.String(),
}

#: The lineage's ``why`` for a person a cannot-link changed or a must-link joined.
WHY_KEPT_APART = "a reviewer said these records are not the same person"
WHY_JOINED = "a reviewer said these records are the same person"


_STATS = ("constraints_cannot_link_pairs", "constraints_must_link_pairs", "constraints_ignored")


@dataclass(frozen=True)
class RecordConstraints:
    """Tonight's constraints as pairs of record ids (``unique_id``, smaller first).

    ``ignored`` counts pairs naming a record that is not in tonight's records.
    """

    cannot_link: tuple[tuple[int, int], ...] = ()
    must_link: tuple[tuple[int, int], ...] = ()
    #: (marked record, other record) of each "not this person" pair, in the order said.
    detach: tuple[tuple[int, int], ...] = ()
    ignored: int = 0
    stats: dict[str, int] = field(default_factory=dict)


def _checked(constraints: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in CONSTRAINT_SCHEMA if c not in constraints.columns]
    if missing:
        raise ValueError(f"constraints are missing column(s): {', '.join(missing)}")
    unknown = set(constraints["kind"].unique().to_list()) - {NOT_SAME_PERSON, SAME_PERSON}
    if unknown:
        raise ValueError(f"constraints: kind must be {NOT_SAME_PERSON} or {SAME_PERSON}")
    return constraints.select(list(CONSTRAINT_SCHEMA)).cast(CONSTRAINT_SCHEMA)  # type: ignore[arg-type]


def _pairs(found: pl.DataFrame, kind: str) -> tuple[tuple[int, int], ...]:
    rows = found.filter(pl.col("kind") == kind).select(
        pl.min_horizontal("a", "b").alias("a"), pl.max_horizontal("a", "b").alias("b")
    )
    return tuple(sorted({(int(a), int(b)) for a, b in rows.iter_rows() if a != b}))


def constraints_on_records(constraints: pl.DataFrame | None, records: pl.DataFrame) -> RecordConstraints:
    """Map constraint pairs to tonight's record ids, dropping (and counting) pairs naming absent records.

    Args:
        constraints: ``CONSTRAINT_SCHEMA`` rows, or None for none.
        records: ``unique_id``, ``source``, ``source_person_id`` (the prepared people).

    Example:
        >>> records = pl.DataFrame({"unique_id": [0, 1], "source": ["ctax", "hb"], "source_person_id": ["1", "9"]})
        >>> rows = pl.DataFrame([(1, "same_person", "ctax", "1", "hb", "9")], schema=CONSTRAINT_SCHEMA, orient="row")
        >>> constraints_on_records(rows, records).must_link
        ((0, 1),)
    """
    if constraints is None or constraints.is_empty():
        return RecordConstraints(stats=dict.fromkeys(_STATS, 0))
    rows = _checked(constraints)
    ids = records.select("unique_id", "source", "source_person_id")
    found = (
        rows.join(
            ids.rename({"unique_id": "a", "source": "source_a", "source_person_id": "record_a"}),
            on=["source_a", "record_a"],
        )
        .join(
            ids.rename({"unique_id": "b", "source": "source_b", "source_person_id": "record_b"}),
            on=["source_b", "record_b"],
        )
        .sort("constraint_id", "a", "b")
    )
    cannot, must = _pairs(found, NOT_SAME_PERSON), _pairs(found, SAME_PERSON)
    detach = found.filter((pl.col("kind") == NOT_SAME_PERSON) & (pl.col("a") != pl.col("b"))).select("a", "b")
    ignored = rows.height - found.height
    stats = dict(zip(_STATS, (len(cannot), len(must), ignored), strict=True))
    return RecordConstraints(
        cannot_link=cannot,
        must_link=must,
        detach=tuple(dict.fromkeys((int(a), int(b)) for a, b in detach.iter_rows())),
        ignored=ignored,
        stats=stats,
    )


def detached_keys(
    detach: tuple[tuple[int, int], ...], records: pl.DataFrame, previous: pl.DataFrame | None
) -> frozenset[str]:
    """Keys of marked records that were on the same previous person as a record they are kept apart from.

    Those records must not carry that person's id away with them: the id, and
    the review item that follows it, stay with the person's other records
    (:func:`features.linkage.ids.assign_person_ids`).

    Args:
        detach: (marked, other) record ids (:attr:`RecordConstraints.detach`).
        records: ``unique_id``, ``source``, ``source_person_id``.
        previous: last night's persons, or None.
    """
    if not detach or previous is None or previous.is_empty():
        return frozenset()
    keyed = records.select(
        "unique_id", (pl.col("source") + KEY_SEPARATOR + pl.col("source_person_id")).alias("key")
    ).join(
        previous.select(
            (pl.col("source") + KEY_SEPARATOR + pl.col("source_person_id")).alias("key"), "person_id"
        ),
        on="key",
    )
    was = dict(zip(keyed["unique_id"].to_list(), keyed["person_id"].to_list(), strict=True))
    key_of = dict(zip(keyed["unique_id"].to_list(), keyed["key"].to_list(), strict=True))
    return frozenset(key_of[a] for a, b in detach if a in was and was[a] == was.get(b))


def with_why(lineage: pl.DataFrame, records_why: pl.DataFrame) -> pl.DataFrame:
    """The lineage with ``why`` set for each person holding a record a constraint acted on.

    Args:
        lineage: from :func:`features.linkage.ids.assign_person_ids` (``why`` all null).
        records_why: ``person_id``, ``why``, one row per record a constraint acted on.
    """
    if records_why.is_empty():
        return lineage
    by_person = records_why.group_by("person_id").agg(
        pl.col("why").unique().sort().str.join("; ").alias("_why")
    )
    return (
        lineage.join(by_person, on="person_id", how="left")
        .with_columns(pl.coalesce("_why", "why").alias("why"))
        .drop("_why")
        .select(lineage.columns)
    )
