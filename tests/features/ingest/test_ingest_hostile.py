"""Hostile and broken files (issue 17, rows 1-4 and 13): limits, links, headers and quarantine safety.

Every hostile file is built here, small but over a low configured limit, and
each test checks both that the source is skipped with a message naming the
file and the limit, and that no cell value reaches a message, the report or
the quarantine reasons.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import polars as pl
import pytest
from ingest_helpers import CONFIG, quarantine, report_json, run_ingest, valid_extract

from early_warning.all_settings import load_all
from early_warning.config import DEFAULTS_DIR, Config, ConfigError, InputLimits, load_config, read_yaml
from features.ingest import FileRefused, IngestReport
from features.ingest.opening import open_extract
from features.ingest.writing import CELL_CHARS, as_sent, spreadsheet_safe


def with_limits(**limits: int) -> Config:
    return CONFIG.model_copy(update={"limits": InputLimits(**limits)})


def everything_written(root: Path, report: IngestReport) -> str:
    """The console summary, the report file and every quarantine file, as one text to search."""
    home = root / "home"
    texts = [report.summary(), *(str(s.message) for s in report.sources.values())]
    texts += [p.read_text(encoding="utf-8") for p in sorted(home.rglob("*")) if p.suffix in (".csv", ".json")]
    return "\n".join(texts)


def skipped_message(report: IngestReport, source: str) -> str:
    assert report.sources[source].status == "skipped", report.sources[source]
    return report.sources[source].message or ""


# --- Row 1: a small Parquet file that decodes to gigabytes ------------------------------------


def write_identical_rows(path: Path, rows: int, value: str = "x", row_group_size: int | None = None) -> None:
    """Many identical rows: zstd and dictionary encoding make the file tiny whatever ``rows`` is."""
    frame = pl.select(
        pl.repeat("E1", rows).alias("event_id"),
        pl.lit("BE0").alias("source_person_id"),
        pl.lit("2025-01-01").alias("event_date"),
        pl.lit("claim_new").alias("event_type"),
        pl.lit(value).alias("topic"),
    )
    frame.write_parquet(path, compression="zstd", use_pyarrow=True, row_group_size=row_group_size)


def parquet_extract(tmp_path: Path) -> Path:
    extract = valid_extract(("benefits", "housing_rent"))
    extract.write(tmp_path / "extracts")
    (tmp_path / "extracts/benefits/events.csv").unlink()
    return tmp_path / "extracts/benefits/events.parquet"


def test_parquet_with_more_rows_than_the_limit_is_skipped_from_its_footer(tmp_path: Path) -> None:
    path = parquet_extract(tmp_path)
    write_identical_rows(path, 300_000)
    assert path.stat().st_size < 100_000, "the hostile file is small on disk"
    report, run = run_ingest(tmp_path, config=with_limits(max_rows=100_000))
    message = skipped_message(report, "benefits")
    assert str(path) in message
    assert "300,000 rows" in message
    assert "limits.max_rows" in message
    assert "100,000" in message
    assert report.sources["housing_rent"].status == "ingested", "the other sources go on"
    people = pl.read_parquet(run.canonical_people)
    assert set(people.get_column("source")) == {"housing_rent"}


def test_parquet_whose_values_decode_past_the_cap_is_skipped(tmp_path: Path) -> None:
    path = parquet_extract(tmp_path)
    write_identical_rows(path, 20_000, value="y" * 2_000)  # 40 MB of text in a file of a few KB
    assert path.stat().st_size < 100_000
    report, _ = run_ingest(tmp_path, config=with_limits(max_decompressed_bytes=5_000_000))
    message = skipped_message(report, "benefits")
    assert str(path) in message
    assert "limits.max_decompressed_bytes" in message
    assert "yyyy" not in message


def test_parquet_with_too_many_row_groups_is_skipped(tmp_path: Path) -> None:
    path = parquet_extract(tmp_path)
    write_identical_rows(path, 1_000, row_group_size=10)
    report, _ = run_ingest(tmp_path, config=with_limits(max_row_groups=50))
    message = skipped_message(report, "benefits")
    assert "100 row groups" in message
    assert "limits.max_row_groups" in message


def test_file_over_the_byte_limit_is_skipped_before_it_is_read(tmp_path: Path) -> None:
    valid_extract(("benefits",)).write(tmp_path / "extracts")
    size = (tmp_path / "extracts/benefits/people.csv").stat().st_size
    report, _ = run_ingest(tmp_path, config=with_limits(max_file_bytes=size - 1))
    message = skipped_message(report, "benefits")
    assert f"{size:,} bytes" in message
    assert "limits.max_file_bytes" in message


def test_csv_with_more_rows_than_the_limit_is_skipped(tmp_path: Path) -> None:
    report, _ = run_ingest(tmp_path, valid_extract(("benefits",), events=30), config=with_limits(max_rows=20))
    message = skipped_message(report, "benefits")
    assert "events.csv: has 30 rows" in message
    assert "limits.max_rows" in message


def test_default_limits_are_the_defaults_file_and_leave_room_for_a_large_council() -> None:
    written = read_yaml(DEFAULTS_DIR / "sources.yaml")["limits"]
    assert InputLimits(**written) == InputLimits(), "a council's partial limits fall back to the same values"
    limits = load_config().limits
    assert limits == InputLimits()
    assert limits.max_rows >= 10_000_000, "the ingest benchmark's 10 million events"
    assert limits.max_file_bytes >= 1024**3
    assert 100 <= limits.max_columns <= 10_000
    assert 64 * 1024 <= limits.max_line_bytes <= 16 * 1024**2
    assert limits.max_decompressed_bytes <= 16 * 1024**3, "a hostile file cannot take the machine"


def test_a_council_raises_one_limit_and_keeps_the_others(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text("limits:\n  max_columns: 800\n")
    limits = load_config(tmp_path).limits
    assert limits.max_columns == 800
    assert limits.max_rows == InputLimits().max_rows


def test_config_check_refuses_a_limit_that_is_not_a_positive_number(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text("limits:\n  max_rows: 0\n  max_lines: 5\n")
    with pytest.raises(ConfigError) as error:
        load_all(tmp_path)
    assert "sources.yaml: limits.max_rows" in str(error.value)
    assert "limits.max_lines" in str(error.value)


# --- Row 2: a CSV with a million columns ------------------------------------------------------


def wide_people(tmp_path: Path, extra: int) -> Path:
    extract = valid_extract(("benefits",))
    people = extract.sources["benefits"]["people"]
    people.header += [f"c{i}" for i in range(extra)]
    people.rows = [row + ["v"] * extra for row in people.rows]
    extract.write(tmp_path / "extracts")
    return tmp_path / "extracts/benefits/people.csv"


def test_csv_with_more_columns_than_the_limit_is_skipped(tmp_path: Path) -> None:
    path = wide_people(tmp_path, 1_000)
    report, _ = run_ingest(tmp_path, config=with_limits(max_columns=500))
    message = skipped_message(report, "benefits")
    assert str(path) in message
    assert f"{13 + 1_000:,} columns" in message
    assert "limits.max_columns" in message
    assert "c999" not in everything_written(tmp_path, report)


def test_default_limit_refuses_a_thousand_columns(tmp_path: Path) -> None:
    wide_people(tmp_path, 1_000)
    report, _ = run_ingest(tmp_path)
    assert "limits.max_columns" in skipped_message(report, "benefits")


def test_parquet_with_more_columns_than_the_limit_is_skipped(tmp_path: Path) -> None:
    path = parquet_extract(tmp_path)
    pl.DataFrame({f"c{i}": ["v"] for i in range(40)}).write_parquet(path)
    report, _ = run_ingest(tmp_path, config=with_limits(max_columns=30))
    assert "40 columns" in skipped_message(report, "benefits")


def test_extra_columns_within_the_limit_are_reported_not_silently_ignored(tmp_path: Path) -> None:
    wide_people(tmp_path, 3)
    report, run = run_ingest(tmp_path)
    assert report.sources["benefits"].status == "ingested"
    assert report_json(run)["sources"]["benefits"]["files"]["people"]["extra_columns"] == ["c0", "c1", "c2"]
    assert "benefits/people.csv: 3 extra column(s) not used" in report.summary()


# --- Row 3: links out of the extracts folder, and '..' ----------------------------------------


SECRET = "root-secret-line:x:0:0"


def outside_file(tmp_path: Path) -> Path:
    outside = tmp_path / "elsewhere" / "passwd"
    outside.parent.mkdir()
    outside.write_text(f"{SECRET}\nsecond:line\n")
    return outside


def test_a_linked_file_is_refused_and_nothing_of_it_is_written(tmp_path: Path) -> None:
    valid_extract(("benefits", "housing_rent")).write(tmp_path / "extracts")
    people = tmp_path / "extracts/benefits/people.csv"
    people.unlink()
    people.symlink_to(outside_file(tmp_path))
    report, _ = run_ingest(tmp_path)
    message = skipped_message(report, "benefits")
    assert f"{people}: is a symbolic link" in message
    assert report.sources["housing_rent"].status == "ingested"
    assert SECRET not in everything_written(tmp_path, report)
    assert "second" not in everything_written(tmp_path, report)


def test_a_link_to_a_good_extract_elsewhere_is_refused_too(tmp_path: Path) -> None:
    valid_extract(("benefits",)).write(tmp_path / "elsewhere")
    valid_extract(("housing_rent",)).write(tmp_path / "extracts")
    (tmp_path / "extracts/benefits").mkdir()
    (tmp_path / "extracts/benefits/events.csv").symlink_to(tmp_path / "elsewhere/benefits/events.csv")
    (tmp_path / "extracts/benefits/people.csv").symlink_to(tmp_path / "elsewhere/benefits/people.csv")
    report, run = run_ingest(tmp_path)
    assert "is a symbolic link" in skipped_message(report, "benefits")
    assert set(pl.read_parquet(run.canonical_people).get_column("source")) == {"housing_rent"}
    assert not (run.quarantine_dir / "benefits").exists(), (
        "a linked file's rows are not copied into quarantine"
    )


def test_a_linked_source_folder_is_refused(tmp_path: Path) -> None:
    valid_extract(("benefits",)).write(tmp_path / "elsewhere")
    valid_extract(("housing_rent",)).write(tmp_path / "extracts")
    (tmp_path / "extracts/benefits").symlink_to(tmp_path / "elsewhere/benefits")
    report, _ = run_ingest(tmp_path)
    assert "is a symbolic link" in skipped_message(report, "benefits")


def test_a_linked_gazetteer_is_refused(tmp_path: Path) -> None:
    valid_extract(("benefits",)).write(tmp_path / "extracts")
    gazetteer = tmp_path / "extracts/gazetteer.csv"
    gazetteer.unlink()
    gazetteer.symlink_to(outside_file(tmp_path))
    report, _ = run_ingest(tmp_path)
    assert report.gazetteer.skipped
    assert "is a symbolic link" in (report.gazetteer.message or "")
    assert SECRET not in everything_written(tmp_path, report)


def test_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    valid_extract(("benefits",)).write(tmp_path / "extracts")
    people = tmp_path / "extracts/benefits/people.csv"
    people.unlink()
    os.mkfifo(people)
    report, _ = run_ingest(tmp_path)
    assert "is not a regular file" in skipped_message(report, "benefits")


def test_a_source_name_with_dot_dot_is_not_read(tmp_path: Path) -> None:
    valid_extract(("benefits",)).write(tmp_path / "outside")
    valid_extract(("housing_rent",)).write(tmp_path / "extracts")
    sources = {**CONFIG.sources, "../outside/benefits": CONFIG.sources["benefits"]}
    report, run = run_ingest(tmp_path, config=CONFIG.model_copy(update={"sources": sources}))
    assert "not a plain folder name" in skipped_message(report, "../outside/benefits")
    assert set(pl.read_parquet(run.canonical_people).get_column("source")) == {"housing_rent"}


@pytest.mark.parametrize("relative", ["../passwd", "benefits/../../passwd", "/etc/passwd", ""])
def test_open_extract_refuses_paths_out_of_the_root(tmp_path: Path, relative: str) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "passwd").write_text(SECRET)
    with (
        pytest.raises(FileRefused, match="only plain names"),
        open_extract(tmp_path / "root", relative, InputLimits()),
    ):
        pass


# --- Row 4: a header that is really data ------------------------------------------------------


def test_a_missing_header_line_is_described_without_its_cells(tmp_path: Path) -> None:
    extract = valid_extract(("benefits",))
    extract.write(tmp_path / "extracts")
    people = tmp_path / "extracts/benefits/people.csv"
    lines = people.read_text().splitlines()
    first_row = next(csv.reader([lines[1]]))
    people.write_text("\n".join(lines[1:]) + "\n")
    report, run = run_ingest(tmp_path)
    message = skipped_message(report, "benefits")
    assert str(people) in message
    assert "missing required column(s) source_person_id, first_name, last_name" in message
    assert f"the header has {len(first_row)} column(s)" in message
    assert f"{len(first_row)} unexpected column name(s), not shown" in message
    written = everything_written(tmp_path, report)
    cells = [cell for cell in first_row if cell]
    assert cells, "the line that became the header has values"
    for cell in cells:
        assert cell not in written, f"a cell value reached a message or report: {cell!r}"
    assert report_json(run)["sources"]["benefits"]["status"] == "skipped"


def test_expected_names_in_a_broken_header_are_named(tmp_path: Path) -> None:
    extract = valid_extract(("benefits",))
    people = extract.sources["benefits"]["people"]
    people.header[0] = "Ann Example"
    report, _ = run_ingest(tmp_path, extract)
    message = skipped_message(report, "benefits")
    assert "expected ones: first_name, last_name" in message
    assert "1 unexpected column name(s)" in message
    assert "Ann Example" not in message


@pytest.mark.parametrize(
    ("header", "expected_in_message"),
    [
        (b"P1,Ann Example,Ann Example", "column 2 and column 3"),
        (b'P1,"Ann" Example,x', "header row has broken quoting"),
        (b"P1,_ingest_Ann Example,x", "the name of column 2 starts with '_ingest_'"),
    ],
)
def test_header_problems_name_positions_not_cells(
    tmp_path: Path, header: bytes, expected_in_message: str
) -> None:
    extract = valid_extract(("benefits",))
    extract.write(tmp_path / "extracts")
    (tmp_path / "extracts/benefits/people.csv").write_bytes(header + b"\nP2,a,b\n")
    report, _ = run_ingest(tmp_path)
    message = skipped_message(report, "benefits")
    assert expected_in_message in message
    assert "Ann" not in everything_written(tmp_path, report)


# --- Row 13: quarantine files safe to open, and bounded -------------------------------------


FORMULAS = ['=HYPERLINK("http://x")', "+44 7700", "-5", "@SUM(A1)", "\tx", "'=already quoted", "'x"]


def test_quarantine_cells_cannot_run_as_formulas_and_keep_every_value(tmp_path: Path) -> None:
    extract = valid_extract(("benefits",), people=len(FORMULAS))
    people = extract.sources["benefits"]["people"]
    for row, value in zip(people.rows, FORMULAS, strict=True):
        row[people.header.index("source_person_id")] = "DUP"  # ids that differ: every row quarantined
        row[people.header.index("first_name")] = value
    people.raw[0] = b"=cmd|' /C calc'!A0,too,few"
    report, run = run_ingest(tmp_path, extract)
    q = quarantine(run, "benefits/people.csv")
    names = q.get_column("first_name").to_list()
    for cell in [*names, *q.get_column("raw_line").to_list()]:
        assert cell is None or cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), cell
    assert [as_sent(v) for v in names[1:]] == FORMULAS[1:], "the value as sent is recoverable"
    assert as_sent(q.get_column("raw_line")[0]) == "=cmd|' /C calc'!A0,too,few"
    assert report.sources["benefits"].files["people"].quarantined == len(FORMULAS)


def test_the_quarantine_folder_says_how_to_undo_the_escape(tmp_path: Path) -> None:
    _, run = run_ingest(tmp_path, valid_extract(("benefits",)))
    readme = (run.quarantine_dir / "README.txt").read_text(encoding="utf-8")
    assert "remove its first character" in readme
    assert "cut by ingest" in readme


def test_spreadsheet_safe_round_trips_through_as_sent() -> None:
    values = [*FORMULAS, "a=b", "''+x", "plain"]
    safe = spreadsheet_safe(pl.DataFrame({"v": values})).get_column("v").to_list()
    assert [as_sent(v) for v in safe] == values
    assert all(v[:1] not in "=+-@\t\r" for v in safe)


def test_a_long_malformed_line_is_cut_in_quarantine_with_a_marker(tmp_path: Path) -> None:
    extract = valid_extract(("benefits",))
    extract.sources["benefits"]["people"].raw[1] = b"BE1," + b"z" * 100_000
    _, run = run_ingest(tmp_path, extract)
    raw = quarantine(run, "benefits/people.csv").get_column("raw_line").drop_nulls()[0]
    assert raw.startswith("BE1,zzz")
    assert raw.endswith("… [cut by ingest: 100004 characters in all]")
    assert len(raw) < CELL_CHARS + 100


def test_a_line_over_the_line_limit_skips_the_file_and_is_not_copied(tmp_path: Path) -> None:
    extract = valid_extract(("benefits", "housing_rent"))
    extract.sources["benefits"]["events"].raw[2] = b"BE-E2," + b"z" * (2 * 1024**2)  # 2 MB on one line
    report, run = run_ingest(tmp_path, extract)  # default limits
    message = skipped_message(report, "benefits")
    assert "events.csv: line 4 is 2,097,158 bytes" in message
    assert "limits.max_line_bytes" in message
    assert not (run.quarantine_dir / "benefits").exists()
    assert sum(p.stat().st_size for p in (tmp_path / "home").rglob("*") if p.is_file()) < 1024**2


def test_a_header_line_over_the_line_limit_is_skipped(tmp_path: Path) -> None:
    extract = valid_extract(("benefits",))
    people = extract.sources["benefits"]["people"]
    people.header[-1] = "h" * 5_000
    report, _ = run_ingest(tmp_path, extract, config=with_limits(max_line_bytes=4_096))
    assert "has a header line of" in skipped_message(report, "benefits")


def test_a_table_whose_rows_hold_text_is_unchanged_by_default_limits(tmp_path: Path) -> None:
    """The limits change nothing for a normal extract, CSV or Parquet."""
    extract = valid_extract(("benefits", "housing_rent"))
    extract.sources["housing_rent"]["people"].fmt = "parquet"
    report, _ = run_ingest(tmp_path, extract)
    assert [s.status for s in report.sources.values() if s.status != "missing"] == ["ingested", "ingested"]
    assert json.loads(report.to_json())["totals"]["quarantined"] == 0
