"""A night's files: one catalogue names them, and every write is whole or not at all."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from early_warning.paths import RunPaths, nights_through, replace_atomically, write_frame, write_text
from flows.stages import Night, write_features

AS_OF = date(2026, 11, 22)


def _unwritable() -> pl.DataFrame:
    """A frame Parquet cannot hold (a Python object column): its write fails part way."""
    return pl.DataFrame(
        {"person_id": ["P1"], "x": [object()]}, schema={"person_id": pl.String, "x": pl.Object}
    )


def test_a_failed_write_leaves_the_previous_file_whole_and_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "scores.parquet"
    before = pl.DataFrame({"person_id": ["P1", "P2"], "score": [0.9, 0.1]})
    write_frame(before, path)
    with pytest.raises(pl.exceptions.ComputeError, match="Object"):
        write_frame(_unwritable(), path)
    assert_frame_equal(pl.read_parquet(path), before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.parquet"]


def test_a_write_that_dies_half_way_leaves_the_previous_text(tmp_path: Path) -> None:
    path = write_text('{"night": "before"}\n', tmp_path / "reuse.json")

    def half_then_fail(tmp: Path) -> None:
        tmp.write_text('{"night": "aft', encoding="utf-8")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        replace_atomically(path, half_then_fail)
    assert path.read_text(encoding="utf-8") == '{"night": "before"}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["reuse.json"]


def test_a_stage_output_survives_a_crash_half_way_through_rewriting_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    night = Night.load(tmp_path, AS_OF)
    table = pl.DataFrame({"person_id": ["P1"], "signals_365d_total": [3]})
    write_features(night, table)
    real_write = pl.DataFrame.write_parquet

    def dies_half_way(frame: pl.DataFrame, file: Path, *args: object, **kwargs: object) -> None:
        real_write(frame, file)
        Path(file).write_bytes(Path(file).read_bytes()[:40])  # the disk filled part way
        raise OSError("disk full")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", dies_half_way)
    with pytest.raises(OSError, match="disk full"):
        write_features(night, table.with_columns(pl.col("signals_365d_total") + 1))
    monkeypatch.undo()
    assert_frame_equal(pl.read_parquet(night.run.features), table)
    assert sorted(p.name for p in night.run.root.iterdir()) == ["features.parquet"]


def test_the_catalogue_keeps_the_contracts_file_names() -> None:
    run = RunPaths(home=Path("/home"), as_of=AS_OF)
    names = {key: str(path.relative_to(run.root)) for key, path in run.catalogue().items()}
    # DATA_CONTRACT.md section 5 and the acceptance checks read these names.
    assert names["ingest_report"] == "ingest_report.json"
    assert names["quarantine_dir"] == "quarantine"
    assert names["canonical_people"] == "canonical/people.parquet"
    assert names["persons"] == "persons.parquet"
    assert names["known_to_services"] == "known_to_services.parquet"
    assert names["scores"] == "scores.parquet"
    assert names["surfaced"] == "surfaced.parquet"
    assert names["run_summary"] == "run_summary.json"
    assert len(set(names.values())) == len(names), "two entries name the same file"
    assert run.root == Path("/home/runs/2026-11-22")
    assert RunPaths.of_folder(run.root) == run


def test_earlier_nights_are_the_date_named_folders_newest_first(tmp_path: Path) -> None:
    for name in ("2026-11-20", "2026-11-22", "2026-11-23", "not-a-night"):
        (tmp_path / "runs" / name).mkdir(parents=True)
    assert [run.as_of.isoformat() for run in nights_through(tmp_path, AS_OF)] == ["2026-11-22", "2026-11-20"]
    assert nights_through(tmp_path / "elsewhere", AS_OF) == []
