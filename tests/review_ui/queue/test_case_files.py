"""Case files on a hand-built street: each section, and what must never be in one."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import polars as pl
import pytest

from features.linkage.evidence import EVIDENCE_SCHEMA
from features.schema import GAZETTEER_SCHEMA, PEOPLE_SCHEMA
from review_ui.queue.case_file import CASE_FILE_VERSION
from review_ui.queue.case_files import build_case_files, months_before
from tests.support.canonical_events import AS_OF, CONFIG, event, events_frame

# AS_OF is 2025-03-31.


def _frame(rows: list[dict[str, Any]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame([dict.fromkeys(schema) | r for r in rows], schema=schema)


def _person(source: str, spid: str, first: str, last: str, **held: Any) -> dict[str, Any]:
    return {"source": source, "source_person_id": spid, "first_name": first, "last_name": last, **held}


GAZETTEER = _frame(
    [
        {
            "uprn": "100",
            "address": "12 High Street, Townsville",
            "postcode": "ZZ1 1AA",
            "ward": "Central",
            "locality": "Northgate",
        },
        {
            "uprn": "200",
            "address": "14 High Street, Townsville",
            "postcode": "ZZ1 1AA",
            "ward": "Central",
            "locality": "Northgate",
        },
    ],
    GAZETTEER_SCHEMA,
)

PEOPLE = _frame(
    [
        # Ann (p1): three systems, one of them with a typo, a different dob and only a postcode.
        _person(
            "council_tax",
            "CT1",
            "Ann",
            "Example",
            dob=date(1980, 6, 15),
            uprn="000100",
            address="12 High St",
            postcode="ZZ1 1AA",
            phone="07700 900001",
        ),
        _person(
            "contact_centre",
            "CC1",
            "ANN",
            "EXAMPLE",
            dob=date(1980, 6, 15),
            postcode="zz1 1aa",
            email="ann@example.test",
        ),
        _person(
            "benefits",
            "B1",
            "Ann",
            "Exampel",
            dob=date(1981, 1, 1),
            address="12 High Street",
            postcode="ZZ1 1AA",
            phone="+44 7700 900001",  # the same number written another way: listed once
            email="ANN@example.test",
        ),
        # Bobby (p2): a child at 12 High Street, known to housing.
        _person("housing_rent", "HR2", "Bobby", "Example", dob=date(2015, 1, 1), uprn="100"),
        # Cara (p3): an adult of 34, found at 12 High Street through the gazetteer.
        _person(
            "council_tax",
            "CT3",
            "Cara",
            "Lodger",
            dob=date(1990, 5, 5),
            address="12 High St",
            postcode="ZZ1 1AA",
        ),
        # Dev (p4): no date of birth, no events.
        _person("asb", "AS4", "Dev", "Unknown", uprn="100"),
        # Eve (p5): next door.
        _person("council_tax", "CT5", "Eve", "Neighbour", dob=date(1970, 1, 1), uprn="200"),
        # Finn (p6): used to live at 12, now lives next door.
        _person("council_tax", "CT6", "Finn", "Moved", dob=date(1960, 1, 1), uprn="100"),
        _person("benefits", "B6", "Finn", "Moved", dob=date(1960, 1, 1), uprn="200"),
    ],
    PEOPLE_SCHEMA,
)

PERSONS = pl.DataFrame(
    {
        "person_id": ["p1", "p1", "p1", "p2", "p3", "p4", "p5", "p6", "p6"],
        "source": [
            "council_tax",
            "contact_centre",
            "benefits",
            "housing_rent",
            "council_tax",
            "asb",
            "council_tax",
            "council_tax",
            "benefits",
        ],
        "source_person_id": ["CT1", "CC1", "B1", "HR2", "CT3", "AS4", "CT5", "CT6", "B6"],
    }
)

EVENTS = [
    # Ann
    event("contact_centre", "CC1", 3, "enquiry", topic="benefits"),
    event("contact_centre", "CC1", 4, "enquiry", topic="other"),
    event("council_tax", "CT1", 10, "missed_instalment", amount=120.5),
    event("council_tax", "CT1", 40, "payment", amount=80.0),
    event("benefits", "B1", 200, "claim_new"),
    event("council_tax", "CT1", -5, "final_notice"),  # after the night
    event("council_tax", "CT1", (AS_OF - months_before(AS_OF, 24)).days, "reminder"),  # 24 months ago: out
    event("council_tax", "CT1", (AS_OF - months_before(AS_OF, 24)).days - 1, "bill_issued"),  # just in
    # the household
    event("housing_rent", "HR2", 30, "missed_payment", amount=300.0),
    event("council_tax", "CT3", 10, "payment"),
    event("asb", "AS4", 400, "noise_complaint"),
    # next door
    event("council_tax", "CT5", 5, "payment"),
    event("council_tax", "CT6", 300, "payment"),
    event("benefits", "B6", 20, "claim_new"),
]

EVIDENCE = _frame(
    [
        {
            "person_id": "p1",
            "source_l": "council_tax",
            "source_person_id_l": "CT1",
            "source_r": "contact_centre",
            "source_person_id_r": "CC1",
            "match_probability": 0.998,
            "match_weight": 9.0,
            "reasons": ["date of birth: exact match (+7.2)", "last name: exact match (+6.1)"],
        },
        {
            "person_id": "p1",
            "source_l": "benefits",
            "source_person_id_l": "B1",
            "source_r": "council_tax",
            "source_person_id_r": "CT1",
            "match_probability": 0.97,
            "match_weight": 5.0,
            "reasons": ["address: same UPRN (+9.0)"],
        },
        {
            "person_id": "p6",
            "source_l": "benefits",
            "source_person_id_l": "B6",
            "source_r": "council_tax",
            "source_person_id_r": "CT6",
            "match_probability": 0.99,
            "match_weight": 7.0,
            "reasons": [],
        },
    ],
    EVIDENCE_SCHEMA,
)


def build(person_ids: list[str], **kw: Any) -> pl.DataFrame:
    return build_case_files(
        person_ids,
        persons=PERSONS,
        people=PEOPLE.lazy(),
        events=events_frame(kw.pop("events", EVENTS)),
        gazetteer=GAZETTEER,
        evidence=EVIDENCE,
        as_of=AS_OF,
        config=kw.pop("config", CONFIG),
        **kw,
    )


def case_file(person_id: str = "p1", **kw: Any) -> dict[str, Any]:
    frame = build([person_id], **kw)
    assert frame["person_id"].to_list() == [person_id]
    content: dict[str, Any] = json.loads(frame["content"][0])
    return content


def test_one_row_per_person_asked_for_with_the_ward_of_the_current_address() -> None:
    frame = build(["p3", "p1", "p1", "p5"])
    assert frame.columns == ["person_id", "ward", "content"]
    assert frame["person_id"].to_list() == ["p1", "p3", "p5"]
    assert frame["ward"].to_list() == ["Central", "Central", "Central"]
    assert all(json.loads(c)["schema_version"] == CASE_FILE_VERSION for c in frame["content"])
    assert build([]).is_empty()


def test_the_person_section_shows_names_contacts_address_and_age_but_never_the_date_of_birth() -> None:
    content = case_file("p1")
    person = content["person"]
    assert content["as_of"] == AS_OF.isoformat()
    # the most reliable record's name first (council tax: as reliable as benefits and more
    # complete), then the others most recently active first
    # "ANN EXAMPLE" is the same name in capitals: one name, listed once
    assert person["names"] == ["Ann Example", "Ann Exampel"]
    assert person["name"] == "Ann Example"
    assert person["age"] == 44  # most records say 15 June 1980; no birthday yet by 31 March 2025
    # the latest record holds a postcode only: the address comes from the most reliable record
    assert (person["address"], person["postcode"], person["ward"]) == (
        "12 High Street, Townsville",
        "ZZ1 1AA",
        "Central",
    )
    assert person["phones"] == ["07700 900001"]
    assert person["emails"] == ["ann@example.test"]
    text = json.dumps(content)
    for dob in ("1980-06-15", "1980", "1981", "15/06", "06-15"):
        assert dob not in text


def test_records_are_listed_most_recently_active_first_with_their_own_address() -> None:
    records = case_file("p1")["records"]
    assert records == [
        {"source": "contact_centre", "source_person_id": "CC1", "name": "ANN EXAMPLE", "address": "zz1 1aa",
         "last_event": (AS_OF - timedelta(days=3)).isoformat(), "phone": None},
        {"source": "council_tax", "source_person_id": "CT1", "name": "Ann Example",
         "address": "12 High St, ZZ1 1AA", "last_event": (AS_OF - timedelta(days=10)).isoformat(),
         "phone": "07700 900001"},
        {"source": "benefits", "source_person_id": "B1", "name": "Ann Exampel",
         "address": "12 High Street, ZZ1 1AA", "last_event": (AS_OF - timedelta(days=200)).isoformat(),
         "phone": "+44 7700 900001"},
    ]  # fmt: skip
    dev = case_file("p4")["records"]
    assert dev == [
        {"source": "asb", "source_person_id": "AS4", "name": "Dev Unknown", "address": None,
         "last_event": (AS_OF - timedelta(days=400)).isoformat(), "phone": None}
    ]  # fmt: skip


def test_the_timeline_is_newest_first_within_24_months_up_to_the_night_with_plain_labels() -> None:
    timeline = case_file("p1")["timeline"]
    dates = [entry["date"] for entry in timeline]
    assert dates == sorted(dates, reverse=True)
    assert max(dates) == (AS_OF - timedelta(days=3)).isoformat(), "nothing after the night"
    assert min(dates) > months_before(AS_OF, 24).isoformat(), "nothing older than 24 months"
    assert [(e["service"], e["event_type"]) for e in timeline] == [
        ("contact_centre", "enquiry"),
        ("contact_centre", "enquiry"),
        ("council_tax", "missed_instalment"),
        ("council_tax", "payment"),
        ("benefits", "claim_new"),
        ("council_tax", "bill_issued"),
    ]
    assert timeline[0] == {
        "date": (AS_OF - timedelta(days=3)).isoformat(),
        "service": "contact_centre",
        "event_type": "enquiry",
        "label": "Enquiry to the contact centre about benefits",
        "amount": None,
        "topic": "benefits",
        "role": "signal",
    }
    assert (
        timeline[1]["label"] == "Enquiry to the contact centre about another matter"
    )  # as a reason says "other"
    assert timeline[2] == {
        "date": (AS_OF - timedelta(days=10)).isoformat(),
        "service": "council_tax",
        "event_type": "missed_instalment",
        "label": "Missed a council tax instalment",
        "amount": 120.5,
        "topic": None,
        "role": "signal",
    }
    assert [e["role"] for e in timeline[3:]] == ["routine", "signal", "routine"]


def test_the_timeline_keeps_only_the_newest_events_up_to_its_limit() -> None:
    many = [event("council_tax", "CT1", day, "reminder") for day in range(1, 41)]
    timeline = case_file("p1", events=many, timeline_limit=25)["timeline"]
    assert len(timeline) == 25
    assert timeline[0]["date"] == (AS_OF - timedelta(days=1)).isoformat()
    assert timeline[-1]["date"] == (AS_OF - timedelta(days=25)).isoformat()
    assert len(case_file("p1", events=many)["timeline"]) == 40


def test_every_event_type_of_the_default_vocabulary_has_a_label() -> None:
    for source, spec in CONFIG.sources.items():
        for role in ("routine", "signal", "service", "enforcement", "crisis"):
            for event_type in getattr(spec.events, role):
                label = CONFIG.wording.event_label(source, event_type)
                assert label, (source, event_type)
                assert label[0].isupper(), label
                assert "_" not in label, label


def test_an_event_type_without_a_label_is_described_from_its_name() -> None:
    events = {**CONFIG.wording.events, "benefits": dict(CONFIG.wording.events["benefits"])}
    del events["benefits"]["claim_new"]
    unlabelled = CONFIG.model_copy(update={"wording": CONFIG.wording.model_copy(update={"events": events})})
    timeline = case_file("p1", config=unlabelled)["timeline"]
    labels = {e["event_type"]: e["label"] for e in timeline}
    assert labels["claim_new"] == "Claim new (benefits)"


def test_the_household_is_the_other_people_living_there_described_never_named() -> None:
    content = case_file("p1")
    household = content["household"]
    assert household["address"] == "12 High Street, Townsville, ZZ1 1AA"
    assert household["members"] == [
        {"description": "Adult aged 30 to 39", "services": ["council_tax"]},
        {"description": "Child", "services": ["housing_rent"]},
        {"description": "Person of unknown age", "services": []},  # its one event was 400 days ago
    ]
    text = json.dumps(household)
    for secret in ("Bobby", "Cara", "Lodger", "Dev", "HR2", "CT3", "AS4", "p2", "p3", "p4", "2015", "1990"):
        assert secret not in text
    # Finn lived at 12 once but lives next door now; Eve has always lived next door.
    assert "Finn" not in json.dumps(content)
    assert "Eve" not in json.dumps(content)


def test_a_household_member_sees_the_surfaced_person_among_their_own_household() -> None:
    members = case_file("p2")["household"]["members"]
    assert sorted(m["description"] for m in members) == [
        "Adult aged 30 to 39",
        "Adult aged 40 to 49",
        "Person of unknown age",
    ]
    assert case_file("p5")["household"]["members"] == [
        {"description": "Person aged 65 or over", "services": ["benefits", "council_tax"]}
    ]


def test_the_evidence_lists_the_persons_joining_pairs_with_their_reasons() -> None:
    assert case_file("p1")["evidence"] == [
        {
            "left": "benefits B1",
            "right": "council_tax CT1",
            "match_probability": 0.97,
            "reasons": ["address: same UPRN (+9.0)"],
        },
        {
            "left": "council_tax CT1",
            "right": "contact_centre CC1",
            "match_probability": 0.998,
            "reasons": ["date of birth: exact match (+7.2)", "last name: exact match (+6.1)"],
        },
    ]
    assert case_file("p3")["evidence"] == []


def test_a_person_with_no_records_gets_an_empty_case_file() -> None:
    content = case_file("nobody")
    assert content["person"] == {
        "names": [],
        "age": None,
        "address": None,
        "postcode": None,
        "ward": None,
        "phones": [],
        "emails": [],
        "name": None,
        "locality": "unknown",
        "name_from": None,
        "address_from": None,
    }
    assert content["records"] == content["timeline"] == content["evidence"] == []
    assert content["household"] == {"address": None, "members": []}


def _case_file_of_the_contact_centre_record_alone() -> pl.DataFrame:
    """p1's case file when only their contact-centre record (a postcode, no full address) is known."""
    return build_case_files(
        ["p1"],
        persons=PERSONS.filter(pl.col("source_person_id") == "CC1"),
        people=PEOPLE.filter(pl.col("source_person_id") == "CC1"),
        events=events_frame(EVENTS),
        gazetteer=GAZETTEER,
        evidence=None,
        as_of=AS_OF,
        config=CONFIG,
    )


def test_a_postcode_alone_is_not_a_household() -> None:
    frame = _case_file_of_the_contact_centre_record_alone()
    content = json.loads(frame["content"][0])
    assert (content["person"]["address"], content["person"]["postcode"]) == (None, "ZZ1 1AA")
    assert frame["ward"].to_list() == [None]
    assert content["household"] == {"address": None, "members": []}
    assert content["evidence"] == []


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2025, 3, 31), 24, date(2023, 3, 31)),
        (date(2024, 2, 29), 12, date(2023, 2, 28)),
        (date(2025, 3, 31), 1, date(2025, 2, 28)),
        (date(2025, 1, 15), 1, date(2024, 12, 15)),
    ],
)
def test_months_before_stays_on_a_real_day(day: date, months: int, expected: date) -> None:
    assert months_before(day, months) == expected


def _joyce() -> dict[str, Any]:
    """The demo's case: three systems hold Joyce's address; her latest call is typed and has no postcode."""
    people = _frame(
        [
            _person("council_tax", "CT7", "JOYCE", "JOHNSON", address="14 HIGH ST", postcode="ZZ11AA"),
            _person(
                "benefits", "B7", "Joyce", "Johnson", dob=date(1970, 2, 2), ni_number="QQ123456C", uprn="200"
            ),
            _person("contact_centre", "CC7", "Joyce", "Joohn", address="flat 6 39 pine dr"),
        ],
        PEOPLE_SCHEMA,
    )
    frame = build_case_files(
        ["p7"],
        persons=people.select(pl.lit("p7").alias("person_id"), "source", "source_person_id"),
        people=people,
        events=events_frame(
            [
                event("council_tax", "CT7", 28, "missed_instalment"),  # 3 March 2025
                event("benefits", "B7", 100, "claim_new"),
                event("contact_centre", "CC7", 1, "enquiry"),
            ]
        ),
        gazetteer=GAZETTEER,
        evidence=None,
        as_of=AS_OF,
        config=CONFIG,
    )
    assert frame["ward"].to_list() == ["Central"]
    content: dict[str, Any] = json.loads(frame["content"][0])
    return content


def test_the_name_and_address_come_from_the_most_reliable_records_not_the_latest() -> None:
    person = _joyce()["person"]
    assert (
        person["name"] == person["names"][0] == "Joyce Johnson"
    )  # benefits: more identity details than council tax
    assert person["names"] == ["Joyce Johnson", "Joyce Joohn"]  # "JOYCE JOHNSON" is the same name
    assert (person["address"], person["postcode"], person["ward"], person["locality"]) == (
        "14 High Street, Townsville",
        "ZZ1 1AA",
        "Central",
        "Northgate",
    )
    assert person["name_from"] == {
        "source": "benefits",
        "service": "benefits",
        "source_person_id": "B7",
        "last_event": (AS_OF - timedelta(days=100)).isoformat(),
        "text": "Name from benefits, last contact 21 December 2024",
    }
    assert person["address_from"] == {
        "source": "council_tax",
        "service": "council tax",
        "source_person_id": "CT7",
        "last_event": "2025-03-03",
        "text": "Address from council tax, last contact 3 March 2025",
        "match": "gazetteer",
    }


def test_where_an_address_was_not_placed_the_case_file_says_so() -> None:
    frame = _case_file_of_the_contact_centre_record_alone()
    person = json.loads(frame["content"][0])["person"]
    assert person["locality"] == "unknown"
    assert person["address_from"]["match"] == "postcode_only"
    assert person["address_from"]["text"] == (
        "Postcode from contact centre, last contact 28 March 2025 (only a postcode: no address to visit)"
    )


def test_a_co_resident_known_only_by_a_line_without_a_postcode_is_in_the_household() -> None:
    """Gus's one record is a call giving "12 high st" and no postcode: the gazetteer places it at Ann's."""
    gus = _frame(
        [_person("contact_centre", "CC8", "Gus", "Lodger", dob=date(1990, 1, 1), address="12 high st")],
        PEOPLE_SCHEMA,
    )
    frame = build_case_files(
        ["p1"],
        persons=pl.concat(
            [
                PERSONS,
                pl.DataFrame(
                    {"person_id": ["p8"], "source": ["contact_centre"], "source_person_id": ["CC8"]}
                ),
            ]
        ),
        people=pl.concat([PEOPLE, gus]).lazy(),
        events=events_frame([*EVENTS, event("contact_centre", "CC8", 2, "enquiry")]),
        gazetteer=GAZETTEER,
        evidence=None,
        as_of=AS_OF,
        config=CONFIG,
    )
    members = json.loads(frame["content"][0])["household"]["members"]
    assert {"description": "Adult aged 30 to 39", "services": ["contact_centre"]} in members
    assert len(members) == 4


def test_coverage_gives_every_configured_source_and_its_extracts_latest_event_up_to_the_night() -> None:
    after_the_night = event("benefits", "HB-9", -3, "claim_new")  # a date after the night: never read
    coverage = case_file("p1", events=[*EVENTS, after_the_night])["coverage"]
    assert [row["source"] for row in coverage] == list(CONFIG.sources)
    frame = events_frame(EVENTS).filter(pl.col("event_date") <= AS_OF).collect()
    latest = {
        s: d.isoformat() for s, d in frame.group_by("source").agg(pl.col("event_date").max()).iter_rows()
    }
    assert {row["source"]: row["latest"] for row in coverage} == {s: latest.get(s) for s in CONFIG.sources}
    assert any(row["latest"] is None for row in coverage)  # a source with no extract rows that night


def test_a_stored_case_file_lists_one_name_and_one_phone_per_value_when_read() -> None:
    """Case files written before the night compared names without case and phones by digits."""
    from review_ui.queue.case_file import national_phone, read_case_file

    person = read_case_file(
        {
            "version": 1,
            "as_of": "2026-06-30",
            "person": {
                "name": "Sean Carey",
                "names": ["SEAN CAREY", "Sean Carey", "sean  carey", "Shaun Carey"],
                "phones": [
                    "07700 900123",
                    "+44 7700 900123",
                    "0044 (0)7700 900123",
                    "7700900123",
                    "01632 960000",
                ],
            },
        }
    ).person
    assert person.names == ["Sean Carey", "Shaun Carey"]
    assert person.phones == ["07700 900123", "01632 960000"]
    assert national_phone("+44 (0)1632 960000") == "01632960000"


def test_each_name_and_phone_says_which_systems_hold_it() -> None:
    """Ann's one name in two cases is held by council tax and the contact centre; her one number,
    written two ways, by council tax and benefits (records most recently active first)."""
    from review_ui.queue.case_file import read_case_file

    read = read_case_file(case_file("p1"))
    assert read.person.names == ["Ann Example", "Ann Exampel"]
    assert read.sources_holding_name("Ann Example") == ["contact_centre", "council_tax"]
    assert read.sources_holding_name("ann  EXAMPLE") == ["contact_centre", "council_tax"]
    assert read.sources_holding_name("Ann Exampel") == ["benefits"]
    assert read.person.phones == ["07700 900001"]
    assert read.sources_holding_phone("07700 900001") == ["council_tax", "benefits"]
    assert read.sources_holding_name("Someone Else") == read.sources_holding_phone("01632 960000") == []
