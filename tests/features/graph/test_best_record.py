"""The record a person's address and name are taken from, on hand-built frames."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from early_warning.config import load_config
from features.graph import build_graph_features
from features.graph.addresses import person_addresses, record_addresses
from features.graph.best_record import best_name, source_reliability
from features.schema import EVENTS_SCHEMA, GAZETTEER_SCHEMA, PEOPLE_SCHEMA

AS_OF = date(2026, 6, 30)


def _frame(rows: list[dict[str, Any]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame([dict.fromkeys(schema) | r for r in rows], schema=schema)


GAZETTEER = _frame(
    [
        {"uprn": "100", "address": "1 High Street", "postcode": "KM1 1AA", "ward": "W1", "locality": "North"},
        {"uprn": "200", "address": "2 High Street", "postcode": "KM1 1AA", "ward": "W1", "locality": "North"},
        {"uprn": "300", "address": "5 Low Road", "postcode": "KM9 9ZZ", "ward": "W9", "locality": "South"},
        {
            "uprn": "400",
            "address": "Flat 6, 39 Pine Drive",
            "postcode": "KM9 9ZY",
            "ward": "W9",
            "locality": "South",
        },
        {
            "uprn": "500",
            "address": "Flat 5, 39 Pine Drive",
            "postcode": "KM9 9ZY",
            "ward": "W9",
            "locality": "South",
        },
    ],
    GAZETTEER_SCHEMA,
)


def _person(records: list[tuple[str, str, str, dict[str, Any]]]) -> tuple[pl.DataFrame, ...]:
    """persons, people, events for one person ``P``: (source, id, last event date, fields held)."""
    people = _frame(
        [{"source": s, "source_person_id": i, **held} for s, i, _, held in records], PEOPLE_SCHEMA
    )
    events = _frame(
        [
            {
                "source": s,
                "source_person_id": i,
                "event_id": f"e{n}",
                "event_date": date.fromisoformat(day),
                "event_type": "enquiry",
            }
            for n, (s, i, day, _) in enumerate(records)
        ],
        EVENTS_SCHEMA,
    )
    persons = people.select(pl.lit("P").alias("person_id"), "source", "source_person_id")
    return persons, people, events


def _current(records: list[tuple[str, str, str, dict[str, Any]]], **kw: Any) -> dict[str, Any]:
    persons, people, events = _person(records)
    addresses = person_addresses(persons, people, events, GAZETTEER, AS_OF, 365, **kw)
    current = addresses.filter("current")
    assert current.height <= 1
    if current.is_empty():
        return {"address_key": None, "locality": "unknown"}
    return current.row(0, named=True)


def _locality(records: list[tuple[str, str, str, dict[str, Any]]]) -> str:
    persons, people, events = _person(records)
    features = build_graph_features(persons, people, events, GAZETTEER, AS_OF)
    return str(features["locality"].item())


def test_a_newer_contact_centre_record_does_not_win_the_address_over_council_tax() -> None:
    records = [
        ("council_tax", "CT1", "2026-01-05", {"uprn": "100"}),
        ("contact_centre", "CC1", "2026-06-20", {"address": "5 Low Road", "postcode": "KM9 9ZZ"}),
    ]
    assert _current(records)["address_key"] == "U:100"
    assert _locality(records) == "North"


def test_a_typed_call_without_a_postcode_does_not_move_a_person_with_full_addresses() -> None:
    """The demo's case: council tax, benefits and rent hold the address; the latest call does not."""
    records = [
        ("council_tax", "CT1", "2026-03-03", {"address": "1 HIGH ST", "postcode": "KM11AA"}),
        ("benefits", "B1", "2026-02-01", {"address": "1 High St", "postcode": "KM1 1AA", "uprn": "100"}),
        ("housing_rent", "T1", "2026-01-01", {"uprn": "100"}),
        ("contact_centre", "CC1", "2026-06-29", {"address": "flat 6 39 pine dr"}),
    ]
    current = _current(records)
    assert (current["address_key"], current["locality"]) == ("U:100", "North")
    assert _locality(records) == "North"


def test_a_line_without_a_postcode_is_placed_by_its_street_and_numbers_when_only_one_entry_has_them() -> None:
    records = [("contact_centre", "CC1", "2026-06-29", {"address": "flat 6 39 pine dr"})]
    assert (_current(records)["address_key"], _locality(records)) == ("U:400", "South")


@pytest.mark.parametrize(
    "held",
    [
        {"address": "Pine Drive"},  # a street without a number or postcode
        {"address": "High Street"},
        {"postcode": "KM1 1AA"},  # a postcode alone: no door to knock on
        {"address": "39 Pine Drive"},  # two flats at 39: not one entry
        {"address": "5 Low Road", "postcode": "ZZ9 9ZZ"},  # a postcode the gazetteer lacks: maybe elsewhere
        {"address": "flat 6 39 drive"},  # numbers and no street name (Flat 6, 39 Pine Drive has them)
        {},
    ],
)
def test_a_person_whose_only_address_does_not_place_them_is_in_the_unknown_locality(
    held: dict[str, Any],
) -> None:
    records = [("contact_centre", "CC1", "2026-06-29", held)]
    assert _current(records)["locality"] == "unknown"
    assert _locality(records) == "unknown"


def test_a_line_with_a_known_postcode_but_no_single_entry_is_in_the_postcodes_locality() -> None:
    records = [("asb", "AS1", "2026-06-29", {"address": "39 Pine Drive", "postcode": "KM9 9ZY"})]
    assert _current(records)["locality"] == "South"
    keys = record_addresses(_person(records)[1], GAZETTEER)
    assert keys.select("address_key", "address_quality").row(0) == ("A:KM9 9ZY|39 drive pine", 3)


def test_a_better_placed_address_wins_over_a_more_reliable_source() -> None:
    records = [
        ("council_tax", "CT1", "2026-06-01", {"address": "Pine Drive", "postcode": "KM9 9ZY"}),
        ("asb", "AS1", "2026-01-01", {"uprn": "000200"}),
    ]
    assert _current(records)["address_key"] == "U:200"


def test_among_equally_reliable_records_the_most_recently_active_wins() -> None:
    records = [
        ("benefits", "B1", "2025-12-01", {"uprn": "300"}),
        ("council_tax", "CT1", "2026-06-10", {"uprn": "200"}),
    ]
    assert _current(records)["address_key"] == "U:200"


def test_ties_are_broken_by_source_and_id_whatever_the_row_order() -> None:
    records = [
        ("council_tax", "CT2", "2026-06-10", {"uprn": "200"}),
        ("council_tax", "CT1", "2026-06-10", {"uprn": "100"}),
        ("benefits", "B9", "2026-06-10", {"uprn": "300"}),
    ]
    assert _current(records)["address_key"] == "U:300"  # benefits sorts before council_tax
    assert _current(records[:2])["address_key"] == "U:100"  # CT1 before CT2
    assert _current(records[:2][::-1])["address_key"] == "U:100"
    persons, people, events = _person(records)
    first = person_addresses(persons, people, events, GAZETTEER, AS_OF, 365)
    shuffled = person_addresses(
        persons.sample(fraction=1.0, shuffle=True, seed=1),
        people.sample(fraction=1.0, shuffle=True, seed=2),
        events.sample(fraction=1.0, shuffle=True, seed=3),
        GAZETTEER.sample(fraction=1.0, shuffle=True, seed=4),
        AS_OF,
        365,
    )
    assert_frame_equal(first, shuffled)


def test_the_reliability_order_is_configuration() -> None:
    ranks = source_reliability(load_config())
    assert ranks["council_tax"] == ranks["benefits"] == ranks["housing_rent"] == ranks["adult_social_care"]
    assert ranks["council_tax"] > ranks["childrens_services"] > ranks["contact_centre"] == ranks["asb"]
    records = [
        ("council_tax", "CT1", "2026-01-05", {"uprn": "100"}),
        ("contact_centre", "CC1", "2026-06-20", {"uprn": "300"}),
    ]
    trusting_calls = {**ranks, "contact_centre": 9}
    assert _current(records, reliability=trusting_calls)["address_key"] == "U:300"
    assert _current(records, reliability={})["address_key"] == "U:300"  # nobody ranked: the latest


def _names(rows: list[dict[str, Any]]) -> pl.DataFrame:
    frame = pl.DataFrame(
        [dict.fromkeys((*PEOPLE_SCHEMA, "last_event")) | {"person_id": "P"} | r for r in rows],
        schema={**PEOPLE_SCHEMA, "last_event": pl.Date, "person_id": pl.String},
    )
    return best_name(frame).select("source", "source_person_id", "first_name", "last_name")


def test_a_typed_contact_centre_name_does_not_win_over_benefits() -> None:
    chosen = _names(
        [
            {"source": "benefits", "source_person_id": "B1", "first_name": "Joyce", "last_name": "Johnson",
             "last_event": date(2025, 9, 1)},
            {"source": "contact_centre", "source_person_id": "CC1", "first_name": "Joyce", "last_name": "Joohn",
             "last_event": date(2026, 6, 29), "dob": date(1970, 1, 1), "address": "flat 6 39 pine dr"},
        ]
    )  # fmt: skip
    assert chosen.row(0) == ("benefits", "B1", "Joyce", "Johnson")


def test_among_equally_reliable_sources_the_fuller_name_then_the_more_complete_record_then_the_latest() -> (
    None
):
    base = {"source": "council_tax", "last_name": "Johnson"}
    initial = base | {"source_person_id": "CT1", "first_name": "J", "last_event": date(2026, 6, 1)}
    full = base | {"source_person_id": "CT2", "first_name": "Joyce", "last_event": date(2025, 1, 1)}
    assert _names([initial, full])["source_person_id"].item() == "CT2"
    richer = full | {"source_person_id": "CT3", "dob": date(1970, 1, 1), "last_event": date(2024, 1, 1)}
    assert _names([initial, full, richer])["source_person_id"].item() == "CT3"
    later = full | {"source_person_id": "CT4", "last_event": date(2026, 1, 1)}
    assert _names([full, later])["source_person_id"].item() == "CT4"
    same = full | {"source_person_id": "CT0"}
    assert _names([full, same])["source_person_id"].item() == "CT0"
    assert _names([same, full])["source_person_id"].item() == "CT0"
