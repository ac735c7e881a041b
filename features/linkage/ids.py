"""Stable pseudonymous person ids, carried from night to night.

A ``person_id`` is "P" followed by 16 characters of a salted SHA-256 hash: it
carries no name, date of birth or identifier, and it cannot be turned back
into the records it was made from without every source's reference list.

Each night's clusters are matched to the previous night's persons by how many
source records they share:

- a cluster takes the previous id with which it shares the most records
  (ties: the smaller id); each previous id goes to at most one cluster, the
  one that shares the most with it (ties: the cluster's smallest record key);
- a cluster sharing no record with the previous night, or whose candidates
  were all taken, gets a new id derived from its sorted record keys and the
  salt, rehashed with a counter on the (astronomically unlikely) collision.

The lineage table says what happened to each person that night: ``new``,
``same``, ``merged`` (the cluster holds records of two or more previous
persons, listed in ``previous_person_ids``), ``split`` (a previous person's
records are now in two or more clusters; every one of them says so), or
``removed`` (a previous person none of whose records came in tonight), and
``why`` when it was not the scores alone (``features.linkage.constraints``). The
whole mapping is a pure function of the night's clusters, the previous
persons and the salt, so re-running a night gives identical ids.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import date

import polars as pl

_SEP = "\x1f"
#: Between a record's source and its reference in the record keys ``assign_person_ids`` uses.
KEY_SEPARATOR = _SEP

PERSONS_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.String(),
    "source": pl.String(),
    "source_person_id": pl.String(),
}
LINEAGE_SCHEMA: dict[str, pl.DataType] = {
    "as_of": pl.Date(),
    "person_id": pl.String(),
    "previous_person_ids": pl.List(pl.String()),
    "change": pl.String(),
    #: Why, when it was not the scores alone: e.g. a reviewer said two records are not the same person.
    "why": pl.String(),
}


@dataclass
class AssignedIds:
    persons: pl.DataFrame
    lineage: pl.DataFrame
    cluster_person: pl.DataFrame  # cluster -> person_id


def new_person_id(member_keys: list[str], salt: str, attempt: int = 0) -> str:
    """A deterministic id for a cluster that has none yet."""
    text = salt + _SEP + str(attempt) + _SEP + "\x1e".join(sorted(member_keys))
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "P" + base64.b32encode(digest).decode("ascii")[:16]


def assign_person_ids(
    records: pl.DataFrame,
    *,
    previous: pl.DataFrame | None,
    salt: str,
    as_of: date,
    detached: frozenset[str] = frozenset(),
) -> AssignedIds:
    """Give each cluster a person id, keeping last night's where records overlap.

    Args:
        records: ``source``, ``source_person_id``, ``cluster`` (any integer label).
        previous: last night's ``persons.parquet`` (``person_id``, ``source``,
            ``source_person_id``), or None on the first night.
        salt: mixed into new ids (settings ``person_id_salt``).
        as_of: the night, for the lineage table.
        detached: keys (``source`` + ``\x1f`` + ``source_person_id``) of records a
            reviewer took off their previous person tonight: they do not count
            towards keeping that person's id, so the id stays with the records
            that are that person (lineage still lists where they came from).
    """
    keyed = records.select(
        "cluster",
        "source",
        "source_person_id",
        (pl.col("source") + _SEP + pl.col("source_person_id")).alias("key"),
    )
    members = keyed.group_by("cluster").agg(pl.col("key").sort()).sort("cluster")
    first_key = {c: keys[0] for c, keys in members.iter_rows()}

    prev = (previous if previous is not None else pl.DataFrame(schema=PERSONS_SCHEMA)).select(
        "person_id", (pl.col("source") + _SEP + pl.col("source_person_id")).alias("key")
    )
    overlap = (
        keyed.join(prev, on="key", how="inner")
        .group_by("cluster", "person_id")
        .agg(pl.len().alias("shared"), pl.col("key").is_in(sorted(detached)).sum().alias("detached"))
        .with_columns(pl.col("shared") - pl.col("detached"))
        .with_columns(pl.col("cluster").replace_strict(first_key, return_dtype=pl.String).alias("first_key"))
        .sort(["shared", "person_id", "first_key"], descending=[True, False, False])
    )

    chosen: dict[int, str] = {}
    taken: set[str] = set()
    for cluster, person_id, shared, detached_shared, _ in overlap.iter_rows():
        if cluster in chosen or person_id in taken or shared == 0 < detached_shared:
            continue
        chosen[cluster] = person_id
        taken.add(person_id)

    used = set(prev["person_id"].unique().to_list()) | taken
    for cluster, keys in members.iter_rows():
        if cluster in chosen:
            continue
        attempt = 0
        candidate = new_person_id(keys, salt)
        while candidate in used:
            attempt += 1
            candidate = new_person_id(keys, salt, attempt)
        chosen[cluster] = candidate
        used.add(candidate)

    cluster_person = pl.DataFrame(
        {"cluster": list(chosen), "person_id": list(chosen.values())},
        schema={"cluster": keyed.schema["cluster"], "person_id": pl.String},
    )
    persons = (
        keyed.join(cluster_person, on="cluster")
        .select("person_id", "source", "source_person_id")
        .sort("person_id", "source", "source_person_id")
    )
    lineage = _lineage(overlap, cluster_person, prev, as_of)
    return AssignedIds(persons=persons, lineage=lineage, cluster_person=cluster_person)


def _lineage(
    overlap: pl.DataFrame, cluster_person: pl.DataFrame, prev: pl.DataFrame, as_of: date
) -> pl.DataFrame:
    previous_of = overlap.group_by("cluster").agg(
        pl.col("person_id").unique().sort().alias("previous_person_ids")
    )
    spread = overlap.group_by("person_id").agg(pl.col("cluster").n_unique().alias("clusters"))
    split_ids = set(spread.filter(pl.col("clusters") > 1)["person_id"].to_list())
    current = cluster_person.join(previous_of, on="cluster", how="left").with_columns(
        pl.col("previous_person_ids").fill_null(pl.lit([], dtype=pl.List(pl.String)))
    )
    change = (
        pl.when(pl.col("previous_person_ids").list.len() == 0)
        .then(pl.lit("new"))
        .when(pl.col("previous_person_ids").list.len() > 1)
        .then(pl.lit("merged"))
        .when(pl.col("previous_person_ids").list.first().is_in(sorted(split_ids)))
        .then(pl.lit("split"))
        .otherwise(pl.lit("same"))
    )
    rows = current.select(
        pl.lit(as_of).alias("as_of"),
        "person_id",
        "previous_person_ids",
        change.alias("change"),
        pl.lit(None, dtype=pl.String).alias("why"),
    )
    seen = set(overlap["person_id"].to_list())
    gone = sorted(set(prev["person_id"].to_list()) - seen)
    removed = pl.DataFrame(
        {
            "as_of": [as_of] * len(gone),
            "person_id": gone,
            "previous_person_ids": [[g] for g in gone],
            "change": ["removed"] * len(gone),
            "why": [None] * len(gone),
        },
        schema=LINEAGE_SCHEMA,
    )
    return pl.concat([rows.cast(LINEAGE_SCHEMA), removed]).sort("person_id")  # type: ignore[arg-type]
