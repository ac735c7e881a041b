"""Graph features on a hand-built borough, and per-locality build == whole build."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.graph import build_graph, build_graph_features
from features.graph.addresses import person_addresses
from features.graph.build import graphs_by_partition, partitions, person_contacts
from features.schema import EVENTS_SCHEMA, GAZETTEER_SCHEMA, PEOPLE_SCHEMA

AS_OF = date(2026, 6, 30)
SERVICES = ["asb", "benefits", "contact_centre", "council_tax", "housing_rent"]


def _frame(rows: list[dict[str, object]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame([dict.fromkeys(schema) | r for r in rows], schema=schema)


GAZETTEER = _frame(
    [
        {"uprn": "100", "address": "1 High Street", "postcode": "KM1 1AA", "ward": "W1", "locality": "North"},
        {"uprn": "200", "address": "2 High Street", "postcode": "KM1 1AA", "ward": "W1", "locality": "North"},
        {"uprn": "300", "address": "5 Low Road", "postcode": "KM9 9ZZ", "ward": "W9", "locality": "South"},
    ],
    GAZETTEER_SCHEMA,
)
PEOPLE = _frame(
    [
        # Ann: two records at 1 High Street (one found through the gazetteer).
        {"source": "council_tax", "source_person_id": "ct1", "address": "1 High St", "postcode": "km11aa"},
        {"source": "housing_rent", "source_person_id": "hr1", "uprn": "100"},
        # Bob: lives with Ann; reports anti-social behaviour.
        {"source": "council_tax", "source_person_id": "ct2", "uprn": "100"},
        {"source": "asb", "source_person_id": "as1", "uprn": "100"},
        # Cat: moved this year from 5 Low Road (South) to 2 High Street (North).
        {"source": "benefits", "source_person_id": "b1", "uprn": "300"},
        {"source": "council_tax", "source_person_id": "ct3", "uprn": "200"},
        # Dan: no address anywhere.
        {"source": "contact_centre", "source_person_id": "cc1"},
    ],
    PEOPLE_SCHEMA,
)
PERSONS = pl.DataFrame(
    {
        "person_id": ["PANN", "PANN", "PBOB", "PBOB", "PCAT", "PCAT", "PDAN"],
        "source": PEOPLE["source"],
        "source_person_id": PEOPLE["source_person_id"],
    }
)
EVENTS = _frame(
    [
        {
            "source": "council_tax",
            "source_person_id": "ct1",
            "event_date": date(2026, 5, 1),
            "event_type": "missed_instalment",
        },
        {
            "source": "housing_rent",
            "source_person_id": "hr1",
            "event_date": date(2026, 6, 1),
            "event_type": "missed_payment",
        },
        {
            "source": "council_tax",
            "source_person_id": "ct2",
            "event_date": date(2026, 4, 1),
            "event_type": "reminder",
        },
        {
            "source": "council_tax",
            "source_person_id": "ct2",
            "event_date": date(2026, 7, 5),
            "event_type": "summons",
        },
        {
            "source": "asb",
            "source_person_id": "as1",
            "event_date": date(2026, 3, 1),
            "event_type": "report_as_victim",
        },
        {
            "source": "benefits",
            "source_person_id": "b1",
            "event_date": date(2025, 12, 1),
            "event_type": "claim_new",
        },
        {
            "source": "council_tax",
            "source_person_id": "ct3",
            "event_date": date(2026, 6, 10),
            "event_type": "bill_issued",
        },
        {
            "source": "contact_centre",
            "source_person_id": "cc1",
            "event_date": date(2024, 1, 1),
            "event_type": "enquiry",
        },
    ],
    EVENTS_SCHEMA,
)


@pytest.fixture(scope="module")
def features() -> pl.DataFrame:
    return build_graph_features(PERSONS, PEOPLE, EVENTS, GAZETTEER, AS_OF, services=SERVICES)


def _row(features: pl.DataFrame, person_id: str) -> dict[str, object]:
    return features.filter(pl.col("person_id") == person_id).row(0, named=True)


def test_one_row_per_person_and_no_identifiers(features: pl.DataFrame) -> None:
    assert features["person_id"].to_list() == ["PANN", "PBOB", "PCAT", "PDAN"]
    assert not {"first_name", "last_name", "dob", "address", "uprn", "postcode"} & set(features.columns)


def test_household_members_and_their_services(features: pl.DataFrame) -> None:
    ann = _row(features, "PANN")
    assert ann["locality"] == "North"
    assert ann["household_size"] == 2
    assert ann["household_contacts_any"] == 1
    assert (ann["household_contacts_council_tax"], ann["household_contacts_asb"]) == (1, 1)
    assert ann["household_contacts_housing_rent"] == 0
    assert ann["household_asb_reporters"] == 1
    bob = _row(features, "PBOB")
    assert (bob["household_contacts_council_tax"], bob["household_contacts_housing_rent"]) == (1, 1)
    assert bob["household_asb_reporters"] == 0
    assert ann["component_persons"] == bob["component_persons"] == 2


def test_a_move_this_year_and_the_current_address(features: pl.DataFrame) -> None:
    cat = _row(features, "PCAT")
    assert cat["locality"] == "North"  # the most recently active record's address
    assert (cat["addresses_last_year"], cat["moves_last_year"]) == (2, 1)
    assert (cat["household_size"], cat["component_persons"]) == (1, 1)


def test_a_person_with_no_address_is_in_the_unknown_locality(features: pl.DataFrame) -> None:
    dan = _row(features, "PDAN")
    assert dan["locality"] == "unknown"
    assert (dan["household_size"], dan["addresses_last_year"], dan["moves_last_year"]) == (1, 0, 0)
    assert dan["household_contacts_any"] == 0


def test_events_after_the_night_are_not_read(features: pl.DataFrame) -> None:
    earlier = build_graph_features(PERSONS, PEOPLE, EVENTS, GAZETTEER, date(2026, 4, 15), services=SERVICES)
    ann = _row(earlier, "PANN")
    assert ann["household_contacts_council_tax"] == 1  # Bob's reminder on 1 April, not his July summons
    cat = _row(earlier, "PCAT")
    assert cat["locality"] == "South"  # the council tax record was not active yet


def test_per_locality_build_equals_whole_build() -> None:
    by_locality = build_graph_features(PERSONS, PEOPLE, EVENTS, GAZETTEER, AS_OF, services=SERVICES)
    whole = build_graph_features(
        PERSONS, PEOPLE, EVENTS, GAZETTEER, AS_OF, services=SERVICES, by_partition=False
    )
    assert_frame_equal(by_locality, whole)


def test_a_call_giving_only_a_postcode_does_not_move_someone_out_of_their_locality() -> None:
    """Eve's council tax record holds her South address; her latest contact is a call with a postcode only."""
    people = pl.concat(
        [
            PEOPLE,
            _frame(
                [
                    {"source": "council_tax", "source_person_id": "ct9", "uprn": "300"},
                    {"source": "contact_centre", "source_person_id": "cc9", "postcode": "KM1 1AA"},
                ],
                PEOPLE_SCHEMA,
            ),
        ]
    )
    persons = pl.concat(
        [
            PERSONS,
            pl.DataFrame(
                {
                    "person_id": ["PEVE", "PEVE"],
                    "source": ["council_tax", "contact_centre"],
                    "source_person_id": ["ct9", "cc9"],
                }
            ),
        ]
    )
    events = pl.concat(
        [
            EVENTS,
            _frame(
                [
                    {
                        "source": "council_tax",
                        "source_person_id": "ct9",
                        "event_date": date(2026, 1, 5),
                        "event_type": "bill_issued",
                    },
                    {
                        "source": "contact_centre",
                        "source_person_id": "cc9",
                        "event_date": date(2026, 6, 20),
                        "event_type": "enquiry",
                    },
                ],
                EVENTS_SCHEMA,
            ),
        ]
    )
    features = build_graph_features(persons, people, events, GAZETTEER, AS_OF, services=SERVICES)
    assert _row(features, "PEVE")["locality"] == "South"


def test_the_networkx_graph_for_the_data_team_agrees_with_the_features(features: pl.DataFrame) -> None:
    """The graph is no longer read for the features, but who wants to walk it gets the same borough."""
    addresses = person_addresses(PERSONS, PEOPLE, EVENTS, GAZETTEER, AS_OF, 365)
    contacts = person_contacts(PERSONS, EVENTS, AS_OF, 365)
    parts = partitions(PERSONS["person_id"].unique(), addresses)
    graphs = dict(graphs_by_partition(parts, addresses, contacts))
    assert sorted(graphs) == ["North", "unknown"]
    north = graphs["North"]
    members = {node[1] for node in north[("household", "U:100")]}
    assert members == {"PANN", "PBOB"}
    assert {other[1] for other in north[("person", "PBOB")] if other[0] == "service"} == {
        "asb",
        "council_tax",
    }
    cat = [d for other, d in north[("person", "PCAT")].items() if d["kind"] == "lives_at"]
    assert sum(d["recent"] for d in cat) == _row(features, "PCAT")["addresses_last_year"] == 2
    for graph in graphs.values():
        for node, size in graph.nodes(data="component_persons"):
            if node[0] == "person":
                assert size == _row(features, node[1])["component_persons"]
    assert set(build_graph(["PDAN"], addresses.clear(), contacts.clear())) == {("person", "PDAN")}
