"""Training m from the data team's "same person" labels, with real Splink (FEBRL3)."""

from __future__ import annotations

import polars as pl

from features.linkage import load_linkage_settings
from features.linkage.clerical import SAME_PERSON_SCHEMA, same_person_ids
from features.linkage.prep import prepare_people
from features.linkage.splink_runner import score_pairs
from tests.features.linkage.conftest import febrl3


def _m(model: dict[str, object], comparison: str) -> list[float]:
    for c in model["comparisons"]:  # type: ignore[attr-defined]
        if c["output_column_name"] == comparison:
            return [
                level.get("m_probability")
                for level in c["comparison_levels"]
                if not level.get("is_null_level")
            ]
    raise KeyError(comparison)


def test_labelled_pairs_change_m_when_turned_on() -> None:
    people, truth = febrl3()
    people = people.head(2000)
    prepared = prepare_people(people)
    dupes = (
        truth.join(people.select("source", "source_person_id"), on=["source", "source_person_id"])
        .group_by("true_person_id")
        .agg(pl.col("source_person_id").sort())
        .filter(pl.col("source_person_id").list.len() >= 2)
        .sort("true_person_id")
        .head(60)
    )
    labels = pl.DataFrame(
        {
            "source_l": "febrl3",
            "source_person_id_l": dupes["source_person_id"].list.get(0),
            "source_r": "febrl3",
            "source_person_id_r": dupes["source_person_id"].list.get(1),
        },
        schema=SAME_PERSON_SCHEMA,
    )
    # A label naming a record not in tonight's extract is dropped.
    gone = pl.DataFrame(
        [("febrl3", "rec-x-org", "febrl3", "rec-y-org")], schema=SAME_PERSON_SCHEMA, orient="row"
    )
    ids = same_person_ids(pl.concat([labels, gone]), prepared)
    assert ids is not None
    assert ids.height == 60
    assert same_person_ids(gone, prepared) is None

    settings = load_linkage_settings().model_copy(update={"clerical_review_per_band": 0})
    plain = score_pairs(prepared, settings)
    taught = score_pairs(prepared, settings, same_person_pairs=ids)
    assert plain.candidates is None  # clerical review off: nothing below the threshold kept
    changed = [
        name
        for name in ("first_name", "last_name", "dob", "address", "ni_number")
        if _m(plain.model, name) != _m(taught.model, name)
    ]
    assert changed, "the labels did not change any m probability"
    # Fixed m probabilities stay fixed.
    assert _m(plain.model, "first_name")[-1] == _m(taught.model, "first_name")[-1] == 0.02
    assert all(m is None or m > 0 for name in changed for m in _m(taught.model, name))
