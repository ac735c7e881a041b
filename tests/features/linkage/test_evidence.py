"""Match evidence: every joined pair explained with levels and weights, no personal data."""

from __future__ import annotations

import polars as pl

from features.linkage import LinkageResult
from features.linkage.evidence import level_labels


def test_evidence_explains_each_multi_record_person_with_n_minus_one_pairs(
    febrl3_resolved: tuple[pl.DataFrame, pl.DataFrame, LinkageResult],
) -> None:
    _, _, result = febrl3_resolved
    sizes = result.persons.group_by("person_id").len()
    pairs = result.evidence.group_by("person_id").len()
    expected = sizes.filter(pl.col("len") > 1).with_columns(pl.col("len") - 1).sort("person_id")
    assert pairs.sort("person_id").equals(expected)


def test_evidence_reasons_read_as_comparison_level_and_weight(
    febrl4_resolved: tuple[pl.DataFrame, pl.DataFrame, LinkageResult],
) -> None:
    _, _, result = febrl4_resolved
    reasons = result.evidence.explode("reasons")["reasons"]
    assert reasons.str.contains(r"^[A-Za-z ]+: [a-zA-Z ,]+ \([+-]\d+\.\d\)$").all()
    assert (reasons == "date of birth: exact match (+12.8)").any() or reasons.str.starts_with(
        "date of birth: exact match (+"
    ).any()
    assert result.evidence["reasons"].list.len().max() == 4


def test_evidence_holds_no_names_dates_or_identifiers(
    febrl4_resolved: tuple[pl.DataFrame, pl.DataFrame, LinkageResult],
) -> None:
    people, _, result = febrl4_resolved
    text = " ".join(result.evidence.explode("reasons")["reasons"].drop_nulls().to_list()).lower()
    words = set(text.replace("(", " ").replace(")", " ").replace(":", " ").split())
    names = set(people["last_name"].drop_nulls().str.to_lowercase().to_list())
    identifiers = set(people["ni_number"].drop_nulls().to_list())
    assert not words & names
    assert not words & identifiers
    assert "personal" not in result.evidence.columns


def test_level_labels_number_levels_like_splink() -> None:
    model = {
        "comparisons": [
            {
                "output_column_name": "dob",
                "comparison_levels": [
                    {"label_for_charts": "missing", "is_null_level": True},
                    {"label_for_charts": "exact match"},
                    {"label_for_charts": "close"},
                    {"label_for_charts": "different"},
                ],
            }
        ]
    }
    description, labels = level_labels(model)["dob"]
    assert description == "date of birth"
    assert labels == {-1: "missing", 2: "exact match", 1: "close", 0: "different"}
