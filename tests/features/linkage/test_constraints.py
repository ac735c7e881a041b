"""Reviewers' cannot-link and must-link constraints, kept by clustering and by a whole night's linkage."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from features.linkage import LinkageResult, resolve_persons
from features.linkage.clustering import cluster_records
from features.linkage.constraints import (
    CONSTRAINT_SCHEMA,
    NOT_SAME_PERSON,
    SAME_PERSON,
    WHY_JOINED,
    WHY_KEPT_APART,
    constraints_on_records,
)
from features.linkage.prep import prepare_people
from features.linkage.settings import load_linkage_settings
from features.schema import PEOPLE_SCHEMA

from .conftest import AS_OF, febrl3

SETTINGS = load_linkage_settings()
AGREE = {"first_name": 6, "last_name": 4, "dob": 4, "address": 6}
NEXT_NIGHT = AS_OF + timedelta(days=1)


def _people(n: int) -> pl.DataFrame:
    rows = [dict.fromkeys(PEOPLE_SCHEMA) | {"source": "s", "source_person_id": str(i)} for i in range(n)]
    return pl.DataFrame(rows, schema=PEOPLE_SCHEMA)


def _pairs(edges: list[tuple[int, int, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"unique_id_l": a, "unique_id_r": b, "match_probability": p, "match_weight": 10 * p}
            | {f"gamma_{c}": v for c, v in AGREE.items()}
            for a, b, p in edges
        ]
    )


def _constraints(rows: list[tuple[str, tuple[str, str], tuple[str, str]]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(i, kind, *a, *b) for i, (kind, a, b) in enumerate(rows, start=1)],
        schema=CONSTRAINT_SCHEMA,
        orient="row",
    )


def _groups(clusters: pl.DataFrame) -> set[frozenset[int]]:
    return {frozenset(ids) for ids in clusters.group_by("cluster").agg("unique_id")["unique_id"].to_list()}


def _cluster(
    n: int, edges: list[tuple[int, int, float]], rows: list[tuple[str, tuple[str, str], tuple[str, str]]]
):  # type: ignore[no-untyped-def]
    prepared = prepare_people(_people(n))
    on_records = constraints_on_records(_constraints(rows), prepared)
    return on_records, cluster_records(_pairs(edges), prepared, SETTINGS, constraints=on_records)


def test_a_cannot_link_splits_a_pair_scoring_joined() -> None:
    _, result = _cluster(2, [(0, 1, 0.99)], [(NOT_SAME_PERSON, ("s", "0"), ("s", "1"))])
    assert _groups(result.clusters) == {frozenset({0}), frozenset({1})}
    assert result.joining_pairs.is_empty()
    assert result.stats["constraints_kept_apart"] == 1
    assert dict(result.why.iter_rows()) == {0: WHY_KEPT_APART, 1: WHY_KEPT_APART}


def test_a_cannot_link_holds_when_a_third_record_chains_the_two() -> None:
    # 0-1 and 1-2 are strong, so components alone would make {0, 1, 2} one person.
    _, result = _cluster(3, [(0, 1, 0.99), (1, 2, 0.98)], [(NOT_SAME_PERSON, ("s", "0"), ("s", "2"))])
    groups = _groups(result.clusters)
    assert not any({0, 2} <= group for group in groups)
    assert groups == {frozenset({0, 1}), frozenset({2})}  # the stronger pair wins the middle record


def test_a_must_link_joins_records_scoring_left_apart_and_is_never_vetoed() -> None:
    _, result = _cluster(3, [(1, 2, 0.99)], [(SAME_PERSON, ("s", "0"), ("s", "2"))])
    assert _groups(result.clusters) == {frozenset({0, 1, 2})}
    assert result.stats["constraints_joined"] == 1
    # The must-link pair is not a scored pair, so the match evidence does not claim it.
    assert result.joining_pairs.select("unique_id_l", "unique_id_r").rows() == [(1, 2)]
    assert dict(result.why.iter_rows())[0] == WHY_JOINED


def test_a_cannot_link_wins_over_a_must_link_and_that_is_counted() -> None:
    rows = [(SAME_PERSON, ("s", "0"), ("s", "1")), (NOT_SAME_PERSON, ("s", "1"), ("s", "0"))]
    _, result = _cluster(2, [(0, 1, 0.01)], rows)  # scored, but far below the threshold
    assert _groups(result.clusters) == {frozenset({0}), frozenset({1})}
    assert result.stats["constraints_must_link_blocked"] == 1
    assert result.stats["constraints_joined"] == 0


def test_constraints_naming_records_not_here_tonight_are_ignored_and_counted() -> None:
    rows = [(NOT_SAME_PERSON, ("s", "0"), ("s", "gone")), (SAME_PERSON, ("other", "1"), ("s", "1"))]
    on_records, result = _cluster(2, [(0, 1, 0.99)], rows)
    assert on_records.ignored == 2
    assert on_records.stats == {
        "constraints_cannot_link_pairs": 0,
        "constraints_must_link_pairs": 0,
        "constraints_ignored": 2,
    }
    assert _groups(result.clusters) == {frozenset({0, 1})}


def test_an_unknown_kind_is_refused() -> None:
    frame = pl.DataFrame([(1, "maybe", "s", "0", "s", "1")], schema=CONSTRAINT_SCHEMA, orient="row")
    with pytest.raises(ValueError, match="kind"):
        constraints_on_records(frame, prepare_people(_people(2)))


# --- a whole night's linkage, with real Splink scoring ------------------------


@pytest.fixture(scope="module")
def first_night() -> tuple[pl.DataFrame, LinkageResult]:
    people, _ = febrl3()
    keep = people.sort("source_person_id").head(1500)
    return keep, resolve_persons(keep, previous=None, as_of=AS_OF)


def _a_person_with_three_records(result: LinkageResult) -> list[tuple[str, str]]:
    sizes = result.persons.group_by("person_id").agg(pl.len().alias("n"), pl.col("source_person_id").sort())
    person = sizes.filter(pl.col("n") >= 3).sort("person_id").row(0, named=True)
    return [("febrl3", r) for r in person["source_person_id"]]


def _person_of(result: LinkageResult, key: tuple[str, str]) -> str:
    row = result.persons.filter((pl.col("source") == key[0]) & (pl.col("source_person_id") == key[1]))
    return str(row["person_id"].item())


def test_the_next_night_keeps_a_record_marked_not_this_person_apart(
    first_night: tuple[pl.DataFrame, LinkageResult],
) -> None:
    people, one = first_night
    marked, *others = _a_person_with_three_records(one)
    person = _person_of(one, marked)
    rows = [(NOT_SAME_PERSON, marked, other) for other in others]
    two = resolve_persons(
        people,
        previous=one.persons,
        as_of=NEXT_NIGHT,
        trained_model=one.model,
        constraints=_constraints(rows),
    )
    assert _person_of(two, marked) != person
    assert {_person_of(two, o) for o in others} == {person}  # the rest keep their id
    assert two.stats["constraints_kept_apart"] == len(others)
    assert two.stats["constraints_ignored"] == 0
    why = dict(two.lineage.select("person_id", "why").iter_rows())
    assert why[person] == WHY_KEPT_APART
    assert why[_person_of(two, marked)] == WHY_KEPT_APART
    assert two.lineage.filter(pl.col("why").is_not_null()).height == 2
    # The match evidence no longer explains a pair holding the marked record.
    assert (
        two.evidence.filter(pl.col("person_id") == person).height
        < one.evidence.filter(pl.col("person_id") == person).height
    )


def test_a_cannot_link_between_two_records_of_a_chain_holds_on_a_real_night(
    first_night: tuple[pl.DataFrame, LinkageResult],
) -> None:
    people, one = first_night
    a, _, c = _a_person_with_three_records(one)[:3]
    two = resolve_persons(
        people,
        previous=one.persons,
        as_of=NEXT_NIGHT,
        trained_model=one.model,
        constraints=_constraints([(NOT_SAME_PERSON, a, c)]),
    )
    assert _person_of(two, a) != _person_of(two, c)


def test_a_must_link_joins_two_people_on_a_real_night_and_stale_ones_are_counted(
    first_night: tuple[pl.DataFrame, LinkageResult],
) -> None:
    people, one = first_night
    singles = (
        (one.persons.group_by("person_id").agg(pl.len().alias("n"), pl.col("source_person_id").first()))
        .filter(pl.col("n") == 1)
        .sort("person_id")
    )
    x, y = (("febrl3", r) for r in singles["source_person_id"].head(2).to_list())
    assert _person_of(one, x) != _person_of(one, y)
    rows = [(SAME_PERSON, x, y), (NOT_SAME_PERSON, x, ("febrl3", "rec-no-such-record"))]
    two = resolve_persons(
        people,
        previous=one.persons,
        as_of=NEXT_NIGHT,
        trained_model=one.model,
        constraints=_constraints(rows),
    )
    assert _person_of(two, x) == _person_of(two, y)
    assert two.stats["constraints_joined"] == 1
    assert two.stats["constraints_ignored"] == 1
    assert dict(two.lineage.select("person_id", "why").iter_rows())[_person_of(two, x)] == WHY_JOINED


def test_without_constraints_the_night_is_unchanged(first_night: tuple[pl.DataFrame, LinkageResult]) -> None:
    people, one = first_night
    empty = pl.DataFrame(schema=CONSTRAINT_SCHEMA)
    two = resolve_persons(people, previous=None, as_of=AS_OF, trained_model=one.model, constraints=empty)
    again = resolve_persons(people, previous=None, as_of=AS_OF, trained_model=one.model)
    assert two.persons.equals(again.persons)
    assert two.lineage["why"].null_count() == two.lineage.height
    assert two.stats["constraints_kept_apart"] == 0


def test_a_person_of_two_records_keeps_its_id_with_the_record_not_marked(
    first_night: tuple[pl.DataFrame, LinkageResult],
) -> None:
    people, one = first_night
    pairs = one.persons.group_by("person_id").agg(pl.len().alias("n"), pl.col("source_person_id").sort())
    person = pairs.filter(pl.col("n") == 2).sort("person_id").row(0, named=True)
    # The smaller key would win the tie for the id; marking it must not take the id (and the item) away.
    marked, other = (("febrl3", r) for r in person["source_person_id"])
    two = resolve_persons(
        people,
        previous=one.persons,
        as_of=NEXT_NIGHT,
        trained_model=one.model,
        constraints=_constraints([(NOT_SAME_PERSON, marked, other)]),
    )
    assert _person_of(two, other) == person["person_id"]
    assert _person_of(two, marked) != person["person_id"]
    moved = two.lineage.filter(pl.col("person_id") == _person_of(two, marked)).row(0, named=True)
    assert moved["previous_person_ids"] == [person["person_id"]]  # lineage still says where it came from
    assert moved["why"] == WHY_KEPT_APART
    # And a night later, still apart, nobody's id changes again.
    three = resolve_persons(
        people,
        previous=two.persons,
        as_of=NEXT_NIGHT + timedelta(days=1),
        trained_model=one.model,
        constraints=_constraints([(NOT_SAME_PERSON, marked, other)]),
    )
    assert three.persons.equals(two.persons)
