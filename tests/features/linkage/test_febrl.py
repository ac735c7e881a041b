"""FEBRL benchmarks through the product pipeline (the same code a night runs).

FEBRL4: two sources of 5,000 records, each person once in each. FEBRL3:
one source of 5,000 records with up to several corrupted duplicates each.
Scores are pairwise over source records against the published true links.
"""

from __future__ import annotations

import polars as pl

from features.linkage import LinkageResult, pairwise_scores


def test_febrl4_linked_as_two_sources_reaches_f1_099(
    febrl4_resolved: tuple[pl.DataFrame, pl.DataFrame, LinkageResult],
) -> None:
    people, truth, result = febrl4_resolved
    scores = pairwise_scores(result.persons, truth)
    assert result.persons.height == people.height
    assert scores.f1 >= 0.99, scores
    assert scores.precision >= 0.99, scores


def test_febrl3_deduplicated_reaches_f1_095(
    febrl3_resolved: tuple[pl.DataFrame, pl.DataFrame, LinkageResult],
) -> None:
    people, truth, result = febrl3_resolved
    scores = pairwise_scores(result.persons, truth)
    assert result.persons.height == people.height
    assert scores.f1 >= 0.95, scores


def test_every_record_gets_exactly_one_person(
    febrl3_resolved: tuple[pl.DataFrame, pl.DataFrame, LinkageResult],
) -> None:
    people, _, result = febrl3_resolved
    keys = result.persons.select("source", "source_person_id")
    assert not keys.is_duplicated().any()
    assert keys.sort(pl.all()).equals(people.select("source", "source_person_id").sort(pl.all()))
    assert result.persons["person_id"].str.contains(r"^P[A-Z2-7]{16}$").all()


def test_a_threshold_written_as_a_match_weight_gives_the_same_people_as_its_probability(
    febrl4_resolved: tuple[pl.DataFrame, pl.DataFrame, LinkageResult],
) -> None:
    """0.9 as a probability is log2(9) bits as a weight: real Splink, the same persons either way
    (clerical review off, so Splink's own predict threshold is the weight)."""
    import math

    from features.linkage import load_linkage_settings, resolve_persons
    from tests.features.linkage.conftest import AS_OF

    people, _, by_probability = febrl4_resolved
    settings = load_linkage_settings().model_copy(
        update={"match_weight_threshold": math.log2(0.9 / 0.1), "clerical_review_per_band": 0}
    )
    by_weight = resolve_persons(people, previous=None, as_of=AS_OF, settings=settings)
    assert by_weight.persons.sort("source", "source_person_id").equals(
        by_probability.persons.sort("source", "source_person_id")
    )
