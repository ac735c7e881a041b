"""Pairwise accuracy by record richness, checked by hand on a small truth."""

from __future__ import annotations

import polars as pl
import pytest

from features.linkage import format_class_table, pairwise_scores, scores_by_class
from features.linkage.evaluation import MISS_STAGES, missed_pair_stages

CLASSES = ("full", "name_plus_one_contact", "contact_only")


def _frames(rows: list[tuple[str, int, str, str]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(record id, true person, predicted person, class) -> (persons, truth)."""
    persons = pl.DataFrame(
        {
            "person_id": [p for _, _, p, _ in rows],
            "source": ["s"] * len(rows),
            "source_person_id": [r for r, _, _, _ in rows],
        }
    )
    truth = pl.DataFrame(
        {
            "true_person_id": [t for _, t, _, _ in rows],
            "source": ["s"] * len(rows),
            "source_person_id": [r for r, _, _, _ in rows],
            "richness": [c for _, _, _, c in rows],
        }
    )
    return persons, truth


def test_each_pair_counts_in_the_class_of_its_poorer_record() -> None:
    persons, truth = _frames(
        [
            # person 1: a full record, a name-and-phone record and a bare number.
            # The bare number was left out of the person (a missed pair in
            # each pair involving it; both are in its class).
            ("a", 1, "P1", "full"),
            ("b", 1, "P1", "name_plus_one_contact"),
            ("c", 1, "P9", "contact_only"),
            # person 2: two full records, joined.
            ("d", 2, "P2", "full"),
            ("e", 2, "P2", "full"),
            # person 3's name-and-phone record was wrongly joined to person 2:
            # two false pairs, both in its class (the poorer side).
            ("f", 3, "P2", "name_plus_one_contact"),
        ]
    )
    by_class = scores_by_class(persons, truth, class_column="richness", classes=CLASSES)
    # full: (d, e) true and predicted.
    assert (by_class["full"].true_pairs, by_class["full"].predicted_pairs) == (1, 1)
    assert by_class["full"].correct_pairs == 1
    # name_plus_one_contact: true (a, b); predicted (a, b), (d, f), (e, f).
    plus = by_class["name_plus_one_contact"]
    assert (plus.true_pairs, plus.predicted_pairs, plus.correct_pairs) == (1, 3, 1)
    assert plus.precision == pytest.approx(1 / 3)
    assert plus.recall == 1.0
    # contact_only: true (a, c), (b, c); none predicted.
    only = by_class["contact_only"]
    assert (only.true_pairs, only.predicted_pairs, only.correct_pairs) == (2, 0, 0)
    assert only.recall == 0.0
    assert only.precision == 1.0  # nothing predicted, nothing wrong

    overall = pairwise_scores(persons, truth)
    for count in ("true_pairs", "predicted_pairs", "correct_pairs"):
        assert sum(getattr(s, count) for s in by_class.values()) == getattr(overall, count)


def test_the_class_order_decides_which_record_is_poorer() -> None:
    persons, truth = _frames([("a", 1, "P", "full"), ("b", 1, "P", "contact_only")])
    richest_first = scores_by_class(persons, truth, class_column="richness", classes=CLASSES)
    assert richest_first["contact_only"].true_pairs == 1
    assert richest_first["full"].true_pairs == 0
    reversed_order = scores_by_class(persons, truth, class_column="richness", classes=CLASSES[::-1])
    assert reversed_order["full"].true_pairs == 1


def test_an_unknown_class_is_an_error_not_a_silent_zero() -> None:
    persons, truth = _frames([("a", 1, "P", "full"), ("b", 1, "P", "mystery")])
    with pytest.raises(ValueError, match="mystery"):
        scores_by_class(persons, truth, class_column="richness", classes=CLASSES)


def test_the_table_lists_overall_then_every_class() -> None:
    persons, truth = _frames([("a", 1, "P", "full"), ("b", 1, "P", "full")])
    by_class = scores_by_class(persons, truth, class_column="richness", classes=CLASSES)
    lines = format_class_table(pairwise_scores(persons, truth), by_class).splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["overall", *CLASSES]
    assert by_class["full"].as_dict()["f1"] == 1.0


def _edges(*pairs: tuple[int, int]) -> pl.DataFrame:
    return pl.DataFrame(
        {"unique_id_l": [a for a, _ in pairs], "unique_id_r": [b for _, b in pairs]},
        schema={"unique_id_l": pl.Int64, "unique_id_r": pl.Int64},
    )


def test_each_missed_pair_is_put_in_the_first_stage_that_lost_it() -> None:
    # Person 1 has records 0-5; linkage made {0, 1}, {2}, {3}, {4}, {5}. Person 2 (6, 7) is whole.
    # 2 is never compared with any record of its person; 3 only below the threshold (with 0);
    # 4 above it with 1 but vetoed; 5 accepted with 0 and still split (the chaining guard).
    # A compared pair between two people (5-6) joins nothing.
    records = pl.DataFrame(
        {
            "unique_id": list(range(8)),
            "true_person_id": [1, 1, 1, 1, 1, 1, 2, 2],
            "cluster": [0, 0, 2, 3, 4, 5, 6, 6],
        }
    )
    accepted = _edges((0, 1), (0, 5), (6, 7), (5, 6))
    above = pl.concat([accepted, _edges((1, 4))])
    compared = pl.concat([above, _edges((0, 3), (2, 6))])
    missed = missed_pair_stages(records, compared, above, accepted)
    stage = {(a, b): s for a, b, _, s in missed.iter_rows()}
    assert len(stage) == 14  # 6 records in 5 clusters: 15 pairs, 1 kept
    assert {k for k, v in stage.items() if v == "never compared"} == {(0, 2), (1, 2), (2, 3), (2, 4), (2, 5)}
    assert {k for k, v in stage.items() if v == "below threshold"} == {(0, 3), (1, 3), (3, 4), (3, 5)}
    assert {k for k, v in stage.items() if v == "vetoed"} == {(0, 4), (1, 4), (4, 5)}
    assert {k for k, v in stage.items() if v == "split by clustering"} == {(0, 5), (1, 5)}
    assert set(missed["stage"]) <= set(MISS_STAGES)
    scores = pairwise_scores(
        records.select(
            person_id="cluster", source=pl.lit("s"), source_person_id=pl.col("unique_id").cast(pl.String)
        ),
        records.select(
            "true_person_id", source=pl.lit("s"), source_person_id=pl.col("unique_id").cast(pl.String)
        ),
    )
    assert scores.true_pairs - scores.correct_pairs == missed.height
