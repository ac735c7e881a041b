"""The checks that hold a night (:mod:`flows.audit`), each on its own: ingest reports and
canonical events written as a night writes them, audited against the configuration."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from early_warning.config import Config, SourceChecks, load_config
from early_warning.paths import RunPaths, write_frame, write_text
from flows.audit import audit_night

NIGHT = date(2026, 6, 30)


def _file(path: str, rows: int, quarantined: int = 0) -> dict[str, Any]:
    return {"path": path, "rows_read": rows, "accepted": rows - quarantined, "quarantined": quarantined}


def write_night(
    run: RunPaths, config: Config, rows: int = 1000, *, status: str | None = None, **files: dict[str, Any]
) -> None:
    """An ingested night: every source ingested with ``rows`` people and events (``files``
    overrides one source's files), events up to the night, and a summary when ``status``."""
    extracts = run.home / "extracts"
    sources = {
        name: {
            "status": "ingested",
            "files": {
                kind: _file(str(extracts / name / f"{kind}.parquet"), rows) for kind in ("people", "events")
            },
        }
        for name in config.sources
    }
    for name, source_files in files.items():
        sources[name]["files"] |= source_files
    write_text(json.dumps({"sources": sources}), run.ingest_report)
    events = pl.DataFrame({"source": list(config.sources), "event_date": [run.as_of] * len(config.sources)})
    write_frame(events, run.canonical_events)
    if status:
        write_text(json.dumps({"status": status}), run.run_summary)


def with_checks(config: Config, source: str, **checks: Any) -> Config:
    sources = dict(config.sources)
    sources[source] = sources[source].model_copy(update={"checks": SourceChecks(**checks)})
    return config.model_copy(update={"sources": sources})


@pytest.fixture
def config() -> Config:
    return load_config()


def test_a_clean_first_night_passes_with_no_rows_band(tmp_path: Path, config: Config) -> None:
    run = RunPaths(tmp_path, NIGHT).staged()
    write_night(run, config)
    audit = audit_night(run, config)
    assert audit["held"] is False
    assert audit["compared_with"] is None
    assert not [c for c in audit["checks"] if c["check"] == "rows"]
    assert json.loads(run.audit.read_text()) == audit


def test_rows_outside_the_band_of_the_previous_whole_night_hold_it(tmp_path: Path, config: Config) -> None:
    write_night(RunPaths(tmp_path, NIGHT - timedelta(days=1)), config, status="routed")
    run = RunPaths(tmp_path, NIGHT).staged()
    events = str(tmp_path / "extracts" / "benefits" / "events.csv")
    write_night(run, config, benefits={"events": _file(events, 1600)})
    audit = audit_night(run, config)
    assert audit["compared_with"] == (NIGHT - timedelta(days=1)).isoformat()
    assert audit["failed"] == [
        f"{events}: 1,600 rows against 1,000 the previous whole night (allowed 700 to 1,500)"
    ]
    write_night(run, config, benefits={"events": _file(events, 1400)})
    assert audit_night(run, config)["held"] is False


def test_a_held_or_failed_night_is_not_the_band_to_compare_with(tmp_path: Path, config: Config) -> None:
    write_night(RunPaths(tmp_path, NIGHT - timedelta(days=3)), config, status="routed")
    write_night(RunPaths(tmp_path, NIGHT - timedelta(days=1)), config, 10, status="failed")
    run = RunPaths(tmp_path, NIGHT).staged()
    write_night(run, config)
    audit = audit_night(run, config)
    assert audit["compared_with"] == (NIGHT - timedelta(days=3)).isoformat()
    assert audit["held"] is False


def test_too_much_quarantined_holds_the_night(tmp_path: Path, config: Config) -> None:
    run = RunPaths(tmp_path, NIGHT).staged()
    people = str(tmp_path / "extracts" / "asb" / "people.csv")
    write_night(run, config, asb={"people": _file(people, 1000, quarantined=60)})
    assert audit_night(run, config)["failed"] == [
        f"{people}: 60 of 1,000 rows quarantined (6%; the limit is 5%)"
    ]


def test_a_warn_only_source_warns_and_does_not_hold(tmp_path: Path, config: Config) -> None:
    config = with_checks(config, "asb", warn_only=True)
    run = RunPaths(tmp_path, NIGHT).staged()
    people = str(tmp_path / "extracts" / "asb" / "people.csv")
    write_night(run, config, asb={"people": _file(people, 1000, quarantined=600)})
    audit = audit_night(run, config)
    assert audit["held"] is False
    assert audit["warnings"] == [f"{people}: 600 of 1,000 rows quarantined (60%; the limit is 5%)"]


def test_freshness_is_per_source_and_may_be_switched_off(tmp_path: Path, config: Config) -> None:
    run = RunPaths(tmp_path, NIGHT + timedelta(days=10)).staged()
    write_night(run, config)
    write_frame(
        pl.DataFrame({"source": list(config.sources), "event_date": [NIGHT] * len(config.sources)}),
        run.canonical_events,
    )
    stale = {
        c["source"] for c in audit_night(run, config)["checks"] if c["check"] == "fresh" and not c["passed"]
    }
    assert stale == {"council_tax", "contact_centre"}  # 7 days; benefits 14, housing rent 30, ...
    config = with_checks(config, "council_tax", max_age_days=None)
    checks = audit_night(run, config)["checks"]
    assert not [c for c in checks if c["source"] == "council_tax" and c["check"] == "fresh"]


def test_a_csv_cut_off_mid_line_is_caught_and_a_whole_one_is_not(tmp_path: Path, config: Config) -> None:
    whole, cut = tmp_path / "whole.csv", tmp_path / "cut.csv"
    whole.write_text("a,b\n1,2\n")
    cut.write_text("a,b\n1,2\n3,")
    run = RunPaths(tmp_path, NIGHT).staged()
    write_night(
        run, config, council_tax={"events": _file(str(cut), 1000)}, asb={"events": _file(str(whole), 1000)}
    )
    assert audit_night(run, config)["failed"] == [f"{cut}: ends mid-line (the copy was cut off)"]
    lenient = with_checks(config, "council_tax", ends_with_line_break=False)
    assert audit_night(run, lenient)["held"] is False, "a council whose exports leave the last break out"


def _with_gazetteer(run: RunPaths, rows: int, localities: list[str] | None = None, **extra: Any) -> Path:
    """Add the gazetteer to a night written by :func:`write_night` (its report entry, and its
    canonical rows when ``localities`` is given)."""
    path = run.home / "extracts" / "gazetteer.csv"
    report = json.loads(run.ingest_report.read_text())
    report["gazetteer"] = {**_file(str(path), rows), "skipped": False, "message": None, **extra}
    write_text(json.dumps(report), run.ingest_report)
    if localities is not None:
        names = [localities[i % len(localities)] for i in range(rows)]
        write_frame(
            pl.DataFrame({"uprn": [str(i) for i in range(rows)], "locality": names}), run.canonical_gazetteer
        )
    return path


def _gazetteer_whole_night(tmp_path: Path, config: Config, rows: int, localities: list[str]) -> None:
    """A routed night before tonight, its gazetteer audited (so its localities are on record)."""
    before = RunPaths(tmp_path, NIGHT - timedelta(days=1))
    write_night(before, config, status="routed")
    _with_gazetteer(before, rows, localities)
    audit_night(before, config)


def test_a_gazetteer_that_was_not_read_holds_the_night(tmp_path: Path, config: Config) -> None:
    run = RunPaths(tmp_path, NIGHT).staged()
    write_night(run, config)
    message = f"{tmp_path}/extracts/gazetteer.csv: not found"
    _with_gazetteer(run, 0, skipped=True, message=message)
    audit = audit_night(run, config)
    assert audit["held"] is True
    assert audit["failed"] == [f"gazetteer: {message}"]


def test_a_gazetteer_far_shorter_than_the_last_whole_nights_holds_the_night(
    tmp_path: Path, config: Config
) -> None:
    _gazetteer_whole_night(tmp_path, config, 1000, ["Northgate", "Riverside"])
    run = RunPaths(tmp_path, NIGHT).staged()
    write_night(run, config)
    path = _with_gazetteer(run, 480, ["Northgate", "Riverside"])
    audit = audit_night(run, config)
    assert audit["failed"] == [
        f"{path}: 480 addresses against 1,000 the previous whole night (allowed 900 to 1,250)"
    ]
    _with_gazetteer(run, 990, ["Northgate", "Riverside"])
    assert audit_night(run, config)["held"] is False


def test_a_locality_gone_from_the_gazetteer_holds_the_night_unless_the_council_says_so(
    tmp_path: Path, config: Config
) -> None:
    _gazetteer_whole_night(tmp_path, config, 1000, ["Northgate", "Riverside"])
    run = RunPaths(tmp_path, NIGHT).staged()
    write_night(run, config)
    _with_gazetteer(run, 1000, ["Northgate"])
    audit = audit_night(run, config)
    assert len(audit["failed"]) == 1
    assert (
        "locality Riverside was in the previous whole night's gazetteer and is not tonight"
        in audit["failed"][0]
    )
    assert audit["gazetteer_localities"] == ["Northgate"]
    merged = config.model_copy(
        update={
            "gazetteer_checks": config.gazetteer_checks.model_copy(update={"localities_may_vanish": True})
        }
    )
    assert audit_night(run, merged)["held"] is False
    warn = config.model_copy(
        update={"gazetteer_checks": config.gazetteer_checks.model_copy(update={"warn_only": True})}
    )
    warned = audit_night(run, warn)
    assert warned["held"] is False
    assert len(warned["warnings"]) == 1
