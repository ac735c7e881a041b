"""Normalisation: the canonical frame keeps raw text, linkage compares normalised values."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from features.linkage.prep import prepare_people
from features.schema import PEOPLE_SCHEMA


def _prep(**values: object) -> dict[str, object]:
    row = dict.fromkeys(PEOPLE_SCHEMA) | {"source": "s", "source_person_id": "1"} | values
    return prepare_people(pl.DataFrame([row], schema=PEOPLE_SCHEMA)).row(0, named=True)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("sw1a1aa", "SW1A 1AA"),
        (" SW1A  1AA ", "SW1A 1AA"),
        ("e1 6an", "E1 6AN"),
        ("4223", "4223"),
        ("", None),
    ],
)
def test_postcodes_are_written_one_way(raw: str, expected: str | None) -> None:
    assert _prep(postcode=raw)["postcode_std"] == expected


def test_postcode_sector_and_district() -> None:
    row = _prep(postcode="SW1A 1AA")
    assert (row["postcode_sector"], row["postcode_district"]) == ("SW1A 1", "SW1A")
    assert _prep(postcode="4223")["postcode_sector"] is None


def test_address_abbreviations_and_flat_position_do_not_matter() -> None:
    a = _prep(address="Flat 3, 12 High St, London SW1A 1AA")
    b = _prep(address="12 HIGH STREET FLAT 3 LONDON")
    assert a["addr_tokens"] == b["addr_tokens"]
    assert a["addr_numbers"] == b["addr_numbers"] == "12 3"
    assert "sw1a" not in a["addr_tokens"]


def test_names_lose_titles_case_and_punctuation_and_nicknames_are_resolved() -> None:
    row = _prep(first_name="Mr BOB", last_name="O'Brien-Smith")
    assert row["first_name_std"] == "bob"
    assert row["first_name_canon"] == "robert"
    assert row["last_name_std"] == "obriensmith"
    assert (row["first_initial"], row["last_initial"]) == ("b", "o")


def test_identifiers_are_normalised_and_empty_values_become_null() -> None:
    row = _prep(
        phone="+44 (0)7700 900123",
        email=" Ann@Example.org ",
        ni_number="ab 12 34 56 c",
        nhs_number="943 476 5919",
        uprn="00100023",
        dob=date(1980, 3, 4),
    )
    assert row["email_std"] == "ann@example.org"
    assert row["ni_std"] == "AB123456C"
    assert row["nhs_std"] == "9434765919"
    assert row["uprn_std"] == "100023"
    assert (row["dob_y"], row["dob_m"], row["dob_d"]) == (1980, 3, 4)
    assert _prep(phone="07700 900123")["phone_std"] == "07700900123"
    blank = _prep(first_name=" ", email="not an email", phone="12")
    assert (blank["first_name_std"], blank["email_std"], blank["phone_std"]) == (None, None, None)


def test_prepared_frame_keeps_row_order_and_numbers_records_from_zero() -> None:
    rows = [dict.fromkeys(PEOPLE_SCHEMA) | {"source": "s", "source_person_id": str(i)} for i in range(5)]
    out = prepare_people(pl.DataFrame(rows, schema=PEOPLE_SCHEMA))
    assert out["unique_id"].to_list() == list(range(5))
    assert out["source_person_id"].to_list() == ["0", "1", "2", "3", "4"]


@pytest.mark.parametrize(
    "raw",
    [
        "07700 900123",
        "+44 7700 900123",
        "+44 (0)7700 900123",
        "0044 7700 900123",
        "(07700) 900-123",
        "7700900123",
    ],
)
def test_a_uk_number_written_any_way_is_one_number(raw: str) -> None:
    # "7700900123": a spreadsheet that stored the number as a number dropped its 0.
    assert _prep(phone=raw)["phone_std"] == "07700900123"


@pytest.mark.parametrize(
    ("address", "street"),
    [
        ("Flat 3, 12 High St, Kingsmere SW1A 1AA", "high street"),
        ("3/12 High Street", "high street"),
        ("12 HIGH STREET FLAT 3 KINGSMERE", "high street"),
        ("high st", "high street"),
        ("Acacia Rd, Kingsmere", "acacia road"),
        ("Rose Cottage, Mill Lane", "mill lane"),
        ("Flat 3 Rosebery House, 12 High St", "high street"),
        ("", None),
    ],
)
def test_the_street_is_the_part_of_the_address_with_the_house_number(
    address: str, street: str | None
) -> None:
    # A caller's "High St" must compare with the full address on another system.
    assert _prep(address=address)["street_std"] == street
