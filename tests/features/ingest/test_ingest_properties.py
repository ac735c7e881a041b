"""Property tests: build a valid extract folder, corrupt it in many ways, check nothing is lost or guessed.

For every file read: rows read = accepted + quarantined = the rows written;
each row with a bad required value is quarantined with the right reason code;
a row with a bad optional value is accepted with that field null and listed,
with its reason and original value, in the source's field-quarantine file;
an untouched row is accepted exactly as written (or, for an event,
quarantined only because its person was); a whole-file problem skips just
that source, with a message naming the file.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_helpers import (
    CONFIG,
    PY_FORMATS,
    Extract,
    Table,
    event_records,
    file_columns,
    fmt_date,
    gazetteer_table,
    make_table,
    run_ingest,
)

from features.ingest import FileReport
from features.ingest.csv_text import read_csv_table

SOURCES = ("benefits", "housing_rent", "contact_centre")
TEXT = st.text(alphabet="abAé ,'\"\n\r-", max_size=6)
CASCADE = {"person_not_in_people", "person_quarantined"}
ROW_FAULTS = {
    "people": ["blank_id", "conflict", "exact"],
    "events": [
        "blank_id",
        "blank_person",
        "blank_date",
        "blank_type",
        "bad_date",
        "future_date",
        "unknown_type",
        "orphan",
        "conflict",
        "exact",
    ],
    "gazetteer": ["blank_id", "blank_ward", "conflict", "exact"],
}
#: Bad optional values: (column, value, expected reason code); the row is kept, the field blanked.
#: A trailing ``{text}`` gets random text (quotes, commas, line breaks) that keeps the value bad.
FIELD_FAULTS: dict[str, dict[str, tuple[str, str, str]]] = {
    "people": {
        "future_dob": ("dob", "date:4949-10-13", "date_after_run"),
        "next_year_dob": ("dob", "date:2038-10-04", "date_after_run"),
        "old_dob": ("dob", "date:1850-01-01", "date_before_1900"),
        "bad_dob": ("dob", "1980-02-30", "bad_date"),
        "bad_nhs": ("nhs_number", "9434765918", "nhs_check_digit"),
        "short_nhs": ("nhs_number", "12345{text}", "bad_nhs_number"),
        "bad_ni": ("ni_number", "QQ123456C", "bad_ni_number"),
        "bad_postcode": ("postcode", "NOT A CODE{text}", "bad_postcode"),
        "bad_phone": ("phone", "12{text}", "bad_phone"),
        "bad_email": ("email", "no-at-sign{text}", "bad_email"),
        "bad_uprn": ("uprn", "U{text}", "bad_uprn"),
    },
    "events": {
        "bad_amount": ("amount", "£12{text}", "bad_amount"),
        "unknown_channel": ("channel", "pigeon{text}", "unknown_channel"),
        "unknown_topic": ("topic", "weather{text}", "unknown_topic"),
    },
    "gazetteer": {},
}
LINE_FAULTS = ["short", "long", "stray_quote", "not_utf8", "blank_after"]
FILE_FAULTS = ["drop_required", "empty", "delete", "utf16", "binary", "both_names"]
EXPECTED_CODE = {
    "blank_id": "blank_required",
    "blank_person": "blank_required",
    "blank_date": "blank_required",
    "blank_type": "blank_required",
    "blank_ward": "blank_required",
    "bad_date": "bad_date",
    "future_date": "date_after_run",
    "unknown_type": "unknown_event_type",
    "orphan": "person_not_in_people",
    "conflict": "conflicting_duplicate",
    "exact": "exact_duplicate",
    "short": "wrong_field_count",
    "long": "wrong_field_count",
    "stray_quote": "bad_quoting",
    "not_utf8": "not_utf8",
}
FILE_MESSAGE = {
    "drop_required": "missing required column",
    "empty": "is empty",
    "delete": "not found",
    "utf16": "UTF-16",
    "binary": "NUL bytes",
    "both_names": "has both",
    "parquet_garbage": "not a readable Parquet",
}


@dataclass
class Plan:
    """The extract as written and what the oracle expects of it."""

    extract: Extract
    #: (source or "", kind) -> {row index -> expected reason code, or None for "anything goes"}
    corrupted: dict[tuple[str, str], dict[int, str | None]] = field(default_factory=dict)
    #: (source, kind) -> {row index -> (contract column, reason code)} for bad optional values
    blanked: dict[tuple[str, str], dict[int, tuple[str, str]]] = field(default_factory=dict)
    refused: dict[tuple[str, str], str] = field(default_factory=dict)

    def table(self, key: tuple[str, str]) -> Table:
        return self.extract.gazetteer if key[0] == "" else self.extract.sources[key[0]][key[1]]


def contract(key: tuple[str, str], column: str) -> str:
    return column if key[0] == "" else file_columns(key[0], key[1])[column]


@st.composite
def plans(draw: st.DrawFn, max_faults: int = 6) -> Plan:
    chosen = draw(st.lists(st.sampled_from(SOURCES), min_size=1, max_size=3, unique=True))
    sources: dict[str, dict[str, Table]] = {}
    for name in chosen:
        n = draw(st.integers(1, 4))
        names = draw(st.lists(st.tuples(TEXT, TEXT), min_size=n, max_size=n))
        people = [
            {
                "source_person_id": f"{name[:2].upper()}{i}",
                "first_name": first,
                "last_name": last,
                "dob": fmt_date(name, date(1960 + i, 1 + i, 1 + i)) if i % 2 else None,
                "address": draw(TEXT) or None,
                "postcode": "AB1 2CD",
            }
            for i, (first, last) in enumerate(names)
        ]
        ids = [str(p["source_person_id"]) for p in people]
        sources[name] = {
            "people": make_table(name, "people", people),
            "events": make_table(name, "events", event_records(name, ids, draw(st.integers(0, 6)))),
        }
        for kind in ("people", "events"):
            if draw(st.integers(0, 5)) == 0:
                sources[name][kind].fmt = "parquet"
    plan = Plan(Extract(gazetteer_table(draw(st.integers(1, 3))), sources))
    keys = [("", "gazetteer")] + [(s, k) for s in chosen for k in ("people", "events")]
    touched: dict[tuple[str, str], set[int]] = {k: set() for k in keys}
    for _ in range(draw(st.integers(0, max_faults))):
        key = draw(st.sampled_from(keys))
        table = plan.table(key)
        if key in plan.refused:
            continue
        free = [i for i in range(len(table.rows)) if i not in touched[key]]
        family = draw(st.sampled_from(["row", "row", "field", "field", "line", "file"]))
        if family == "file":
            apply_file_fault(plan, key, draw(st.sampled_from(FILE_FAULTS)))
        elif free and family == "row":
            apply_row_fault(
                plan,
                key,
                draw(st.sampled_from(ROW_FAULTS[key[1]])),
                draw(st.sampled_from(free)),
                free,
                touched[key],
                draw(TEXT),
            )
        elif free and family == "field" and FIELD_FAULTS[key[1]]:
            fault = draw(st.sampled_from(sorted(FIELD_FAULTS[key[1]])))
            apply_field_fault(plan, key, fault, draw(st.sampled_from(free)), touched[key], draw(TEXT))
        elif free and family == "line" and table.fmt == "csv":
            plain = [
                i for i in free if not any(v and ("\n" in v or "\r" in v or '"' in v) for v in table.rows[i])
            ]
            if plain:
                apply_line_fault(
                    plan, key, draw(st.sampled_from(LINE_FAULTS)), draw(st.sampled_from(plain)), touched[key]
                )
    return plan


def apply_row_fault(
    plan: Plan, key: tuple[str, str], fault: str, i: int, free: list[int], touched: set[int], text: str
) -> None:
    table = plan.table(key)
    row = table.rows[i]
    source = key[0]
    marks = plan.corrupted.setdefault(key, {})
    id_column = {"people": "source_person_id", "events": "event_id", "gazetteer": "uprn"}[key[1]]

    def put(column: str, value: str | None) -> bool:
        if contract(key, column) not in table.header:
            return False
        row[table.header.index(contract(key, column))] = value
        return True

    later = fmt_date(source, date(2027, 1, 1)) if source else ""
    changes: dict[str, tuple[str, str | None]] = {
        "blank_id": (id_column, " " if text == " " else None),
        "blank_person": ("source_person_id", None),
        "blank_date": ("event_date", None),
        "blank_type": ("event_type", "   "),
        "blank_ward": ("ward", ""),
        "bad_dob": ("dob", "1980-02-30"),
        "bad_date": ("event_date", "31/31/2025" if text else "2025-1-1"),
        "future_dob": ("dob", later),
        "future_date": ("event_date", later),
        "unknown_type": ("event_type", "Payment " + text),
        "orphan": ("source_person_id", "NOBODY"),
        "bad_amount": ("amount", "£12"),
        "unknown_channel": ("channel", "pigeon"),
        "unknown_topic": ("topic", "weather"),
    }
    if fault in changes:
        column, value = changes[fault]
        if not put(column, value):
            return
    elif fault == "exact":
        table.rows.append(list(row))
        marks[len(table.rows) - 1] = "exact_duplicate"
        touched.update({i, len(table.rows) - 1})
        return
    elif fault == "conflict":
        others = [j for j in free if j != i]
        if not others:
            return
        j = others[0]
        table.rows[j][table.header.index(contract(key, id_column))] = row[
            table.header.index(contract(key, id_column))
        ]
        touched.update({i, j})
        if table.rows[j] == row:  # nothing else differs: the later one is an exact repeat
            marks[max(i, j)] = "exact_duplicate"
            return
        marks[j] = "conflicting_duplicate"
    marks[i] = EXPECTED_CODE[fault]
    touched.add(i)


def apply_field_fault(
    plan: Plan, key: tuple[str, str], fault: str, i: int, touched: set[int], text: str
) -> None:
    table = plan.table(key)
    column, value, code = FIELD_FAULTS[key[1]][fault]
    name = contract(key, column)
    if name not in table.header:
        return
    if value.startswith("date:"):
        value = fmt_date(key[0], date.fromisoformat(value.removeprefix("date:")))
    table.rows[i][table.header.index(name)] = value.replace("{text}", text)
    plan.blanked.setdefault(key, {})[i] = (column, code)
    touched.add(i)


def apply_line_fault(plan: Plan, key: tuple[str, str], fault: str, i: int, touched: set[int]) -> None:
    table = plan.table(key)
    line = table.line(i)
    if fault == "blank_after":
        table.raw[i] = line + b"\n"
        return  # not a fault in the row: a blank line is not a row
    table.raw[i] = {
        "short": line.rsplit(b",", 1)[0],
        "long": line + b",extra",
        "stray_quote": line[:1] + b'"' + line[1:],
        "not_utf8": line[:1] + b"\xff" + line[1:],
    }[fault]
    plan.corrupted.setdefault(key, {})[i] = EXPECTED_CODE[fault]
    touched.add(i)


def apply_file_fault(plan: Plan, key: tuple[str, str], fault: str) -> None:
    table = plan.table(key)
    if fault == "both_names":
        renamed = [c for c, f in (file_columns(*key).items() if key[0] else []) if c != f]
        if not renamed:
            return
        table.header.append(renamed[0])
        for row in table.rows:
            row.append("x")
    elif fault == "drop_required":
        k = 0 if key[1] != "gazetteer" else 4
        del table.header[k]
        for row in table.rows:
            del row[k]
        table.raw.clear()
    elif table.fmt == "parquet" and fault in ("empty", "utf16", "binary"):
        fault = "parquet_garbage"
    plan.refused.setdefault(key, fault)


def write(plan: Plan, root: Path) -> None:
    plan.extract.write(root)
    for key, fault in plan.refused.items():
        table = plan.table(key)
        folder = root / key[0] if key[0] else root
        path = folder / ("gazetteer" if not key[0] else key[1])
        path = path.with_suffix(".parquet" if table.fmt == "parquet" else ".csv")
        if fault == "delete":
            path.unlink()
        elif fault in ("empty", "parquet_garbage"):
            path.write_bytes(b"")
        elif fault == "utf16":
            path.write_bytes(path.read_bytes().decode("utf-8", errors="replace").encode("utf-16"))
        elif fault == "binary":
            path.write_bytes(b"PK\x03\x04\x00\x00" + path.read_bytes())


def row_numbers(table: Table) -> list[int]:
    """Each written row's row_number: its first line's number minus one (Parquet: its position)."""
    if table.fmt == "parquet":
        return list(range(1, len(table.rows) + 1))
    out, line = [], 2
    for i in range(len(table.rows)):
        out.append(line - 1)
        line += table.line(i).count(b"\n") + 1
    return out


def not_utf8_refusal(table: Table) -> bool:
    if table.fmt != "csv":
        return False
    lines = table.render().split(b"\n")[1:-1]
    data = [ln for ln in lines if ln not in (b"", b"\r")]
    bad = 0
    for ln in data:
        try:
            ln.decode("utf-8")
        except UnicodeDecodeError:
            bad += 1
    return bad * 2 > len(data) > 0 and bad > 0


def expected_text(value: str | None) -> str | None:
    return None if value in (None, "") else value


def check_accepted_row(
    key: tuple[str, str], table: Table, i: int, got: dict[str, object], blanked: str | None = None
) -> None:
    source, kind = key
    for column, file_name in file_columns(source, kind).items() if source else ((c, c) for c in table.header):
        if file_name not in table.header or column == blanked:
            assert got[column] is None, (column, got[column])
            continue
        value = expected_text(table.rows[i][table.header.index(file_name)])
        if column in ("dob", "event_date") and value is not None:
            pattern = PY_FORMATS[
                "yyyy-mm-dd" if value[4:5] == "-" else CONFIG.mapping_for(source).date_format
            ]
            assert got[column] == datetime.strptime(value, pattern).date()
        elif column == "amount" and value is not None:
            assert got[column] == float(value)
        else:
            assert got[column] == value, (column, got[column], value)


@settings(
    max_examples=70, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(plan=plans())
def test_nothing_is_lost_and_nothing_is_guessed(plan: Plan) -> None:
    root = Path(tempfile.mkdtemp(prefix="ingest-prop-"))
    try:
        write(plan, root / "extracts")
        report, run = run_ingest(root)
        assert report.unbalanced_files() == []
        refused = dict(plan.refused)
        for key in [("", "gazetteer")] + [(s, k) for s in plan.extract.sources for k in ("people", "events")]:
            if key not in refused and not_utf8_refusal(plan.table(key)):
                refused[key] = "not_utf8_file"
        people = pl.read_parquet(run.canonical_dir / "people.parquet")
        events = pl.read_parquet(run.canonical_dir / "events.parquet")
        gazetteer = pl.read_parquet(run.canonical_dir / "gazetteer.parquet")
        for source in plan.extract.sources:
            status = report.sources[source]
            source_refusals = {k: v for k, v in refused.items() if k[0] == source}
            if source_refusals:
                assert status.status == "skipped"
                for (_, kind), fault in source_refusals.items():
                    assert f"{source}/{kind}." in (status.message or "")
                    assert FILE_MESSAGE.get(fault, "not UTF-8") in (status.message or "")
                continue
            assert status.status == "ingested", status.message
            accepted_people = set(people.filter(pl.col("source") == source).get_column("source_person_id"))
            for kind, frame in (("people", people), ("events", events)):
                check_file(
                    plan,
                    (source, kind),
                    frame.filter(pl.col("source") == source),
                    run.quarantine_dir / source / f"{kind}.csv",
                    report.sources[source].files[kind],
                    accepted_people,
                )
                check_blanked(
                    plan,
                    (source, kind),
                    frame.filter(pl.col("source") == source),
                    run.quarantine_dir / source / f"{kind}_fields.csv",
                    report.sources[source].files[kind],
                )
        if ("", "gazetteer") in refused:
            assert report.gazetteer.skipped
            assert gazetteer.height == 0
        else:
            check_file(
                plan,
                ("", "gazetteer"),
                gazetteer,
                run.quarantine_dir / "gazetteer.csv",
                report.gazetteer,
                set(),
            )
        for name, src in report.sources.items():
            if name not in plan.extract.sources:
                assert src.status == "missing"
    finally:
        shutil.rmtree(root)


def check_file(
    plan: Plan,
    key: tuple[str, str],
    accepted: pl.DataFrame,
    quarantine_path: Path,
    file_report: object,
    accepted_people: set[str],
) -> None:
    table = plan.table(key)
    numbers = row_numbers(table)
    q = pl.read_csv(quarantine_path, infer_schema=False, schema_overrides={"row_number": pl.Int64})
    got_accepted = accepted.get_column("row_number").to_list()
    got_quarantined = q.get_column("row_number").to_list()
    assert sorted(got_accepted + got_quarantined) == numbers, (
        "every written row is accepted or quarantined, once"
    )
    assert file_report.rows_read == len(numbers)
    by_number = {n: i for i, n in enumerate(numbers)}
    reasons = {r["row_number"]: r for r in q.iter_rows(named=True)}
    marks = plan.corrupted.get(key, {})
    for i, code in marks.items():
        assert numbers[i] in reasons, f"corrupted row {i} ({code}) was accepted"
        assert code is None or code in reasons[numbers[i]]["reason_codes"].split("; "), (
            code,
            reasons[numbers[i]],
        )
        assert reasons[numbers[i]]["reason"]
    for number, row in reasons.items():
        if by_number[number] in marks:
            continue
        codes = set(row["reason_codes"].split("; "))
        assert key[1] == "events", f"untouched row quarantined: {row}"
        assert codes <= CASCADE, f"untouched event quarantined for its own sake: {row}"
        assert row[contract(key, "source_person_id")] not in accepted_people or "person_quarantined" in codes
    blanked = plan.blanked.get(key, {})
    for got in accepted.iter_rows(named=True):
        i = by_number[got["row_number"]]
        check_accepted_row(key, table, i, got, blanked[i][0] if i in blanked else None)
        if key[1] == "events":
            assert got["source_person_id"] in accepted_people, "an accepted event's person must be accepted"


def spreadsheet_text(value: str) -> str:
    """How a field-quarantine file shows a value: a formula start is escaped with a quote."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def check_blanked(
    plan: Plan, key: tuple[str, str], accepted: pl.DataFrame, path: Path, file_report: FileReport
) -> None:
    """Each bad optional value of an accepted row is listed once, with its reason and value; nothing else is."""
    table = plan.table(key)
    numbers = row_numbers(table)
    id_column = "source_person_id" if key[1] == "people" else "event_id"
    kept = set(accepted.get_column("row_number").to_list())
    expected = {
        (numbers[i], table.rows[i][table.header.index(contract(key, id_column))], column, code)
        for i, (column, code) in plan.blanked.get(key, {}).items()
        if numbers[i] in kept  # an event whose person was quarantined goes with them
    }
    listed = pl.read_csv(path, infer_schema=False)
    got = {
        (int(r["row_number"]), r[id_column], r["field"], r["reason_code"])
        for r in listed.iter_rows(named=True)
    }
    assert got == expected
    assert listed.height == len(expected)
    for r in listed.iter_rows(named=True):
        i = numbers.index(int(r["row_number"]))
        raw = table.rows[i][table.header.index(contract(key, r["field"]))]
        assert r["value"] == spreadsheet_text(str(raw)), "the original value is kept for the data officer"
        assert r["file"] == f"{key[0]}/{key[1]}.{table.fmt}"
        assert r["column"] == contract(key, r["field"])
    counts: dict[str, dict[str, int]] = {}
    for (column, code), n in Counter((column, code) for _, _, column, code in expected).items():
        counts.setdefault(column, {})[code] = n
    assert file_report.fields_blanked == counts


@settings(max_examples=150, deadline=None)
@given(
    header=st.lists(st.text(alphabet="abc", min_size=1, max_size=3), min_size=1, max_size=4, unique=True),
    lines=st.lists(
        st.lists(st.tuples(st.one_of(TEXT, st.just('x"y')), st.booleans()), max_size=5), max_size=8
    ),
    blank_lines=st.lists(st.integers(0, 8), max_size=2),
)
def test_fast_and_careful_readers_agree_row_for_row(
    header: list[str], lines: list[list[tuple[str, bool]]], blank_lines: list[int]
) -> None:
    """The careful reader is the reference; the fast path must give the same rows and set-asides.

    Each field is written either quoted properly or raw (so quotes, commas and
    line breaks inside it make ragged or badly quoted lines).
    """
    rendered = [",".join(header)] + [
        ",".join('"' + f.replace('"', '""') + '"' if quoted else f for f, quoted in fields)
        for fields in lines
    ]
    for at in blank_lines:
        rendered.insert(min(at + 1, len(rendered)), "")
    data = ("\n".join(rendered) + "\n").encode()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.csv"
        path.write_bytes(data)
        fast = read_csv_table(path)
        careful = read_csv_table(path, force_careful=True)
    assert fast.rows.rows() == careful.rows.rows()
    assert fast.malformed.rows() == careful.malformed.rows()
    assert fast.blank_lines == careful.blank_lines
    assert fast.rows_read + fast.blank_lines <= data.count(b"\n") - 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_clean_extract_is_accepted_exactly(data: st.DataObject) -> None:
    plan = data.draw(plans(max_faults=0))
    root = Path(tempfile.mkdtemp(prefix="ingest-clean-"))
    try:
        write(plan, root / "extracts")
        report, _ = run_ingest(root)
        assert report.totals()["quarantined"] == 0
        assert report.totals()["rows_read"] == len(plan.extract.gazetteer.rows) + sum(
            len(t.rows) for s in plan.extract.sources.values() for t in s.values()
        )
    finally:
        shutil.rmtree(root)


# --- Optional fields on the pure core: random corruption against a reference written out in Python ---

AS_OF_DATE = date(2026, 11, 22)
DIGITS = "0123456789"
NI_FIRST = "ABCEGHJKLMNOPRSTWXYZ"  # HMRC: never D, F, I, Q, U or V
NI_SECOND = "ABCEGHJKLMNPRSTWXYZ"  # ... and the second letter never O
NI_UNUSED = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def days_in_month(year: int, month: int) -> int:
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]


def ref_dob(value: str) -> str | None:
    """Reason code for an ISO date of birth, or None when it is kept."""
    parts = value.split("-")
    shaped = (
        len(value) == 10
        and [len(p) for p in parts] == [4, 2, 2]
        and all(set(p) <= set(DIGITS) for p in parts)
    )
    if not shaped:
        return "bad_date"
    year, month, day = (int(p) for p in parts)
    if not (1 <= month <= 12 and 1 <= day <= days_in_month(year, month)):
        return "bad_date"
    if (year, month, day) > (AS_OF_DATE.year, AS_OF_DATE.month, AS_OF_DATE.day):
        return "date_after_run"
    return "date_before_1900" if year < 1900 else None


def squeeze(value: str) -> str:
    return value.replace(" ", "").replace("-", "").upper()


def ref_ni(value: str) -> str | None:
    s = squeeze(value)
    ok = (
        len(s) in (8, 9)
        and s[0] in NI_FIRST
        and s[1] in NI_SECOND
        and s[:2] not in NI_UNUSED
        and set(s[2:8]) <= set(DIGITS)
        and (len(s) == 8 or s[8] in "ABCD")
    )
    return None if ok else "bad_ni_number"


def ref_nhs(value: str) -> str | None:
    s = squeeze(value)
    if len(s) != 10 or not set(s) <= set(DIGITS):
        return "bad_nhs_number"
    return None if _nhs_check(s[:9]) == s[9] else "nhs_check_digit"


def _nhs_check(nine: str) -> str:
    """The check digit for nine digits ("X" when none exists), as the NHS Data Dictionary sets it out."""
    remainder = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True)) % 11
    check = 11 - remainder
    return "0" if check == 11 else "X" if check == 10 else str(check)


def ref_postcode(value: str) -> str | None:
    s = squeeze(value)
    kinds = "".join("9" if ch in DIGITS else "A" if "A" <= ch <= "Z" else "?" for ch in s)
    outward, inward = kinds[:-3], kinds[-3:]
    ok = s == "GIR0AA" or (inward == "9AA" and outward in {"A9", "A99", "AA9", "AA99", "A9A", "AA9A"})
    return None if ok else "bad_postcode"


def ref_phone(value: str) -> str | None:
    s = "".join(ch for ch in value if ch not in " -./")
    trunk = s.find("(0)")
    head = s[:trunk]
    country = head[1:] if head.startswith("+") else head[2:] if head.startswith("00") else ""
    if trunk > 0 and 1 <= len(country) <= 3 and set(country) <= set(DIGITS):
        s = head + s[trunk + 3 :]
    s = s.replace("(", "").replace(")", "")
    international = s.startswith(("+", "00"))
    body = s[1:] if s.startswith("+") else s[2:] if s.startswith("00") else s
    if not body or not set(body) <= set(DIGITS):
        return "bad_phone"
    if body.startswith("44"):
        rest = body[2:]
        ok = 9 <= len(rest) <= 10 and rest[0] != "0"
    elif international:
        ok = body[0] != "0" and 7 <= len(body) <= 15
    else:
        ok = body[0] == "0" and 10 <= len(body) <= 11 and body[1] != "0"
    return None if ok else "bad_phone"


def ref_email(value: str) -> str | None:
    s = value.strip(" ")
    if s.count("@") != 1 or " " in s:
        return "bad_email"
    local, domain = s.split("@")
    parts = domain.split(".")
    return None if local and len(parts) >= 2 and all(parts) else "bad_email"


def ref_uprn(value: str) -> str | None:
    s = value.strip(" ")
    return None if 1 <= len(s) <= 12 and set(s) <= set(DIGITS) else "bad_uprn"


REFERENCE = {
    "dob": ref_dob,
    "ni_number": ref_ni,
    "nhs_number": ref_nhs,
    "phone": ref_phone,
    "email": ref_email,
    "postcode": ref_postcode,
    "uprn": ref_uprn,
}


def spaced(draw: st.DrawFn, text: str) -> str:
    """The same value as people type it: random case and random spaces between characters."""
    out = "".join(ch + (" " if draw(st.integers(0, 4)) == 0 else "") for ch in text)
    return out.lower() if draw(st.booleans()) else out


@st.composite
def good_values(draw: st.DrawFn, column: str) -> str:
    """A well-formed value in one of the shapes systems hold it."""
    digits = st.text(alphabet=DIGITS, min_size=1, max_size=1)
    if column == "dob":
        return draw(st.dates(date(1900, 1, 1), AS_OF_DATE)).isoformat()
    if column == "ni_number":
        prefix = draw(st.sampled_from([a + b for a in NI_FIRST for b in NI_SECOND if a + b not in NI_UNUSED]))
        suffix = draw(st.sampled_from(["A", "B", "C", "D", ""]))
        return spaced(draw, prefix + "".join(draw(digits) for _ in range(6)) + suffix)
    if column == "nhs_number":
        nine = "".join(draw(digits) for _ in range(9))
        if _nhs_check(nine) == "X":
            nine = "943476591"
        number = nine + _nhs_check(nine)
        return draw(
            st.sampled_from(
                [
                    number,
                    f"{number[:3]} {number[3:6]} {number[6:]}",
                    f"{number[:3]}-{number[3:6]}-{number[6:]}",
                ]
            )
        )
    if column == "phone":
        rest = str(draw(st.integers(1, 9))) + "".join(draw(digits) for _ in range(draw(st.integers(8, 9))))
        return draw(
            st.sampled_from(
                [
                    "0" + rest,
                    f"0{rest[:4]} {rest[4:]}",
                    "+44" + rest,
                    f"+44 {rest[:4]} {rest[4:]}",
                    f"+44 (0){rest[:4]} {rest[4:]}",
                    f"0044 {rest}",
                    f"+353 {rest}",
                ]
            )
        )
    if column == "email":
        word = st.text(alphabet="abcxyz019_", min_size=1, max_size=6)
        return f"{draw(word)}.{draw(word)}@{draw(word)}.{draw(st.sampled_from(['org', 'co.uk', 'example']))}"
    if column == "postcode":
        outward = draw(st.sampled_from(["A9", "A99", "AA9", "AA99", "A9A", "AA9A"]))
        shape = outward + " 9AA"
        return spaced(
            draw,
            "".join(
                draw(st.sampled_from("SWKM") if ch == "A" else digits) if ch != " " else " " for ch in shape
            ),
        )
    assert column == "uprn"
    return "".join(draw(digits) for _ in range(draw(st.integers(1, 12))))


#: Random text built from the characters that matter to each field's rule.
NOISE = {
    "dob": "0123456789-19",
    "ni_number": "ABDOQTNZ0123456789 -",
    "nhs_number": "0123456789 -x",
    "phone": "0123456789+ -x4",
    "email": "ab@. x",
    "postcode": "ASWGIR0123456789 -",
    "uprn": "0123456789 .a",
}


@st.composite
def optional_values(draw: st.DrawFn, column: str) -> str | None:
    kind = draw(st.sampled_from(["missing", "good", "good", "noise", "slip"]))
    if kind == "missing":
        return None
    if kind == "noise":
        return draw(st.text(alphabet=NOISE[column], max_size=14))
    good = draw(good_values(column))
    if kind == "good":
        assert REFERENCE[column](good) is None, (column, good)  # the reference agrees with the generator
        return good
    # A slip of the keyboard: one character retyped, dropped or doubled. Often bad, sometimes still valid.
    at = draw(st.integers(0, len(good) - 1))
    slip = draw(st.sampled_from(["retype", "drop", "double"]))
    if slip == "drop":
        return good[:at] + good[at + 1 :]
    if slip == "double":
        return good[:at] + good[at] + good[at:]
    return good[:at] + draw(st.sampled_from(NOISE[column])) + good[at + 1 :]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), n=st.integers(1, 8))
def test_optional_field_corruption_costs_only_the_field(data: st.DataObject, n: int) -> None:
    """Every row with good required values is accepted; each optional value is kept exactly or blanked and listed."""
    from features.ingest import check_people

    rows = [
        {"source_person_id": f"P{i}", "first_name": "A", "last_name": "B"}
        | {column: data.draw(optional_values(column), label=f"{column}[{i}]") for column in REFERENCE}
        for i in range(n)
    ]
    frame = pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String))
    out = check_people(frame, source="benefits", as_of=AS_OF_DATE)
    assert out.quarantined.height == 0
    assert out.accepted.height == n
    listed = {(r["row_number"], r["field"]): r for r in out.blanked.iter_rows(named=True)}
    expected: set[tuple[int, str]] = set()
    for number, (row, got) in enumerate(zip(rows, out.accepted.iter_rows(named=True), strict=True), start=1):
        assert got["row_number"] == number
        for column, reference in REFERENCE.items():
            value = row[column]
            missing = value is None or value.strip(" ") == ""  # missing, not bad: nothing to report
            code = None if missing else reference(value)
            if code is None:
                kept: object = value
                if column == "dob":  # the canonical date of birth is a date; a blank one is null
                    kept = None if missing else date.fromisoformat(str(value))
                assert got[column] == kept, (column, value, got[column])
                assert (number, column) not in listed, (column, value)
            else:
                expected.add((number, column))
                assert got[column] is None, (column, value, got[column])
                entry = listed[(number, column)]
                assert (entry["reason_code"], entry["value"], entry["source_person_id"]) == (
                    code,
                    value,
                    row["source_person_id"],
                )
    assert set(listed) == expected
    assert sum(sum(c.values()) for c in out.fields_blanked().values()) == len(expected)


EVENT_NOISE = "0123456789.+-£, e"


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.tuples(
            st.one_of(st.none(), st.text(alphabet=EVENT_NOISE, min_size=1, max_size=8)),
            st.one_of(
                st.none(), st.sampled_from([*CONFIG.sources["contact_centre"].topics, "weather", "Rent"])
            ),
            st.one_of(st.none(), st.sampled_from([*CONFIG.channels, "pigeon", "Phone"])),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_event_optional_fields_cost_only_the_field(
    values: list[tuple[str | None, str | None, str | None]],
) -> None:
    from features.ingest import KnownPeople, check_events

    n = len(values)
    frame = pl.DataFrame(
        {
            "event_id": [f"E{i}" for i in range(n)],
            "source_person_id": ["P1"] * n,
            "event_date": ["2026-01-05"] * n,
            "event_type": ["enquiry"] * n,
            "amount": [v[0] for v in values],
            "topic": [v[1] for v in values],
            "channel": [v[2] for v in values],
        },
        schema=dict.fromkeys(
            ["event_id", "source_person_id", "event_date", "event_type", "amount", "topic", "channel"],
            pl.String,
        ),
    )
    known = KnownPeople(accepted=pl.Series(["P1"]), quarantined=pl.Series([], dtype=pl.String))
    out = check_events(frame, source="contact_centre", config=CONFIG, as_of=AS_OF_DATE, people=known)
    assert out.quarantined.height == 0
    topics, channels = CONFIG.sources["contact_centre"].topics, CONFIG.channels
    listed = {(r["event_id"], r["field"]): r["reason_code"] for r in out.blanked.iter_rows(named=True)}
    expected = {}
    for i, ((amount, topic, channel), got) in enumerate(
        zip(values, out.accepted.iter_rows(named=True), strict=True)
    ):
        plain = amount is not None and _plain_number(amount)
        if amount is not None and amount.strip() and not plain:
            expected[(f"E{i}", "amount")] = "bad_amount"
        assert got["amount"] == (float(amount) if plain else None)
        if topic is not None and topic not in topics:
            expected[(f"E{i}", "topic")] = "unknown_topic"
        assert got["topic"] == (topic if topic in topics else None)
        if channel is not None and channel not in channels:
            expected[(f"E{i}", "channel")] = "unknown_channel"
        assert got["channel"] == (channel if channel in channels else None)
    assert listed == expected


def _plain_number(text: str) -> bool:
    """Digits with at most one point, an optional leading sign, and at least one digit."""
    body = text[1:] if text[:1] in "+-" else text
    return body.count(".") <= 1 and any(ch in DIGITS for ch in body) and set(body) <= set(DIGITS + ".")
