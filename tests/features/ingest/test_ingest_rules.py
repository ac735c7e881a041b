"""Each validation rule of DATA_CONTRACT.md section 4, on the pure core (frames in, frames out)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from early_warning.config import load_config
from features.ingest import KnownPeople, check_events, check_gazetteer, check_people
from features.schema import EVENTS_SCHEMA, GAZETTEER_SCHEMA, PEOPLE_SCHEMA

AS_OF = date(2026, 11, 22)
CONFIG = load_config()


def people(**columns: list[str | None]) -> pl.DataFrame:
    base: dict[str, list[str | None]] = {
        "source_person_id": ["P1"],
        "first_name": ["Ann"],
        "last_name": ["Lee"],
    }
    base.update(columns)
    n = max(len(v) for v in base.values())
    return pl.DataFrame(
        {k: (v * n if len(v) == 1 else v) for k, v in base.items()}, schema=dict.fromkeys(base, pl.String)
    )


def events(source: str = "benefits", **columns: list[str | None]) -> pl.DataFrame:
    base: dict[str, list[str | None]] = {
        "event_id": ["E1"],
        "source_person_id": ["P1"],
        "event_date": ["2026-01-05"],
        "event_type": ["claim_new" if source == "benefits" else "payment"],
    }
    base.update(columns)
    n = max(len(v) for v in base.values())
    return pl.DataFrame(
        {k: (v * n if len(v) == 1 else v) for k, v in base.items()}, schema=dict.fromkeys(base, pl.String)
    )


KNOWN = KnownPeople(accepted=pl.Series(["P1", "P2"]), quarantined=pl.Series(["PQ"]), file_label="people.csv")


def check(frame: pl.DataFrame, source: str = "benefits", **kw: object) -> tuple[pl.DataFrame, pl.DataFrame]:
    out = check_events(frame, source=source, config=CONFIG, as_of=AS_OF, people=KNOWN, **kw)  # type: ignore[arg-type]
    assert out.rows_read == frame.height
    return out.accepted, out.quarantined


def test_valid_person_is_accepted_unaltered_in_the_canonical_schema() -> None:
    out = check_people(people(first_name=[" ann "], dob=["1980-02-29"]), source="benefits", as_of=AS_OF)
    assert out.accepted.schema == pl.Schema(PEOPLE_SCHEMA)
    row = out.accepted.row(0, named=True)
    assert row["first_name"] == " ann "
    assert row["dob"] == date(1980, 2, 29)
    assert row["source"] == "benefits"
    assert row["row_number"] == 1


def test_names_may_be_empty_but_person_id_may_not() -> None:
    out = check_people(
        people(source_person_id=["P1", "  ", None], first_name=[None], last_name=[None]),
        source="benefits",
        as_of=AS_OF,
    )
    assert out.accepted.get_column("source_person_id").to_list() == ["P1"]
    assert (
        out.quarantined.get_column("reason").to_list()
        == ["source_person_id is blank (a value is required)"] * 2
    )


@pytest.mark.parametrize("dob", ["1980-13-01", "1980-2-30", "29/02/1980", " 1980-01-01", "yesterday"])
def test_unparseable_dob_is_blanked_with_the_value_and_expected_format(dob: str) -> None:
    # Was: the whole row quarantined. A date of birth is optional (DATA_CONTRACT.md section 4).
    out = check_people(people(dob=[dob]), source="benefits", as_of=AS_OF)
    assert out.quarantined.height == 0
    assert out.accepted.get_column("dob").to_list() == [None]
    blanked = out.blanked.row(0, named=True)
    assert blanked["reason"] == "dob is not a date (expected YYYY-MM-DD)"
    assert (blanked["field"], blanked["reason_code"], blanked["value"]) == ("dob", "bad_date", dob)


def test_declared_date_format_and_iso_are_both_accepted_and_counted() -> None:
    out = check_people(
        people(
            source_person_id=["P1", "P2", "P3", "P4"],
            dob=["05/01/1980", "1980-01-05", "5/1/1980", "1980/01/05"],
        ),
        source="housing_rent",
        as_of=AS_OF,
        date_format="dd/mm/yyyy",
    )
    assert out.accepted.get_column("dob").to_list() == [date(1980, 1, 5)] * 3 + [None]
    assert out.blanked.get_column("reason").to_list() == [
        "dob is not a date (expected dd/mm/yyyy or YYYY-MM-DD)"
    ]
    assert out.date_formats == {"dob": {"YYYY-MM-DD": 1, "dd/mm/yyyy": 2, "not a date": 1}}


def test_dates_after_the_run_are_quarantined() -> None:
    acc, q = check(events(event_id=["E1", "E2"], event_date=["2026-11-22", "2026-11-23"]))
    assert acc.get_column("event_id").to_list() == ["E1"]
    assert q.get_column("reason").to_list() == [
        "event_date '2026-11-23' is after the run's date (2026-11-22)"
    ]


@pytest.mark.parametrize("column", ["event_id", "source_person_id", "event_date", "event_type"])
def test_each_required_event_value_may_not_be_blank(column: str) -> None:
    _, q = check(events(**{column: [""]}))
    assert f"{column} is blank (a value is required)" in q.get_column("reason").item()
    assert "blank_required" in q.get_column("reason_codes").item()


def test_unknown_event_type_for_the_source_is_quarantined_case_sensitively() -> None:
    acc, q = check(events(event_id=["E1", "E2", "E3"], event_type=["claim_new", "Claim_New", "summons"]))
    assert acc.height == 1
    assert q.get_column("reason").to_list() == [
        "event_type 'Claim_New' is not an event type of benefits",
        "event_type 'summons' is not an event type of benefits",
    ]


def test_role_comes_from_the_configuration() -> None:
    acc, _ = check(events("council_tax", event_type=["summons"]), source="council_tax")
    assert acc.get_column("role").to_list() == ["enforcement"]
    assert acc.schema == pl.Schema(EVENTS_SCHEMA)


def test_unknown_topic_and_channel_are_blanked_and_the_events_kept() -> None:
    # Was: both events quarantined. Topic and channel are optional (DATA_CONTRACT.md section 4).
    frame = events(
        "contact_centre",
        event_id=["E1", "E2", "E3"],
        event_type=["enquiry"],
        topic=["rent", "weather", None],
        channel=["web", "web", "pigeon"],
    )
    out = check_events(frame, source="contact_centre", config=CONFIG, as_of=AS_OF, people=KNOWN)
    assert out.quarantined.height == 0
    assert out.accepted.select("event_id", "topic", "channel").rows() == [
        ("E1", "rent", "web"),
        ("E2", None, "web"),
        ("E3", None, None),
    ]
    assert out.blanked.select("event_id", "field", "reason_code", "value").rows() == [
        ("E2", "topic", "unknown_topic", "weather"),
        ("E3", "channel", "unknown_channel", "pigeon"),
    ]
    assert out.blanked.get_column("reason")[0].startswith("topic is not a topic of contact_centre")
    assert out.blanked.get_column("reason")[1].startswith("channel is not a known channel")


@pytest.mark.parametrize("amount", ["£12", "1,200.00", "12.5.1", "1e3", "nan", "inf", " 12", "twelve"])
def test_non_numeric_amount_is_blanked_and_the_event_kept(amount: str) -> None:
    # Was: the event quarantined. An amount is optional (DATA_CONTRACT.md section 4).
    out = check_events(
        events("council_tax", amount=[amount]), source="council_tax", config=CONFIG, as_of=AS_OF, people=KNOWN
    )
    assert out.quarantined.height == 0
    assert out.accepted.get_column("amount").to_list() == [None]
    assert out.blanked.get_column("reason").item() == (
        "amount is not a number (expected plain digits such as 1234.56, without a currency sign or commas)"
    )
    assert out.blanked.get_column("value").item() == amount


def test_plain_amounts_become_floats() -> None:
    acc, _ = check(
        events("council_tax", event_id=["1", "2", "3", "4"], amount=["-12", "1234.56", ".5", None]),
        source="council_tax",
    )
    assert acc.get_column("amount").to_list() == [-12.0, 1234.56, 0.5, None]


def test_orphan_event_says_whether_the_person_is_absent_or_was_quarantined() -> None:
    _, q = check(events(event_id=["E1", "E2"], source_person_id=["P9", "PQ"]))
    assert q.get_column("reason").to_list() == [
        "source_person_id 'P9' is not in this source's people.csv file",
        "source_person_id 'PQ' is a person whose row in the people.csv file was quarantined",
    ]
    assert q.get_column("reason_codes").to_list() == ["person_not_in_people", "person_quarantined"]


def test_ids_shared_by_differing_rows_are_all_quarantined() -> None:
    acc, q = check(events(event_id=["E1", "E2", "E1"], event_date=["2026-01-01", "2026-01-01", "2026-01-02"]))
    assert acc.get_column("event_id").to_list() == ["E2"]
    assert q.get_column("row_number").to_list() == [1, 3]
    assert (
        q.get_column("reason").to_list()
        == ["event_id 'E1' is shared by 2 rows that differ (rows 1, 3); we cannot tell which is right"] * 2
    )


def test_exact_duplicate_rows_keep_the_first() -> None:
    acc, q = check(events(event_id=["E1", "E1", "E1"]))
    assert acc.get_column("row_number").to_list() == [1]
    assert q.get_column("reason").to_list() == ["exact duplicate of row 1", "exact duplicate of row 1"]


def test_an_extra_column_makes_otherwise_equal_rows_differ() -> None:
    _, q = check(events(event_id=["E1", "E1"], note=["a", "b"]))
    assert q.get_column("reason_codes").to_list() == ["conflicting_duplicate"] * 2
    assert q.get_column("note").to_list() == ["a", "b"]


def test_every_problem_in_a_row_is_listed() -> None:
    _, q = check(
        events(event_id=[""], event_date=["2026-02-30"], event_type=["nope"], source_person_id=["P9"])
    )
    assert (
        q.get_column("reason_codes").item()
        == "blank_required; bad_date; unknown_event_type; person_not_in_people"
    )


def test_quarantine_uses_the_files_own_column_names() -> None:
    frame = events("housing_rent", event_date=["31/02/2026"])
    out = check_events(
        frame,
        source="housing_rent",
        config=CONFIG,
        as_of=AS_OF,
        people=KNOWN,
        date_format="dd/mm/yyyy",
        names={"event_date": "transaction_date", "event_id": "transaction_ref"},
    )
    q = out.quarantined
    assert "transaction_date" in q.columns
    assert "event_date" not in q.columns
    assert q.get_column("reason").item() == (
        "transaction_date (event_date) '31/02/2026' is not a date (expected dd/mm/yyyy or YYYY-MM-DD)"
    )


def test_gazetteer_requires_every_column_and_unique_uprns() -> None:
    frame = pl.DataFrame(
        {
            "uprn": ["1", "1", "2", "3"],
            "address": ["a", "b", "c", "d"],
            "postcode": ["p", "p", None, "p"],
            "ward": ["w"] * 4,
            "locality": ["l"] * 4,
        }
    )
    out = check_gazetteer(frame)
    assert out.accepted.schema == pl.Schema(GAZETTEER_SCHEMA)
    assert out.accepted.get_column("uprn").to_list() == ["3"]
    assert out.quarantined.get_column("reason_codes").to_list() == [
        "conflicting_duplicate",
        "conflicting_duplicate",
        "blank_required",
    ]


def test_empty_frames_pass_through() -> None:
    out = check_people(people().clear(), source="benefits", as_of=AS_OF)
    assert out.accepted.height == 0
    assert out.quarantined.height == 0
    assert out.quarantined_by_reason() == {}
