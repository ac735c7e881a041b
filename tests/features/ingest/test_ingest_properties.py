"""Property tests: build a valid extract folder, corrupt it in many ways, check nothing is lost or guessed.

For every file read: rows read = accepted + quarantined = the rows written;
each corrupted row is quarantined with the right reason code; an untouched
row is accepted exactly as written (or, for an event, quarantined only
because its person was); a whole-file problem skips just that source, with a
message naming the file.
"""

from __future__ import annotations

import shutil
import tempfile
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

from features.ingest.csv_text import read_csv_table

SOURCES = ("benefits", "housing_rent", "contact_centre")
TEXT = st.text(alphabet="abAé ,'\"\n\r-", max_size=6)
CASCADE = {"person_not_in_people", "person_quarantined"}
ROW_FAULTS = {
    "people": ["blank_id", "bad_dob", "future_dob", "conflict", "exact"],
    "events": [
        "blank_id",
        "blank_person",
        "blank_date",
        "blank_type",
        "bad_date",
        "future_date",
        "unknown_type",
        "orphan",
        "bad_amount",
        "unknown_channel",
        "unknown_topic",
        "conflict",
        "exact",
    ],
    "gazetteer": ["blank_id", "blank_ward", "conflict", "exact"],
}
LINE_FAULTS = ["short", "long", "stray_quote", "not_utf8", "blank_after"]
FILE_FAULTS = ["drop_required", "empty", "delete", "utf16", "binary", "both_names"]
EXPECTED_CODE = {
    "blank_id": "blank_required",
    "blank_person": "blank_required",
    "blank_date": "blank_required",
    "blank_type": "blank_required",
    "blank_ward": "blank_required",
    "bad_dob": "bad_date",
    "bad_date": "bad_date",
    "future_dob": "date_after_run",
    "future_date": "date_after_run",
    "unknown_type": "unknown_event_type",
    "orphan": "person_not_in_people",
    "bad_amount": "bad_amount",
    "unknown_channel": "unknown_channel",
    "unknown_topic": "unknown_topic",
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
        family = draw(st.sampled_from(["row", "row", "line", "file"]))
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


def check_accepted_row(key: tuple[str, str], table: Table, i: int, got: dict[str, object]) -> None:
    source, kind = key
    for column, file_name in file_columns(source, kind).items() if source else ((c, c) for c in table.header):
        if file_name not in table.header:
            assert got[column] is None
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
    for got in accepted.iter_rows(named=True):
        check_accepted_row(key, table, by_number[got["row_number"]], got)
        if key[1] == "events":
            assert got["source_person_id"] in accepted_people, "an accepted event's person must be accepted"


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
