"""The clustering guards: households, conflicting identifiers, chains and weak bridges."""

from __future__ import annotations

import polars as pl

from features.linkage.clustering import cluster_records
from features.linkage.prep import prepare_people
from features.linkage.settings import load_linkage_settings
from features.schema import PEOPLE_SCHEMA

SETTINGS = load_linkage_settings()
ALL_RELIABLE = frozenset({"first_name", "dob", "ni_number", "nhs_number"})


def _people(rows: list[dict[str, object]]) -> pl.DataFrame:
    full = [
        dict.fromkeys(PEOPLE_SCHEMA) | {"source": "s", "source_person_id": str(i)} | r
        for i, r in enumerate(rows)
    ]
    return pl.DataFrame(full, schema=PEOPLE_SCHEMA)


def _pairs(edges: list[tuple[int, int, float, dict[str, int]]]) -> pl.DataFrame:
    levels = ["first_name", "last_name", "dob", "address", "ni_number", "nhs_number", "email", "phone"]
    return pl.DataFrame(
        [
            {"unique_id_l": a, "unique_id_r": b, "match_probability": p, "match_weight": 10 * p}
            | {f"gamma_{c}": gammas.get(c, -1) for c in levels}
            for a, b, p, gammas in edges
        ]
    )


def _groups(clusters: pl.DataFrame) -> set[frozenset[int]]:
    return {frozenset(ids) for ids in clusters.group_by("cluster").agg("unique_id")["unique_id"].to_list()}


AGREE = {"first_name": 6, "last_name": 4, "dob": 4, "address": 6}


def test_household_members_with_different_first_names_are_not_merged_despite_shared_phone() -> None:
    prepared = prepare_people(_people([{"first_name": "Ann"}, {"first_name": "Bob"}]))
    pairs = _pairs([(0, 1, 0.97, {"first_name": 0, "last_name": 4, "address": 6, "phone": 1, "email": 1})])
    result = cluster_records(pairs, prepared, SETTINGS, ALL_RELIABLE)
    assert _groups(result.clusters) == {frozenset({0}), frozenset({1})}
    assert result.stats["pairs_vetoed_household"] == 1


def test_a_shared_ni_number_overrides_the_household_guard() -> None:
    prepared = prepare_people(_people([{"first_name": "Ann"}, {"first_name": "Zoe"}]))
    pairs = _pairs([(0, 1, 0.99, {"first_name": 0, "ni_number": 2})])
    assert _groups(cluster_records(pairs, prepared, SETTINGS, ALL_RELIABLE).clusters) == {frozenset({0, 1})}


def test_unreliable_identifiers_do_not_veto() -> None:
    prepared = prepare_people(_people([{}, {}]))
    pairs = _pairs([(0, 1, 0.99, {**AGREE, "ni_number": 0})])
    vetoed = cluster_records(pairs, prepared, SETTINGS, ALL_RELIABLE)
    kept = cluster_records(pairs, prepared, SETTINGS, frozenset({"first_name"}))
    assert _groups(vetoed.clusters) == {frozenset({0}), frozenset({1})}
    assert _groups(kept.clusters) == {frozenset({0, 1})}


def test_a_chain_through_one_record_is_split_where_dates_of_birth_conflict() -> None:
    """A (1980) - B (no dob) - C (1955): A and C must not be one person."""
    from datetime import date

    prepared = prepare_people(
        _people(
            [
                {"first_name": "Jo", "last_name": "Smith", "dob": date(1980, 1, 1)},
                {"first_name": "Jo", "last_name": "Smith"},
                {"first_name": "Jo", "last_name": "Smith", "dob": date(1955, 7, 9)},
            ]
        )
    )
    pairs = _pairs([(0, 1, 0.999, AGREE), (1, 2, 0.95, AGREE)])
    result = cluster_records(pairs, prepared, SETTINGS, ALL_RELIABLE)
    assert _groups(result.clusters) == {frozenset({0, 1}), frozenset({2})}  # the stronger pair wins
    assert result.stats["clusters_split_for_conflicts"] == 1
    assert result.joining_pairs.select("unique_id_l", "unique_id_r").rows() == [(0, 1)]


def test_two_groups_joined_by_a_single_weak_pair_are_cut_apart() -> None:
    prepared = prepare_people(_people([{} for _ in range(4)]))
    pairs = _pairs([(0, 1, 0.9999, AGREE), (2, 3, 0.9999, AGREE), (1, 2, 0.92, AGREE)])
    result = cluster_records(pairs, prepared, SETTINGS, ALL_RELIABLE)
    assert _groups(result.clusters) == {frozenset({0, 1}), frozenset({2, 3})}
    assert result.stats["weak_bridges_cut"] == 1


def test_a_strong_bridge_or_a_weak_pair_to_a_single_record_is_kept() -> None:
    prepared = prepare_people(_people([{} for _ in range(5)]))
    strong = _pairs([(0, 1, 0.9999, AGREE), (2, 3, 0.9999, AGREE), (1, 2, 0.995, AGREE)])
    assert _groups(cluster_records(strong, prepared, SETTINGS, ALL_RELIABLE).clusters) >= {
        frozenset({0, 1, 2, 3})
    }
    spur = _pairs([(0, 1, 0.9999, AGREE), (1, 2, 0.9999, AGREE), (2, 0, 0.9999, AGREE), (2, 3, 0.92, AGREE)])
    assert frozenset({0, 1, 2, 3}) in _groups(
        cluster_records(spur, prepared, SETTINGS, ALL_RELIABLE).clusters
    )


def test_pairs_below_the_threshold_are_ignored() -> None:
    prepared = prepare_people(_people([{}, {}]))
    pairs = _pairs([(0, 1, SETTINGS.match_threshold - 0.01, AGREE)])
    assert _groups(cluster_records(pairs, prepared, SETTINGS, ALL_RELIABLE).clusters) == {
        frozenset({0}),
        frozenset({1}),
    }


TRUSTING_CARE = SETTINGS.model_copy(update={"one_record_per_person": ["adult_social_care"]})


def test_two_records_of_a_trusted_source_are_never_one_person() -> None:
    # Twins of one name at one address, both with adult social care: the case system keeps them apart.
    prepared = prepare_people(
        _people([{"source": "adult_social_care"}, {"source": "adult_social_care"}, {"source": "council_tax"}])
    )
    pairs = _pairs([(0, 1, 0.99, AGREE), (0, 2, 0.99, AGREE)])
    trusting = cluster_records(pairs, prepared, TRUSTING_CARE, ALL_RELIABLE)
    assert _groups(trusting.clusters) == {frozenset({0, 2}), frozenset({1})}
    assert trusting.stats["pairs_vetoed_same_trusted_source"] == 1
    # The default trusts no source: the same pairs make one person.
    default = cluster_records(pairs, prepared, SETTINGS, ALL_RELIABLE)
    assert _groups(default.clusters) == {frozenset({0, 1, 2})}
    assert default.stats["pairs_vetoed_same_trusted_source"] == 0


def test_a_trusted_source_keeps_its_records_apart_through_a_third_record() -> None:
    # 0 and 1 are both care records; 2 (council tax) matches each: the weaker link is dropped.
    prepared = prepare_people(
        _people([{"source": "adult_social_care"}, {"source": "adult_social_care"}, {"source": "council_tax"}])
    )
    pairs = _pairs([(0, 2, 0.999, AGREE), (1, 2, 0.95, AGREE)])
    result = cluster_records(pairs, prepared, TRUSTING_CARE, ALL_RELIABLE)
    assert _groups(result.clusters) == {frozenset({0, 2}), frozenset({1})}
    untrusted_source = SETTINGS.model_copy(update={"one_record_per_person": ["homelessness"]})
    assert _groups(cluster_records(pairs, prepared, untrusted_source, ALL_RELIABLE).clusters) == {
        frozenset({0, 1, 2})
    }


def test_a_threshold_on_match_weight_separates_pairs_whose_probabilities_have_saturated() -> None:
    # Weights of 60 and 55 bits are both probability 1.0 in floating point; only a weight can tell them apart.
    prepared = prepare_people(_people([{}, {}, {}]))
    pairs = _pairs([(0, 1, 1.0, AGREE), (1, 2, 1.0, AGREE)]).with_columns(
        match_weight=pl.Series([60.0, 55.0])
    )
    by_probability = SETTINGS.model_copy(update={"match_threshold": 0.999999})
    assert _groups(cluster_records(pairs, prepared, by_probability, ALL_RELIABLE).clusters) == {
        frozenset({0, 1, 2})
    }
    by_weight = SETTINGS.model_copy(update={"match_weight_threshold": 58.0})
    assert by_weight.threshold_probability == 1.0
    assert _groups(cluster_records(pairs, prepared, by_weight, ALL_RELIABLE).clusters) == {
        frozenset({0, 1}),
        frozenset({2}),
    }
