"""The feature table's shape: one row per person, numeric features only, no identifiers."""

from __future__ import annotations

import re

import polars as pl
import pytest
from person_feature_helpers import features, row

from early_warning.config import EVENT_COLUMNS, GAZETTEER_COLUMNS, PEOPLE_COLUMNS
from features.person_features import (
    NULLABLE_FEATURES,
    build_person_features,
    feature_columns,
    feature_descriptions,
)
from tests.support.canonical_events import AS_OF, CONFIG, event, events_frame, persons_frame

IDENTIFYING = re.compile(
    r"name|dob|birth|address|postcode|uprn|ni_number|nhs|sex|ethnic|source_person_id|event_id|row_number|ward|locality"
)
#: Every column of the people and events extracts, and of the gazetteer (DATA_CONTRACT.md section 1).
EXTRACT_COLUMNS = {*PEOPLE_COLUMNS, *EVENT_COLUMNS, *GAZETTEER_COLUMNS, "source", "role"}


def _borough() -> tuple[list[dict[str, object]], dict[tuple[str, str], str]]:
    evs = [
        event("council_tax", "c1", 10, "missed_instalment", amount=400.0),
        event("contact_centre", "k1", 3, "enquiry", topic="rent", channel="phone"),
        event("asb", "a9", 30, "noise_complaint"),
    ]
    links = {("council_tax", "c1"): "p1", ("contact_centre", "k1"): "p1", ("benefits", "b7"): "p2"}
    return evs, links


def test_the_table_has_person_id_then_exactly_the_listed_features_and_no_identifiers() -> None:
    evs, links = _borough()
    feats = features(evs, links)
    assert feats.columns == ["person_id", *feature_columns(CONFIG)]
    assert len(set(feats.columns)) == len(feats.columns)
    assert not [c for c in feats.columns if IDENTIFYING.search(c)]
    assert not EXTRACT_COLUMNS & set(feats.columns)
    not_numeric = [c for c, t in feats.schema.items() if c != "person_id" and not t.is_numeric()]
    assert not_numeric == []


def test_every_person_gets_one_row_and_a_person_with_no_events_has_zero_counts() -> None:
    evs, links = _borough()
    feats = features(evs, links)
    assert feats["person_id"].to_list() == ["a9", "p1", "p2"]  # sorted, p2 has no events
    empty = row(feats, "p2")
    for name in feature_columns(CONFIG):
        if name in NULLABLE_FEATURES:
            assert empty[name] is None, name
        elif name == "signal_trend_90d_vs_prior_275d":
            assert empty[name] == 1.0
        elif name in ("source_records", "source_systems"):
            assert empty[name] == 1, name
        else:
            assert empty[name] == 0, name
    null_counts = feats.select(pl.exclude(*NULLABLE_FEATURES).null_count()).row(0)
    assert set(null_counts) == {0}


def test_records_from_several_systems_combine_into_one_person() -> None:
    evs, links = _borough()
    got = row(features(evs, links), "p1")
    assert got["source_records"] == 2
    assert got["source_systems"] == 2
    assert got["distinct_services_30d"] == 2
    assert got["council_tax_arrears_now"] == 400.0
    assert got["channel_share_phone_365d"] == 1.0


def test_events_of_a_record_that_linkage_did_not_resolve_are_ignored() -> None:
    evs, links = _borough()
    persons = persons_frame(evs, links).filter(pl.col("source_person_id") != "a9")
    feats = build_person_features(events_frame(evs), persons, AS_OF, CONFIG).collect()
    assert "a9" not in feats["person_id"].to_list()
    assert feats.height == 2


def test_graph_features_are_left_joined_and_described() -> None:
    evs, links = _borough()
    graph = pl.LazyFrame({"person_id": ["p1"], "household_size": [3], "moves_last_year": [1]})
    feats = features(evs, links, graph=graph)
    assert feats.columns[-2:] == ["household_size", "moves_last_year"]
    assert row(feats, "p1")["household_size"] == 3
    assert row(feats, "p2")["household_size"] is None
    assert feats.columns == ["person_id", *feature_columns(CONFIG, ["household_size", "moves_last_year"])]
    described = feature_descriptions(CONFIG, ["household_size", "moves_last_year"])
    assert "address" in described["household_size"]


def test_graph_features_with_text_columns_are_refused() -> None:
    evs, links = _borough()
    graph = pl.LazyFrame({"person_id": ["p1"], "uprn": ["100023"]})
    with pytest.raises(ValueError, match="uprn"):
        features(evs, links, graph=graph)


def test_every_feature_has_a_plain_english_description() -> None:
    described = feature_descriptions(CONFIG)
    assert list(described) == feature_columns(CONFIG)
    for name, text in described.items():
        assert text[0].isupper(), name
        assert text.endswith("."), name
        assert "_" not in text, (name, text)
