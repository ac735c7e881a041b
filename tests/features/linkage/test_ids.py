"""Stable person ids and lineage across nights."""

from __future__ import annotations

from datetime import date

import polars as pl

from features.linkage.ids import assign_person_ids

NIGHT_1 = date(2026, 11, 21)
NIGHT_2 = date(2026, 11, 22)
SALT = "test-salt"


def _records(clusters: dict[int, list[str]]) -> pl.DataFrame:
    rows = [
        {"cluster": cluster, "source": key.split(":")[0], "source_person_id": key.split(":")[1]}
        for cluster, keys in clusters.items()
        for key in keys
    ]
    return pl.DataFrame(
        rows, schema={"cluster": pl.Int64, "source": pl.String, "source_person_id": pl.String}
    )


def _person_of(persons: pl.DataFrame, key: str) -> str:
    source, spid = key.split(":")
    return persons.filter((pl.col("source") == source) & (pl.col("source_person_id") == spid))[
        "person_id"
    ].item()


FIRST = {0: ["ct:1", "hr:9"], 1: ["ct:2"], 2: ["asc:5", "ben:7"]}


def test_rerunning_a_night_gives_identical_ids_and_lineage() -> None:
    one = assign_person_ids(_records(FIRST), previous=None, salt=SALT, as_of=NIGHT_1)
    two = assign_person_ids(_records(FIRST), previous=None, salt=SALT, as_of=NIGHT_1)
    assert one.persons.equals(two.persons)
    assert one.lineage.equals(two.lineage)
    assert set(one.lineage["change"]) == {"new"}


def test_ids_do_not_depend_on_cluster_labels_or_row_order() -> None:
    one = assign_person_ids(_records(FIRST), previous=None, salt=SALT, as_of=NIGHT_1)
    relabelled = {10 + k: list(reversed(v)) for k, v in reversed(FIRST.items())}
    two = assign_person_ids(_records(relabelled), previous=None, salt=SALT, as_of=NIGHT_1)
    assert one.persons.equals(two.persons)


def test_ids_are_pseudonymous_tokens() -> None:
    persons = assign_person_ids(_records(FIRST), previous=None, salt=SALT, as_of=NIGHT_1).persons
    assert persons["person_id"].str.contains(r"^P[A-Z2-7]{16}$").all()
    other_salt = assign_person_ids(_records(FIRST), previous=None, salt="other", as_of=NIGHT_1).persons
    assert set(persons["person_id"]).isdisjoint(set(other_salt["person_id"]))


def test_a_new_record_on_the_second_night_keeps_existing_ids() -> None:
    first = assign_person_ids(_records(FIRST), previous=None, salt=SALT, as_of=NIGHT_1)
    grown = {**FIRST, 0: [*FIRST[0], "cc:3"], 3: ["asb:4"]}
    second = assign_person_ids(_records(grown), previous=first.persons, salt=SALT, as_of=NIGHT_2)
    for key in ("ct:1", "hr:9", "ct:2", "asc:5"):
        assert _person_of(second.persons, key) == _person_of(first.persons, key)
    assert _person_of(second.persons, "cc:3") == _person_of(first.persons, "ct:1")
    changes = dict(second.lineage.select("person_id", "change").iter_rows())
    assert changes[_person_of(second.persons, "asb:4")] == "new"
    assert changes[_person_of(second.persons, "ct:1")] == "same"


def test_merge_and_split_are_recorded_in_lineage() -> None:
    first = assign_person_ids(_records(FIRST), previous=None, salt=SALT, as_of=NIGHT_1)
    p_ct1, p_ct2, p_asc = (_person_of(first.persons, k) for k in ("ct:1", "ct:2", "asc:5"))
    # ct:1's person and ct:2's person merge; asc:5's person splits in two.
    changed = {0: ["ct:1", "hr:9", "ct:2"], 2: ["asc:5"], 3: ["ben:7"]}
    second = assign_person_ids(_records(changed), previous=first.persons, salt=SALT, as_of=NIGHT_2)
    lineage = {row["person_id"]: row for row in second.lineage.to_dicts()}

    merged = _person_of(second.persons, "ct:2")
    assert merged == p_ct1  # the larger previous person keeps its id
    assert lineage[merged]["change"] == "merged"
    assert lineage[merged]["previous_person_ids"] == sorted([p_ct1, p_ct2])
    assert p_ct2 not in lineage  # absorbed, not removed: it is listed under the merged person

    halves = {_person_of(second.persons, "asc:5"), _person_of(second.persons, "ben:7")}
    assert p_asc in halves
    assert len(halves) == 2
    for half in halves:
        assert lineage[half]["change"] == "split"
        assert lineage[half]["previous_person_ids"] == [p_asc]


def test_a_person_whose_records_all_went_is_recorded_as_removed() -> None:
    first = assign_person_ids(_records(FIRST), previous=None, salt=SALT, as_of=NIGHT_1)
    second = assign_person_ids(
        _records({0: FIRST[0], 2: FIRST[2]}), previous=first.persons, salt=SALT, as_of=NIGHT_2
    )
    gone = _person_of(first.persons, "ct:2")
    row = second.lineage.filter(pl.col("person_id") == gone).to_dicts()
    assert row == [
        {"as_of": NIGHT_2, "person_id": gone, "previous_person_ids": [gone], "change": "removed", "why": None}
    ]
