"""The evidence a person would use on sparse contact-centre records, as Splink levels.

A borough of the ``sparse_crm`` world (3,000 residents) is the background
the model trains on; a few hand-made people are added to it and the whole
night is resolved once. Each test checks one piece of evidence, and would
fail if that evidence broke:

- an initial, the same surname and the same mobile (written another way)
  join - the phone comparison's "exact match, names agree" level, the
  phone normalisation and the m of an agreeing initial;
- an initial, the same surname and the same street with no house number or
  postcode join - the street levels of the address comparison and the
  surname + street blocking rule;
- a first name and a personal mobile join, while a different person with
  the same first name on a hostel's landline (given by thirty residents)
  does not - the term frequencies counted per holder, which the control
  pair isolates: the two pairs differ only in how many people hold the
  number;
- a record holding only someone else's number joins nobody;
- the hostel line is counted as generic in the night's summary, never named.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from early_warning.config import load_config
from early_warning.paths import RunPaths
from early_warning.synthetic import generate_borough
from features.ingest import ingest_extracts
from features.linkage import LinkageResult, resolve_persons, write_linkage_outputs
from features.linkage.prep import phone_expr

AS_OF = date(2026, 3, 31)
HOSTEL_RESIDENTS = 30
_FIRST = [
    "Adam",
    "Bella",
    "Carl",
    "Dina",
    "Eli",
    "Fay",
    "Gus",
    "Hana",
    "Ivan",
    "Jade",
    "Kofi",
    "Lena",
    "Milo",
    "Nora",
    "Owen",
    "Pia",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
    "Umar",
    "Vera",
    "Wade",
    "Xena",
    "Yusuf",
    "Zara",
    "Alfie",
    "Bryony",
    "Cyril",
    "Delia",
]
_SURNAMES = [
    f"{a}{b}"
    for a in ("Vel", "Quar", "Thorn", "Brix", "Mald", "Sorv")
    for b in ("acott", "ington", "wick", "stone", "mere")
]


def _free_numbers(people: pl.DataFrame, count: int) -> list[str]:
    """Numbers in Ofcom's drama ranges that no generated record holds (so no collision)."""
    taken = set(people.select(phone_expr()).to_series().drop_nulls().to_list())
    mobiles = [f"07700900{n:03d}" for n in range(1000) if f"07700900{n:03d}" not in taken]
    landlines = [f"01632960{n:03d}" for n in range(1000) if f"01632960{n:03d}" not in taken]
    return [*mobiles[: count - 1], landlines[0]]


def _row(columns: list[str], source: str, key: str, **values: Any) -> dict[str, Any]:
    return dict.fromkeys(columns) | {"source": source, "source_person_id": key, **values}


def _hand_made(people: pl.DataFrame) -> pl.DataFrame:
    mobile_a, mobile_b, mobile_d, hostel = _free_numbers(people, 4)
    cols = people.columns
    rows = [
        # A: initial, surname and mobile (international form) on a CRM record
        _row(
            cols,
            "benefits",
            "A-full",
            first_name="Marisol",
            last_name="Thrandlewick",
            dob=date(1984, 6, 2),
            address="14 Quarry Lane",
            postcode="KM99 1AA",
            phone=mobile_a,
        ),
        _row(
            cols,
            "contact_centre",
            "A-crm",
            first_name="M",
            last_name="Thrandlewick",
            phone=f"+44 {mobile_a[1:5]} {mobile_a[5:]}",
        ),
        # E: initial, surname and the street alone
        _row(
            cols,
            "council_tax",
            "E-full",
            first_name="DESMOND",
            last_name="PELLINGWORTH",
            address="FLAT 2, 9 ORCHARD WALK",
            postcode="KM98 2BB",
        ),
        _row(
            cols, "contact_centre", "E-crm", first_name="D", last_name="Pellingworth", address="Orchard Walk"
        ),
        # B (control): a first name and a personal mobile
        _row(
            cols,
            "benefits",
            "B-full",
            first_name="Sarah",
            last_name="Quarnstrom",
            dob=date(1990, 1, 15),
            address="3 Mill Road",
            postcode="KM97 3CC",
            phone=mobile_b,
        ),
        _row(cols, "contact_centre", "B-crm", first_name="Sarah", phone=mobile_b),
        # C: a different Sarah on the hostel line that thirty residents give
        _row(cols, "contact_centre", "C-crm", first_name="Sarah", phone=hostel),
        # D: a bare number, which is Imelda's
        _row(
            cols,
            "benefits",
            "D-full",
            first_name="Imelda",
            last_name="Vexcombe",
            dob=date(1971, 9, 30),
            address="8 Kiln Close",
            postcode="KM96 4DD",
            phone=mobile_d,
        ),
        _row(cols, "contact_centre", "D-crm", phone=mobile_d),
    ]
    # The hostel's residents, each calling from its landline; one is "Sarah Velacott".
    for i, (first, last) in enumerate(zip(["Sarah", *_FIRST], _SURNAMES[:HOSTEL_RESIDENTS], strict=False)):
        rows.append(_row(cols, "contact_centre", f"H-{i}", first_name=first, last_name=last, phone=hostel))
    frame = pl.DataFrame(rows, schema=people.schema)
    return frame.with_columns(row_number=pl.int_range(pl.len(), dtype=pl.Int64) + 1_000_000)


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> tuple[LinkageResult, dict[str, str], str]:
    """(result, {hand-made key: person_id}, the hostel number)."""
    out: Path = tmp_path_factory.mktemp("sparse_evidence")
    generate_borough(out, residents=3_000, years=2, as_of=AS_OF, seed=5, world="sparse_crm")
    run = RunPaths(home=out / "home", as_of=AS_OF)
    ingest_extracts(out / "extracts", AS_OF, run, load_config())
    people = pl.read_parquet(run.canonical_people)
    assert not people["last_name"].str.to_lowercase().is_in(["thrandlewick", "pellingworth"]).any()
    added = _hand_made(people)
    hostel = added.filter(pl.col("source_person_id") == "C-crm")["phone"].item()
    result = resolve_persons(pl.concat([people, added]), previous=None, as_of=AS_OF)
    ids = dict(
        result.persons.filter(pl.col("source_person_id").is_in(added["source_person_id"].implode()))
        .select("source_person_id", "person_id")
        .iter_rows()
    )
    return result, ids, hostel


def _members(result: LinkageResult, person_id: str) -> set[str]:
    return set(result.persons.filter(pl.col("person_id") == person_id)["source_person_id"].to_list())


def test_an_initial_the_same_surname_and_the_same_mobile_join(
    night: tuple[LinkageResult, dict[str, str], str],
) -> None:
    _, ids, _ = night
    assert ids["A-crm"] == ids["A-full"]


def test_an_initial_the_same_surname_and_the_street_alone_join(
    night: tuple[LinkageResult, dict[str, str], str],
) -> None:
    _, ids, _ = night
    assert ids["E-crm"] == ids["E-full"]


def test_a_first_name_and_a_personal_mobile_join_but_not_on_a_hostel_line(
    night: tuple[LinkageResult, dict[str, str], str],
) -> None:
    result, ids, _ = night
    assert ids["B-crm"] == ids["B-full"]  # the control: the same names on a personal number
    assert _members(result, ids["C-crm"]) == {"C-crm"}  # not the hostel's Sarah Velacott
    hostel_people = {ids[f"H-{i}"] for i in range(HOSTEL_RESIDENTS)}
    assert len(hostel_people) == HOSTEL_RESIDENTS  # residents sharing a line stay apart


def test_a_record_holding_only_someone_elses_number_joins_nobody(
    night: tuple[LinkageResult, dict[str, str], str],
) -> None:
    result, ids, _ = night
    assert _members(result, ids["D-crm"]) == {"D-crm"}
    assert ids["D-full"] != ids["D-crm"]


def test_the_hostel_line_is_counted_as_generic_and_never_named(
    night: tuple[LinkageResult, dict[str, str], str], tmp_path: Path
) -> None:
    result, _, hostel = night
    assert result.stats["generic_phone_values"] >= 1
    assert result.stats["records_with_generic_phone"] >= HOSTEL_RESIDENTS + 1
    written = write_linkage_outputs(result, RunPaths(home=tmp_path, as_of=AS_OF))
    summary = written["linkage_summary.json"].read_text(encoding="utf-8")
    assert json.loads(summary)["stats"]["generic_phone_values"] == result.stats["generic_phone_values"]
    digits = "".join(c for c in hostel if c.isdigit())
    assert digits not in summary
    assert digits[1:] not in summary
