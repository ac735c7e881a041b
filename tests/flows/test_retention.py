"""The identifiers retention rule (:mod:`flows.retention`): which nights lose their
canonical rows and quarantine, and that the night tonight's reuse builds on never does.

The rule running inside a real night, counted in its summary, is checked in
``test_nightly_flow.py``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flows.retention import expired_folders, prune_identifiers
from tests.flows.test_nightly_flow import _plant_night

TONIGHT = date(2026, 6, 30)


def _names(folders: list[Path], home: Path) -> list[str]:
    return sorted(str(folder.relative_to(home)) for folder in folders)


def test_nights_older_than_the_retention_lose_their_identifiers(tmp_path: Path) -> None:
    _plant_night(tmp_path, "2026-05-01")
    _plant_night(tmp_path, "2026-06-10")
    _plant_night(tmp_path, "2026-06-20")
    _plant_night(tmp_path, "2026-06-01", under="training/runs")
    assert _names(expired_folders(tmp_path, TONIGHT, 14), tmp_path) == [
        "runs/2026-05-01/canonical",
        "runs/2026-05-01/quarantine",
        "runs/2026-06-10/canonical",
        "runs/2026-06-10/quarantine",
        "training/runs/2026-06-01/canonical",
        "training/runs/2026-06-01/quarantine",
    ]


def test_the_last_whole_night_is_kept_however_old(tmp_path: Path) -> None:
    """A nightly paused for a month: the next night still builds on the last one that finished."""
    _plant_night(tmp_path, "2026-04-01")
    _plant_night(tmp_path, "2026-05-01")
    _plant_night(tmp_path, "2026-05-02", whole=False)  # failed before its summary
    pruned = prune_identifiers(tmp_path, TONIGHT, 14)
    assert pruned.nights == ("2026-04-01", "2026-05-02")
    assert (tmp_path / "runs" / "2026-05-01" / "canonical" / "people.parquet").exists()
    assert not (tmp_path / "runs" / "2026-04-01" / "canonical").exists()
    assert pruned.to_dict(14) == {
        "retention_days": 14,
        "folders_deleted": 4,
        "nights_pruned": ["2026-04-01", "2026-05-02"],
    }


def test_whole_night_folders_older_than_their_retention_are_deleted_and_counted(tmp_path: Path) -> None:
    """runs_retention_days (issue 21 item 6): old night folders go; the newest whole night stays,
    however old, and a held or failed night does not count as whole."""
    from flows.retention import prune_run_folders

    _plant_night(tmp_path, "2026-03-01")
    _plant_night(tmp_path, "2026-03-02")  # the newest whole night: kept
    (_plant_night(tmp_path, "2026-03-03") / "run_summary.json").write_text('{"status": "held"}')
    _plant_night(tmp_path, "2026-03-04", whole=False)  # killed: no summary
    pruned = prune_run_folders(tmp_path, TONIGHT, 60)
    assert pruned == {
        "runs_retention_days": 60,
        "run_folders_deleted": 3,
        "run_folders_pruned": ["2026-03-04", "2026-03-03", "2026-03-01"],
    }
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["2026-03-02"]
    assert prune_run_folders(tmp_path, TONIGHT, 200)["run_folders_deleted"] == 0


def test_held_and_failed_nights_lose_their_identifiers_under_the_same_rule(tmp_path: Path) -> None:
    """A night its checks held (``runs/.held``) or that failed part-way (``runs/.staging``)
    holds canonical rows and quarantine too: the same retention applies, from its date."""
    _plant_night(tmp_path, "2026-05-01", under="runs/.held")
    _plant_night(tmp_path, "2026-05-02", under="runs/.staging", whole=False)
    _plant_night(tmp_path, "2026-06-25", under="runs/.held")  # within the retention: kept
    pruned = prune_identifiers(tmp_path, TONIGHT, 14)
    assert pruned.nights == ("2026-05-01", "2026-05-02")
    assert not (tmp_path / "runs" / ".held" / "2026-05-01" / "canonical").exists()
    assert not (tmp_path / "runs" / ".staging" / "2026-05-02" / "quarantine").exists()
    assert (tmp_path / "runs" / ".held" / "2026-06-25" / "canonical" / "people.parquet").exists()
