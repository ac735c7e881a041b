"""Audit a night's extracts before anything is routed (write, audit, publish; issue 21).

Runs right after ingest, on what ingest wrote to the night's staging folder, so
a bad night is held before linkage spends its minutes. Each configured source
is checked (``sources.yaml`` ``checks``, :class:`early_warning.config.SourceChecks`):

- **present**: its folder and both files were sent and could be read (header as
  expected, not an empty file, within the size limits): ingest's own verdict;
- **not empty**: each file holds at least one data row (a header alone is not a night);
- **whole**: a CSV file ends with a line break (a copy cut off mid-line does not);
- **rows**: each file's rows are within a band of the previous whole night's
  (the first night has nothing to compare with, so no band);
- **fresh**: the newest event is at most ``max_age_days`` before the night;
- **quarantine**: the share of a file's rows set aside stays under the limit.

The gazetteer (the address list the queue is split by; ``sources.yaml`` ``gazetteer``)
is checked too: read, not empty, rows within a band of the previous whole night's, and
no locality of the previous whole night's gone.

A failed check on a source not marked ``warn_only`` holds the night. Every
check says, in one plain line, the file and what was wrong: these lines are
the held night's console output, its Prefect state message and its summary.
Counts and dates only: nothing from an extract's rows is repeated.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from early_warning.config import Config, GazetteerChecks, SourceChecks
from early_warning.paths import RunPaths, nights_through, read_json, write_text


@dataclass(frozen=True)
class Check:
    """One check of one source (or one of its files)."""

    source: str
    check: str
    passed: bool
    message: str
    warn_only: bool = False

    @property
    def holds(self) -> bool:
        return not self.passed and not self.warn_only


def _previous_whole_night(run: RunPaths) -> RunPaths | None:
    """The newest published night before tonight whose summary says it was routed whole."""
    for night in nights_through(run.home, run.as_of - timedelta(days=1)):
        if not night.run_summary.exists() or not night.ingest_report.exists():
            continue
        status = read_json(night.run_summary).get("status", "routed")  # older summaries: whole
        if status == "routed":
            return night
    return None


def _ends_mid_line(path: Path) -> bool:
    """True when a CSV file's last byte is not a line break: the copy was cut off."""
    if path.suffix != ".csv" or not path.is_file():
        return False
    size = path.stat().st_size
    if size == 0:
        return False
    with path.open("rb") as handle:
        handle.seek(size - 1)
        return handle.read(1) not in (b"\n", b"\r")


def _file_checks(
    name: str, kind: str, file: dict[str, Any], before: dict[str, Any] | None, checks: SourceChecks
) -> list[Check]:
    path, rows = file["path"], int(file.get("rows_read") or 0)
    out = [
        Check(name, "not empty", rows > 0, f"{path}: no data rows (a header and nothing else)"),
    ]
    if checks.ends_with_line_break:
        cut = _ends_mid_line(Path(path))
        out.append(Check(name, "whole", not cut, f"{path}: ends mid-line (the copy was cut off)"))
    quarantined = int(file.get("quarantined") or 0)
    share = quarantined / rows if rows else 0.0
    out.append(
        Check(
            name,
            "quarantine",
            share <= checks.max_quarantined_share,
            f"{path}: {quarantined:,} of {rows:,} rows quarantined ({share:.0%}; the limit is "
            f"{checks.max_quarantined_share:.0%})",
        )
    )
    previous = int((before or {}).get("rows_read") or 0)
    if previous:
        low = previous * (1 - checks.rows_may_fall_percent / 100)
        high = previous * (1 + checks.rows_may_rise_percent / 100)
        out.append(
            Check(
                name,
                "rows",
                low <= rows <= high,
                f"{path}: {rows:,} rows against {previous:,} the previous whole night "
                f"(allowed {low:,.0f} to {high:,.0f})",
            )
        )
    return out


def _newest_events(run: RunPaths) -> dict[str, date]:
    if not run.canonical_events.exists():
        return {}
    newest = (
        pl.scan_parquet(run.canonical_events).group_by("source").agg(pl.col("event_date").max()).collect()
    )
    return {str(source): day for source, day in newest.iter_rows() if day is not None}


def _source_checks(
    name: str,
    source: dict[str, Any] | None,
    before: dict[str, Any] | None,
    newest: date | None,
    as_of: date,
    checks: SourceChecks,
) -> list[Check]:
    if source is None or source["status"] != "ingested":
        why = (source or {}).get("message") or "nothing was read for it"
        return [Check(name, "present", False, f"{name}: {why}")]
    out = [Check(name, "present", True, f"{name}: read")]
    for kind, file in source["files"].items():
        prior = ((before or {}).get("files") or {}).get(kind)
        out += _file_checks(name, kind, file, prior, checks)
    if checks.max_age_days is not None:
        age = (as_of - newest).days if newest else None
        fresh = age is not None and age <= checks.max_age_days
        said = f"newest event {newest.isoformat()}, {age} days before the night" if newest else "no events"
        events_path = source["files"].get("events", {}).get("path", name)
        out.append(
            Check(
                name,
                "fresh",
                fresh,
                f"{events_path}: stale: {said} {as_of.isoformat()} (the limit is {checks.max_age_days} days)",
            )
        )
    return out


def _gazetteer_localities(run: RunPaths) -> list[str] | None:
    """Tonight's gazetteer localities (team names, no address), or None when it was not written."""
    if not run.canonical_gazetteer.exists():
        return None
    found = (
        pl.scan_parquet(run.canonical_gazetteer).select(pl.col("locality").drop_nulls().unique()).collect()
    )
    return sorted(str(name) for name in found["locality"])


def _gazetteer_checks(
    gazetteer: dict[str, Any] | None,
    before: dict[str, Any] | None,
    localities: list[str] | None,
    localities_before: list[str] | None,
    checks: GazetteerChecks,
) -> list[Check]:
    """The address list the queue is split by: present, not empty, rows within the band of the
    previous whole night's, and no locality gone (people there would reach no team)."""
    if gazetteer is None:
        return []  # an ingest report from before the gazetteer was reported
    path = gazetteer.get("path") or "gazetteer.csv"
    if gazetteer.get("skipped"):
        return [
            Check(
                "gazetteer", "present", False, f"gazetteer: {gazetteer.get('message') or path + ': not read'}"
            )
        ]
    rows = int(gazetteer.get("rows_read") or 0)
    out = [Check("gazetteer", "not empty", rows > 0, f"{path}: no data rows (a header and nothing else)")]
    previous = int((before or {}).get("rows_read") or 0)
    if previous:
        low = previous * (1 - checks.rows_may_fall_percent / 100)
        high = previous * (1 + checks.rows_may_rise_percent / 100)
        out.append(
            Check(
                "gazetteer",
                "rows",
                low <= rows <= high,
                f"{path}: {rows:,} addresses against {previous:,} the previous whole night "
                f"(allowed {low:,.0f} to {high:,.0f})",
            )
        )
    if localities is not None and localities_before and not checks.localities_may_vanish:
        gone = sorted(set(localities_before) - set(localities))
        out.append(
            Check(
                "gazetteer",
                "localities",
                not gone,
                f"{path}: locality {', '.join(gone)} was in the previous whole night's gazetteer and is not "
                "tonight (its people would reach no team; if the council merged teams, set "
                "localities_may_vanish in sources.yaml gazetteer for one night)",
            )
        )
    return out


def audit_night(run: RunPaths, config: Config) -> dict[str, Any]:
    """Check tonight's ingested extracts (in ``run``, the staging folder) source by source,
    write ``audit.json`` beside them and return it: ``held`` is True when any check on a
    source not marked warn-only failed, ``failed`` and ``warnings`` are one plain line each."""
    report = read_json(run.ingest_report)
    previous = _previous_whole_night(run)
    before = read_json(previous.ingest_report)["sources"] if previous else {}
    newest = _newest_events(run)
    checks: list[Check] = []
    for name, source in config.sources.items():
        found = _source_checks(
            name, report["sources"].get(name), before.get(name), newest.get(name), run.as_of, source.checks
        )
        checks += [replace(c, warn_only=source.checks.warn_only) for c in found]
    localities = _gazetteer_localities(run)
    audit_before = read_json(previous.audit) if previous and previous.audit.exists() else {}
    gazetteer_checks = config.gazetteer_checks
    checks += [
        replace(c, warn_only=gazetteer_checks.warn_only)
        for c in _gazetteer_checks(
            report.get("gazetteer"),
            read_json(previous.ingest_report).get("gazetteer") if previous else None,
            localities,
            audit_before.get("gazetteer_localities"),
            gazetteer_checks,
        )
    ]
    failed = [c for c in checks if c.holds]
    audit = {
        "held": bool(failed),
        "compared_with": previous.as_of.isoformat() if previous else None,
        "failed": [c.message for c in failed],
        "warnings": [c.message for c in checks if not c.passed and c.warn_only],
        "checks": [asdict(c) for c in checks],
        "gazetteer_localities": localities,
    }
    write_text(json.dumps(audit, indent=2, sort_keys=True), run.audit)
    return audit


def held_message(audit: dict[str, Any]) -> str:
    """The held night's one-paragraph reason, for the Prefect state and the verdict."""
    failed = audit["failed"]
    return f"{len(failed)} check(s) failed: " + "; ".join(failed)
