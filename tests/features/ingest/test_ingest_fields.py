"""Field-level quarantine: a bad optional value costs the field, never the row (DATA_CONTRACT.md section 4).

Through the whole stage on a folder: each resident with one mistyped
optional value stays in canonical people (that field null) with all their
events; the source's field-quarantine file says which row, which field, why
and what was typed; ingest_report.json counts them and never holds a value.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from ingest_helpers import CONFIG, Extract, gazetteer_table, make_table, report_json, run_ingest

from early_warning.paths import RunPaths
from features.ingest import IngestReport, check_people
from features.ingest.identifiers import (
    compact,
    email_ok,
    nhs_check_digit_ok,
    nhs_number_shape_ok,
    ni_number_ok,
    phone_digits,
    phone_ok,
    postcode_ok,
    uprn_ok,
)
from features.ingest.writing import spreadsheet_safe

AS_OF = date(2026, 11, 22)

#: A resident whose every optional identifier is good, in the shapes systems type them.
GOOD = {
    "source_person_id": "BE-GOOD",
    "first_name": "Ann",
    "last_name": "Lee",
    "dob": "1980-02-29",
    "ni_number": "ab 12 34 56 c",
    "nhs_number": "943 476 5919",
    "phone": "+44 (0)7700 900123",
    "email": " Ann.Lee@example.org ",
    "address": "12 High Street",
    "postcode": "sw1a1aa",
    "uprn": "100023336956",
    "sex": "F",
    "ethnicity": "x",
}

#: (id, field, typed value, reason code): one bad optional value per resident.
BAD = [
    ("BE-Y4949", "dob", "4949-10-13", "date_after_run"),
    ("BE-Y2038", "dob", "2038-10-04", "date_after_run"),
    ("BE-Y1850", "dob", "1850-01-01", "date_before_1900"),
    ("BE-NHS", "nhs_number", "9434765918", "nhs_check_digit"),
    ("BE-NI", "ni_number", "QQ123456C", "bad_ni_number"),
    ("BE-PC", "postcode", "NOT A CODE", "bad_postcode"),
    ("BE-PH", "phone", "12", "bad_phone"),
    ("BE-EM", "email", "no-at-sign", "bad_email"),
    ("BE-FX", "email", "=HYPERLINK(1)", "bad_email"),
]


def _people() -> list[dict[str, str | None]]:
    rows: list[dict[str, str | None]] = [dict(GOOD)]
    for person_id, field, value, _ in BAD:
        rows.append(GOOD | {"source_person_id": person_id, field: value})
    return rows


def _events(ids: list[str]) -> list[dict[str, str | None]]:
    return [
        {
            "event_id": f"E-{person_id}-{k}",
            "source_person_id": person_id,
            "event_date": f"2026-0{k + 1}-15",
            "event_type": "claim_new",
        }
        for person_id in ids
        for k in range(2)
    ]


@pytest.fixture
def ingested(tmp_path: Path) -> tuple[IngestReport, RunPaths]:
    people = _people()
    ids = [str(p["source_person_id"]) for p in people]
    extract = Extract(
        gazetteer_table(),
        {
            "benefits": {
                "people": make_table("benefits", "people", people),
                "events": make_table("benefits", "events", _events(ids)),
            }
        },
    )
    return run_ingest(tmp_path, extract)


def _fields_file(run: RunPaths, relative: str) -> list[dict[str, str]]:
    with (run.quarantine_dir / relative).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_each_resident_is_kept_with_the_bad_field_blanked_and_all_events(
    ingested: tuple[IngestReport, RunPaths],
) -> None:
    report, run = ingested
    people = pl.read_parquet(run.canonical_dir / "people.parquet")
    events = pl.read_parquet(run.canonical_dir / "events.parquet")
    assert people.height == 1 + len(BAD)
    assert events.height == 2 * (1 + len(BAD))
    by_id = {row["source_person_id"]: row for row in people.iter_rows(named=True)}
    for person_id, field, _, _ in BAD:
        assert by_id[person_id][field] is None, (person_id, field)
        others = {
            k: v for k, v in by_id[person_id].items() if k not in (field, "source_person_id", "row_number")
        }
        good = {
            k: v for k, v in by_id["BE-GOOD"].items() if k not in (field, "source_person_id", "row_number")
        }
        assert others == good, "only the bad field is blanked"
        assert events.filter(pl.col("source_person_id") == person_id).height == 2
    f = report.sources["benefits"].files["people"]
    assert (f.rows_read, f.accepted, f.quarantined) == (1 + len(BAD), 1 + len(BAD), 0)
    assert report.unbalanced_files() == []


def test_a_good_row_is_kept_exactly_as_typed(ingested: tuple[IngestReport, RunPaths]) -> None:
    _, run = ingested
    row = pl.read_parquet(run.canonical_dir / "people.parquet").row(0, named=True)
    expected = {k: v for k, v in GOOD.items() if k != "dob"} | {"dob": date(1980, 2, 29)}
    assert {k: row[k] for k in expected} == expected
    assert (row["source"], row["row_number"]) == ("benefits", 1)


def test_the_field_quarantine_file_says_which_row_which_field_why_and_what(
    ingested: tuple[IngestReport, RunPaths],
) -> None:
    _, run = ingested
    rows = _fields_file(run, "benefits/people_fields.csv")
    assert list(rows[0]) == [
        "file",
        "row_number",
        "line_number",
        "source_person_id",
        "field",
        "column",
        "reason_code",
        "reason",
        "value",
    ]
    got = [(r["source_person_id"], r["field"], r["value"], r["reason_code"]) for r in rows]
    expected = [(pid, field, value, code) for pid, field, value, code in BAD]
    expected[-1] = ("BE-FX", "email", "'=HYPERLINK(1)", "bad_email")  # made safe for a spreadsheet
    assert got == expected
    assert {r["file"] for r in rows} == {"benefits/people.csv"}
    assert [int(r["line_number"]) for r in rows] == list(range(3, 3 + len(BAD)))
    assert [int(r["row_number"]) for r in rows] == list(range(2, 2 + len(BAD)))
    reasons = {r["source_person_id"]: r["reason"] for r in rows}
    assert reasons["BE-Y4949"] == "dob is after the run's date (2026-11-22)"
    assert reasons["BE-Y1850"].startswith("dob is before 1900-01-01")
    assert reasons["BE-NHS"].startswith("nhs_number fails the NHS number's check digit")
    assert _fields_file(run, "benefits/events_fields.csv") == []


def test_the_report_counts_blanked_fields_and_holds_no_value(ingested: tuple[IngestReport, RunPaths]) -> None:
    report, run = ingested
    data = report_json(run)
    assert data["sources"]["benefits"]["files"]["people"]["fields_blanked"] == {
        "dob": {"date_after_run": 2, "date_before_1900": 1},
        "email": {"bad_email": 2},
        "nhs_number": {"nhs_check_digit": 1},
        "ni_number": {"bad_ni_number": 1},
        "phone": {"bad_phone": 1},
        "postcode": {"bad_postcode": 1},
    }
    assert data["totals"]["fields_blanked_total"] == len(BAD)
    assert data["totals"]["quarantined"] == 0
    text = run.ingest_report.read_text(encoding="utf-8")
    for _, _, value, _ in BAD:
        assert json.dumps(value) not in text, value
        assert len(value) < 5 or value not in text, value
    summary = report.summary()
    assert "benefits/people.csv: 2 dates of birth blanked (after the run date)" in summary
    assert "benefits/people.csv: 1 date of birth blanked (before 1900)" in summary
    assert "benefits/people.csv: 1 NHS number blanked (check digit fails)" in summary
    assert "benefits/people.csv: 2 email addresses blanked (not an email address)" in summary


def test_bad_event_fields_are_blanked_and_the_events_kept(tmp_path: Path) -> None:
    people = [GOOD | {"source_person_id": "CC1"}]
    events = [
        {
            "event_id": "CE1",
            "source_person_id": "CC1",
            "event_date": "2026-01-05",
            "event_type": "enquiry",
            "topic": "weather",
            "channel": "+pigeon",
        },
        {"event_id": "CE2", "source_person_id": "CC1", "event_date": "2026-01-06", "event_type": "complaint"},
    ]
    extract = Extract(
        gazetteer_table(),
        {
            "contact_centre": {
                "people": make_table("contact_centre", "people", people),
                "events": make_table("contact_centre", "events", events),
            }
        },
    )
    report, run = run_ingest(tmp_path, extract)
    canonical = pl.read_parquet(run.canonical_dir / "events.parquet")
    assert canonical.select("event_id", "topic", "channel").rows() == [
        ("CE1", None, None),
        ("CE2", None, None),
    ]
    rows = _fields_file(run, "contact_centre/events_fields.csv")
    assert [(r["event_id"], r["source_person_id"], r["field"], r["value"]) for r in rows] == [
        ("CE1", "CC1", "topic", "weather"),
        ("CE1", "CC1", "channel", "'+pigeon"),
    ]
    assert report.sources["contact_centre"].files["events"].fields_blanked == {
        "channel": {"unknown_channel": 1},
        "topic": {"unknown_topic": 1},
    }


def test_mapped_and_parquet_sources_name_the_files_column_and_row(tmp_path: Path) -> None:
    people = [
        {"source_person_id": "T1", "first_name": "A", "last_name": "B", "dob": "13/10/4949"},
        {"source_person_id": "T2", "first_name": "C", "last_name": "D", "dob": "04/10/1975"},
    ]
    people_table = make_table("housing_rent", "people", people)
    people_table.fmt = "parquet"
    extract = Extract(
        gazetteer_table(),
        {"housing_rent": {"people": people_table, "events": make_table("housing_rent", "events", [])}},
    )
    report, run = run_ingest(tmp_path, extract)
    (row,) = _fields_file(run, "housing_rent/people_fields.csv")
    assert (row["file"], row["row_number"], row["line_number"]) == ("housing_rent/people.parquet", "1", "")
    assert (row["source_person_id"], row["field"], row["column"]) == ("T1", "dob", "date_of_birth")
    assert row["reason"] == "date_of_birth (dob) is after the run's date (2026-11-22)"
    assert "housing_rent/people.parquet: 1 date of birth blanked (after the run date)" in report.summary()
    dobs = pl.read_parquet(run.canonical_dir / "people.parquet").get_column("dob").to_list()
    assert dobs == [None, date(1975, 10, 4)]


def test_a_quarantined_row_keeps_its_values_and_is_not_listed_as_blanked() -> None:
    frame = pl.DataFrame(
        {
            "source_person_id": ["P1", "P1"],
            "first_name": ["A", "B"],
            "last_name": ["L", "L"],
            "phone": ["12", "1"],
        }
    )
    out = check_people(frame, source="benefits", as_of=AS_OF)
    assert out.accepted.height == 0
    assert out.quarantined.get_column("phone").to_list() == ["12", "1"]
    assert out.blanked.height == 0


def test_blank_and_whitespace_optional_values_are_not_reported() -> None:
    frame = pl.DataFrame(
        {
            "source_person_id": ["P1"],
            "first_name": ["A"],
            "last_name": ["L"],
            "phone": ["  "],
            "email": [None],
        },
        schema_overrides={"email": pl.String},
    )
    out = check_people(frame, source="benefits", as_of=AS_OF)
    assert out.blanked.height == 0
    assert out.accepted.get_column("phone").to_list() == ["  "]


#: How each check reads its column: codes in compact form, phones as digits, the rest as typed.
FORM = {
    "ni_number": compact,
    "postcode": compact,
    "nhs_number": compact,
    "phone": phone_digits,
    "email": pl.col,
    "uprn": pl.col,
}


def _ok(check: object, column: str, values: list[str]) -> list[bool]:
    frame = pl.DataFrame({column: values}, schema={column: pl.String})
    return frame.select(check(FORM[column](column)).alias("ok")).get_column("ok").to_list()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("check", "column", "good", "bad"),
    [
        (
            ni_number_ok,
            "ni_number",
            ["AB123456C", "ab 12 34 56 c", "AB-12-34-56-D", "AB123456", "OA123456A", "YY102097C"],
            ["QQ123456C", "TN010283M", "AO123456A", "GB123456A", "AB12345C", "AB123456E", "123456789", "A"],
        ),
        (
            postcode_ok,
            "postcode",
            ["SW1A 1AA", "sw1a1aa", " M1 1AE ", "B33 8TH", "CR2 6XH", "DN55 1PT", "GIR 0AA", "KM15 2SA"],
            ["NOT A CODE", "SW1A", "SW1A 1A", "1AA SW1", "SW1A 1AAA", "SW1A 1A1"],
        ),
        (
            phone_ok,
            "phone",
            [
                "01632 960123",
                "01632960123",
                "+44 7700 900123",
                "+447700900123",
                "+44 (0)20 7946 0000",
                "0044 7700 900123",
                "447700900123",
                "(0161) 496 0000",
                "020-7946-0000",
                "0800 123 456",
                "+48 123 456 789",
                "00 353 1 234 5678",
            ],
            ["12", "+44 12", "07700 900123 ext 4", "mobile", "7700900123", "00000000000", "+0 123 4567", "0"],
        ),
        (
            email_ok,
            "email",
            ["a@example.org", " Ann.Lee@Example.ORG ", "a+b@mail.example", "x_y@sub.domain.co.uk"],
            ["no-at-sign", "a@b", "a@@b.com", "@b.com", "a b@x.com", "a@x..com", "a@.x.com", "a@x.com."],
        ),
        (uprn_ok, "uprn", ["100023336956", "1", "000012345678"], ["1234567890123", "1.0e11", "12a", "UPRN1"]),
    ],
)
def test_what_counts_as_malformed(check: object, column: str, good: list[str], bad: list[str]) -> None:
    assert _ok(check, column, good) == [True] * len(good), good
    assert _ok(check, column, bad) == [False] * len(bad), bad


def _nhs_valid(number: str) -> bool:
    """The NHS Data Dictionary's modulus-11 algorithm, written out step by step."""
    digits = [int(ch) for ch in number]
    total = sum(d * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == digits[9]


@pytest.mark.parametrize("number", ["9434765919", "4010232137", "9434765918", "1234567890", "0000000000"])
def test_nhs_check_digit_matches_the_published_algorithm(number: str) -> None:
    frame = pl.DataFrame({"nhs_number": [number, " ".join([number[:3], number[3:6], number[6:]])]})
    code = compact("nhs_number")
    got = frame.select(nhs_number_shape_ok(code) & nhs_check_digit_ok(code)).to_series().to_list()
    assert got == [_nhs_valid(number)] * 2


def test_spreadsheet_safe_prefixes_formula_starts_only() -> None:
    frame = pl.DataFrame({"v": ["=1+1", "+44", "-3", "@SUM(A1)", "\tx", "a=b", None, "'x"], "n": [1] * 8})
    assert spreadsheet_safe(frame).get_column("v").to_list() == [
        "'=1+1",
        "'+44",
        "'-3",
        "'@SUM(A1)",
        "'\tx",
        "a=b",
        None,
        "'x",
    ]


def test_vocabulary_config_is_the_one_the_tests_assume() -> None:
    assert "weather" not in CONFIG.sources["contact_centre"].topics
    assert "claim_new" in CONFIG.sources["benefits"].events.signal
