"""The issue's acceptance path through the real command line: generate a
borough, run a night on it, then on a corrupted copy, and check that every
file reconciles and every bad row is quarantined with its reason."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from early_warning.cli import main

AS_OF = "2026-06-30"


@pytest.fixture(scope="module")
def borough(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("borough")
    assert (
        main(
            [
                "generate",
                "--residents",
                "1500",
                "--years",
                "2",
                "--as-of",
                AS_OF,
                "--seed",
                "11",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    return out


def _report(home: Path, area: str = "") -> dict:
    """The night's ingest report: published, or in ``area`` (".held": a night its checks held)."""
    return json.loads((home / "runs" / area / AS_OF / "ingest_report.json").read_text())


def _file_reports(report: dict) -> list[dict]:
    files = [report["gazetteer"]]
    for source in report["sources"].values():
        files.extend(f for f in source["files"].values() if f is not None)
    return files


def _data_rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def test_a_clean_borough_is_accepted_whole(borough: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert (
        main(
            [
                "nightly",
                "--extracts",
                str(borough / "extracts"),
                "--as-of",
                AS_OF,
                "--home",
                str(home),
                "--quiet",
            ]
        )
        == 0
    )
    report = _report(home)
    for file in _file_reports(report):
        assert file["rows_read"] == file["accepted"] + file["quarantined"]
        assert file["quarantined"] == 0, file["path"]
    people = pl.read_parquet(home / "runs" / AS_OF / "canonical" / "people.parquet")
    truth = pl.read_parquet(borough / "truth" / "person_records.parquet")
    in_extract = truth.filter(pl.col("in_extract")) if "in_extract" in truth.columns else truth
    assert people.height == in_extract.height
    # The two mapped sources arrived through their mappings, with dd/mm/yyyy dates parsed.
    rent = report["sources"]["housing_rent"]["files"]["events"]
    assert rent["columns_renamed"]["transaction_date"] == "event_date"
    assert rent["date_formats"]["event_date"]["dd/mm/yyyy"] == rent["rows_read"]


def _corrupt(extracts: Path) -> dict[tuple[str, str], set[str]]:
    """Break rows in several files; return the reason codes expected per (source, file)."""
    ct_events = extracts / "council_tax" / "events.csv"
    lines = ct_events.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    date_at, type_at, person_at = (
        header.index("event_date"),
        header.index("event_type"),
        header.index("source_person_id"),
    )

    def edit(line_no: int, column: int, value: str) -> None:
        fields = lines[line_no].split(",")
        fields[column] = value
        lines[line_no] = ",".join(fields)

    edit(1, date_at, "2026-02-30")
    edit(2, date_at, "2027-01-01")
    edit(3, type_at, "eviction")
    edit(4, person_at, "CT-NOBODY")
    lines.append(lines[5])  # an exact duplicate
    ct_events.write_text("\n".join(lines) + "\n", encoding="utf-8")

    cc_people = extracts / "contact_centre" / "people.csv"
    people_lines = cc_people.read_text(encoding="utf-8").splitlines()
    people_lines[1] = "," + people_lines[1].split(",", 1)[1]  # blank source_person_id
    people_lines.insert(3, "only,three,fields")  # ragged line
    cc_people.write_text("\n".join(people_lines) + "\n", encoding="utf-8")

    asb_events = extracts / "asb" / "events.csv"
    asb_events.write_bytes(asb_events.read_bytes() + b"ASB-X,\xff\xfe,2025-01-01,noise_complaint,,,\n")

    (extracts / "homelessness" / "events.csv").unlink()
    return {
        ("council_tax", "events"): {
            "bad_date",
            "date_after_run",
            "unknown_event_type",
            "person_not_in_people",
            "exact_duplicate",
        },
        ("contact_centre", "people"): {"blank_required", "wrong_field_count"},
        ("asb", "events"): {"not_utf8"},
    }


def test_a_corrupted_copy_is_quarantined_row_by_row_and_nothing_is_lost(
    borough: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extracts = tmp_path / "extracts"
    shutil.copytree(borough / "extracts", extracts)
    expected = _corrupt(extracts)
    home = tmp_path / "home"

    code = main(["nightly", "--extracts", str(extracts), "--as-of", AS_OF, "--home", str(home), "--quiet"])

    assert code == 3, "a skipped source holds the night: nothing is routed"
    out = capsys.readouterr().out
    assert "homelessness" in out
    assert "events.csv" in out
    report = _report(home, ".held")
    assert report["sources"]["homelessness"]["status"] == "skipped"
    for file in _file_reports(report):
        if file["skipped"]:
            continue
        assert file["rows_read"] == file["accepted"] + file["quarantined"], file["path"]
    run = home / "runs" / ".held" / AS_OF
    for (source, kind), codes in expected.items():
        file = report["sources"][source]["files"][kind]
        assert codes <= set(file["quarantined_by_reason"]), (source, kind, file["quarantined_by_reason"])
        quarantine = run / "quarantine" / source / f"{kind}.csv"
        assert _data_rows(quarantine) == file["quarantined"]
        rows = list(csv.DictReader(quarantine.open(newline="", encoding="utf-8")))
        assert all(row["reason"] for row in rows), "every quarantined row says why"
    # Every row of every file read is either in canonical output or in quarantine.
    events = pl.read_parquet(run / "canonical" / "events.parquet")
    ct = report["sources"]["council_tax"]["files"]["events"]
    assert events.filter(pl.col("source") == "council_tax").height == ct["accepted"]
    assert ct["rows_read"] == _data_rows(extracts / "council_tax" / "events.csv")
    assert events.filter(pl.col("source") == "homelessness").height == 0
    # The other sources were still used.
    assert events.filter(pl.col("source") == "benefits").height > 0
