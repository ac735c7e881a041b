"""Personal data at rest: old nights' identifiers deleted by the night itself.

A night's ``canonical/`` folder holds every name, date of birth, NI and NHS
number, phone, email and address the extracts carried, and ``quarantine/``
holds raw rejected rows; training keeps the same two under
``<home>/training/runs/<as_of>/``. Nothing after the night reads them except
the next night's reuse (:mod:`flows.reuse`), so each night deletes them from
nights more than ``identifiers_retention_days`` old (``routing.yaml``, 14 by
default) and counts what it deleted in ``run_summary.json``.

The newest whole night before tonight (one that wrote its ``run_summary.json``)
is never pruned, however old: it is the night tonight's reuse builds on, and
a council whose nightly paused for a month must not lose it. Everything else
a night writes holds pseudonymous ids and counts, not identifiers, and stays.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from early_warning.paths import HELD, STAGING, RunPaths, nights_through, read_json


@dataclass(frozen=True)
class Pruned:
    """What one night's retention rule deleted: the folders (for the summary, counted) and nights."""

    folders: tuple[Path, ...]
    nights: tuple[str, ...]

    def to_dict(self, retention_days: int) -> dict[str, object]:
        return {
            "retention_days": retention_days,
            "folders_deleted": len(self.folders),
            "nights_pruned": list(self.nights),
        }


def identifier_folders(run: RunPaths) -> tuple[Path, ...]:
    """The folders of a night that hold identifiers: canonical rows and quarantined raw rows."""
    return (run.canonical_dir, run.quarantine_dir)


def _last_whole_night(nights: list[RunPaths]) -> date | None:
    return next((night.as_of for night in nights if night.run_summary.exists()), None)


def expired_folders(home: Path, tonight: date, retention_days: int) -> list[Path]:
    """The identifier folders under ``home`` (nights and training) older than the retention.

    A night dated before ``tonight - retention_days`` is expired, except the newest
    whole night before tonight in ``<home>/runs`` (the next night's reuse reads it).
    """
    cutoff = tonight - timedelta(days=retention_days)
    before_tonight = tonight - timedelta(days=1)
    expired: list[Path] = []
    for root, keep_last in ((home, True), (home / "training", False)):
        nights = nights_through(root, before_tonight)
        keep = _last_whole_night(nights) if keep_last else None
        for night in nights:
            if night.as_of < cutoff and night.as_of != keep:
                expired += [folder for folder in identifier_folders(night) if folder.exists()]
    for night in _unpublished_nights(home):
        if night.as_of < cutoff:
            expired += [folder for folder in identifier_folders(night) if folder.exists()]
    return expired


def _unpublished_nights(home: Path) -> list[RunPaths]:
    """Nights a check held (``runs/.held``) or that failed part-way (``runs/.staging``): they hold
    identifiers too, and are never the night the next one builds on."""
    nights: list[RunPaths] = []
    for area, place in ((HELD, RunPaths.held), (STAGING, RunPaths.staged)):
        folder = home / "runs" / area
        for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
            try:
                as_of = date.fromisoformat(entry.name)
            except ValueError:
                continue
            nights.append(place(RunPaths(home=home, as_of=as_of)))
    return nights


def prune_identifiers(home: Path, tonight: date, retention_days: int) -> Pruned:
    """Delete the expired identifier folders (:func:`expired_folders`); returns what went."""
    folders = expired_folders(home, tonight, retention_days)
    for folder in folders:
        shutil.rmtree(folder)
    nights = sorted({folder.parent.name for folder in folders})
    return Pruned(folders=tuple(folders), nights=tuple(nights))


def night_status(run: RunPaths) -> str | None:
    """A night's status as its ``run_summary.json`` says ("routed", "held", "failed"; a summary
    without the key is a night that routed), or None when it has no summary."""
    try:
        summary = read_json(run.run_summary)
    except FileNotFoundError:
        return None
    except ValueError:
        return "unreadable"
    status = summary.get("status") if isinstance(summary, dict) else None
    return str(status) if status else "routed"


def is_whole(run: RunPaths) -> bool:
    """A night that ran to the end and routed its list (not held, not failed)."""
    return night_status(run) == "routed"


def expired_runs(home: Path, tonight: date, retention_days: int) -> list[RunPaths]:
    """Night folders under ``<home>/runs`` dated before ``tonight - retention_days``, except the
    newest whole night before tonight (never pruned, however old: reuse and ``status`` read it)."""
    nights = nights_through(home, tonight - timedelta(days=1))
    keep = next((night.as_of for night in nights if is_whole(night)), None)
    cutoff = tonight - timedelta(days=retention_days)
    return [night for night in nights if night.as_of < cutoff and night.as_of != keep]


def prune_run_folders(home: Path, tonight: date, retention_days: int) -> dict[str, object]:
    """Delete whole night folders older than ``runs_retention_days`` (``routing.yaml``, 60 by
    default); returns what went, for the night's summary."""
    runs = expired_runs(home, tonight, retention_days)
    for run in runs:
        shutil.rmtree(run.root)
    return {
        "runs_retention_days": retention_days,
        "run_folders_deleted": len(runs),
        "run_folders_pruned": [run.as_of.isoformat() for run in runs],
    }
