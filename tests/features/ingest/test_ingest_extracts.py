"""The whole stage on a folder of extracts: outputs, report, skipped sources, re-runs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from ingest_helpers import AS_OF, CONFIG, Table, quarantine, report_json, run_ingest, valid_extract

from features.ingest import ingest_extracts
from features.schema import EVENTS_SCHEMA, GAZETTEER_SCHEMA, PEOPLE_SCHEMA


def test_valid_extract_is_accepted_whole_in_the_canonical_schemas(tmp_path: Path) -> None:
    report, run = run_ingest(tmp_path, valid_extract())
    people = pl.read_parquet(run.canonical_dir / "people.parquet")
    events = pl.read_parquet(run.canonical_dir / "events.parquet")
    gazetteer = pl.read_parquet(run.canonical_dir / "gazetteer.parquet")
    assert people.schema == pl.Schema(PEOPLE_SCHEMA)
    assert events.schema == pl.Schema(EVENTS_SCHEMA)
    assert gazetteer.schema == pl.Schema(GAZETTEER_SCHEMA)
    assert people.height == 8
    assert events.height == 12
    assert gazetteer.height == 3
    assert set(events.get_column("source")) == {"benefits", "housing_rent"}
    assert report.totals()["quarantined"] == 0
    assert report.sources["council_tax"].status == "missing"
    assert report.sources["benefits"].status == "ingested"
    assert report.unbalanced_files() == []


def test_renamed_columns_and_dd_mm_yyyy_are_mapped_and_reported(tmp_path: Path) -> None:
    report, run = run_ingest(tmp_path, valid_extract(("housing_rent",)))
    events_report = report.sources["housing_rent"].files["events"]
    assert events_report.columns_renamed["transaction_date"] == "event_date"
    assert events_report.date_formats == {"event_date": {"YYYY-MM-DD": 0, "dd/mm/yyyy": 6, "not a date": 0}}
    events = pl.read_parquet(run.canonical_dir / "events.parquet")
    assert events.get_column("event_date").to_list()[0] == date(2025, 1, 1)


def test_report_json_has_per_file_counts_and_a_summary(tmp_path: Path) -> None:
    extract = valid_extract(("benefits",))
    extract.sources["benefits"]["events"].rows[0][2] = "2026-13-01"
    run_ingest(tmp_path, extract)
    data = report_json(run_ingest(tmp_path)[1])
    f = data["sources"]["benefits"]["files"]["events"]
    assert f["rows_read"] == 6
    assert f["accepted"] == 5
    assert f["quarantined"] == 1
    assert f["quarantined_by_reason"] == {"bad_date": 1}
    assert f["skipped"] is False
    assert f["format"] == "csv"
    assert f["path"].endswith("benefits/events.csv")
    assert data["totals"]["quarantined"] == 1
    assert "Ingest for 2026-11-22" in data["summary"]
    assert data["sources"]["council_tax"]["status"] == "missing"


def test_quarantine_file_holds_the_raw_row_its_number_and_reason(tmp_path: Path) -> None:
    extract = valid_extract(("benefits",))
    extract.sources["benefits"]["events"].rows[2][2] = "2026-13-01"
    extract.sources["benefits"]["events"].raw[4] = b"BE-E4,BE0"
    _, run = run_ingest(tmp_path, extract)
    q = quarantine(run, "benefits/events.csv")
    assert q.columns[-5:] == ["row_number", "line_number", "raw_line", "reason", "reason_codes"]
    assert q.get_column("row_number").to_list() == ["3", "5"]
    assert q.get_column("reason")[0] == "event_date '2026-13-01' is not a date (expected YYYY-MM-DD)"
    assert q.get_column("raw_line")[1] == "BE-E4,BE0"
    assert q.get_column("reason")[1] == "line 6 has 2 fields but the header has 7"


def test_unreadable_events_skip_the_whole_source_but_not_the_run(tmp_path: Path) -> None:
    extract = valid_extract(("benefits", "housing_rent"))
    extract.sources["benefits"]["events"].header[2] = "date"  # event_date missing
    report, run = run_ingest(tmp_path, extract)
    src = report.sources["benefits"]
    assert src.status == "skipped"
    assert "benefits/events.csv" in (src.message or "")
    assert "event_date" in (src.message or "")
    assert src.files["people"].skipped
    assert "events file could not be read" in (src.files["people"].message or "")
    assert report.skipped_sources.keys() == {
        "benefits",
        "council_tax",
        "contact_centre",
        "adult_social_care",
        "childrens_services",
        "homelessness",
        "asb",
    }
    people = pl.read_parquet(run.canonical_dir / "people.parquet")
    assert set(people.get_column("source")) == {"housing_rent"}
    assert "benefits: SKIPPED" in report.summary()


def test_folder_not_in_config_is_reported_not_read(tmp_path: Path) -> None:
    extract = valid_extract(("benefits",))
    extract.sources["libraries"] = extract.sources["benefits"]
    report, _ = run_ingest(tmp_path, extract)
    assert report.sources["libraries"].status == "not_configured"


def test_both_csv_and_parquet_for_one_file_is_refused(tmp_path: Path) -> None:
    extract = valid_extract(("benefits",))
    extract.write(tmp_path / "extracts")
    extract.sources["benefits"]["people"].frame().write_parquet(tmp_path / "extracts/benefits/people.parquet")
    report, _ = run_ingest(tmp_path)
    assert report.sources["benefits"].status == "skipped"
    assert "both exist" in (report.sources["benefits"].message or "")


def test_other_file_formats_are_named_in_the_message(tmp_path: Path) -> None:
    extract = valid_extract(("benefits",))
    extract.write(tmp_path / "extracts")
    (tmp_path / "extracts/benefits/events.csv").rename(tmp_path / "extracts/benefits/events.xlsx")
    report, _ = run_ingest(tmp_path)
    assert "found events.xlsx; only .csv and .parquet are read" in (report.sources["benefits"].message or "")


def test_parquet_file_that_is_not_parquet_is_refused(tmp_path: Path) -> None:
    extract = valid_extract(("benefits",))
    extract.write(tmp_path / "extracts")
    (tmp_path / "extracts/benefits/people.csv").unlink()
    (tmp_path / "extracts/benefits/people.parquet").write_bytes(b"source_person_id,first_name\n")
    report, _ = run_ingest(tmp_path)
    assert "not a readable Parquet file" in (report.sources["benefits"].message or "")


def test_typed_parquet_is_read_as_text_under_the_same_rules(tmp_path: Path) -> None:
    extract = valid_extract(("council_tax",))
    extract.write(tmp_path / "extracts")
    folder = tmp_path / "extracts/council_tax"
    typed = pl.read_csv(folder / "events.csv", infer_schema=False).with_columns(
        pl.col("event_date").str.to_date(), pl.col("amount").cast(pl.Float64)
    )
    typed = pl.concat(
        [
            typed,
            typed.head(1).with_columns(
                pl.lit("CO-X").alias("event_id"), pl.lit(date(2027, 1, 1)).alias("event_date")
            ),
        ]
    )
    (folder / "events.csv").unlink()
    typed.write_parquet(folder / "events.parquet")
    report, run = run_ingest(tmp_path)
    f = report.sources["council_tax"].files["events"]
    assert (f.format, f.rows_read, f.accepted, f.quarantined) == ("parquet", 7, 6, 1)
    assert f.quarantined_by_reason == {"date_after_run": 1}
    events = pl.read_parquet(run.canonical_dir / "events.parquet")
    assert events.get_column("amount").to_list() == typed.head(6).get_column("amount").to_list()


def test_parquet_timestamps_are_read_as_their_dates_and_the_report_says_so(tmp_path: Path) -> None:
    """pandas and database tools write a date column to Parquet as midnight timestamps (found on
    the independent borough, tests/support/independent_borough.py: every council tax event was
    quarantined as "not a date"). Each is its calendar day; one with a time of day is counted."""
    from datetime import datetime

    extract = valid_extract(("council_tax",))
    extract.write(tmp_path / "extracts")
    folder = tmp_path / "extracts/council_tax"
    plain = pl.read_csv(folder / "events.csv", infer_schema=False)
    stamped = plain.with_columns(pl.col("event_date").str.to_datetime("%Y-%m-%d", time_unit="ns"))
    stamped = stamped.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.col("event_date") + pl.duration(hours=14, minutes=5))
        .otherwise(pl.col("event_date"))
        .alias("event_date")
    )
    assert stamped["event_date"][0].time() != datetime.min.time()
    (folder / "events.csv").unlink()
    stamped.write_parquet(folder / "events.parquet")
    report, run = run_ingest(tmp_path)
    f = report.sources["council_tax"].files["events"]
    assert (f.rows_read, f.accepted, f.quarantined) == (plain.height, plain.height, 0)
    events = pl.read_parquet(run.canonical_dir / "events.parquet").sort("row_number")
    assert [d.isoformat() for d in events["event_date"]] == plain["event_date"].to_list()
    assert any("holds timestamps" in n and "1 carried a time of day" in n for n in f.notes), f.notes


def test_unreadable_gazetteer_is_reported_and_the_run_goes_on(tmp_path: Path) -> None:
    extract = valid_extract(("benefits",))
    extract.gazetteer = Table(["uprn", "address"], [["1", "a"]])
    report, run = run_ingest(tmp_path, extract)
    assert report.gazetteer.skipped
    assert "postcode" in (report.gazetteer.message or "")
    assert pl.read_parquet(run.canonical_dir / "gazetteer.parquet").height == 0
    assert report.sources["benefits"].status == "ingested"


def test_rerun_replaces_the_nights_files_and_drops_stale_quarantine(tmp_path: Path) -> None:
    bad = valid_extract(("benefits",))
    bad.sources["benefits"]["people"].rows[0][0] = ""
    _, run = run_ingest(tmp_path, bad)
    first = run.ingest_report.read_text()
    assert quarantine(run, "benefits/people.csv").height == 1
    (run.quarantine_dir / "stale.csv").write_text("x\n")
    report, _ = run_ingest(tmp_path, valid_extract(("benefits",)))
    assert not (run.quarantine_dir / "stale.csv").exists()
    assert quarantine(run, "benefits/people.csv").height == 0
    assert report.totals()["quarantined"] == 0
    assert run.ingest_report.read_text() != first
    again, _ = run_ingest(tmp_path)
    assert again.to_json() == run.ingest_report.read_text()
    assert not list(run.root.rglob(".*tmp*"))


def test_missing_extracts_folder_raises(tmp_path: Path) -> None:
    from early_warning.paths import RunPaths

    with pytest.raises(FileNotFoundError, match="extracts folder not found"):
        ingest_extracts(tmp_path / "nope", AS_OF, RunPaths(tmp_path, AS_OF), CONFIG)


def test_extra_columns_reach_quarantine_but_not_canonical(tmp_path: Path) -> None:
    extract = valid_extract(("benefits",))
    people = extract.sources["benefits"]["people"]
    people.header.append("reason")  # even a name that clashes with ingest's own columns
    for i, row in enumerate(people.rows):
        row.append(f"note {i}")
    people.rows[1][0] = None
    report, run = run_ingest(tmp_path, extract)
    assert report.sources["benefits"].files["people"].extra_columns == ["reason"]
    q = quarantine(run, "benefits/people.csv")
    assert q.get_column("reason (from file)").to_list() == ["note 1"]
    assert "reason" not in pl.read_parquet(run.canonical_dir / "people.parquet").columns
