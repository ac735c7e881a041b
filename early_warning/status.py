"""``early-warning status``: what the person on call needs to know about a home, read-only.

Whether a night is running now (the lock record and its process, read without
taking the lock: :func:`flows.night_lock.is_running`), the last whole night, the
nights held or failed since (with their reasons, from each night's
``run_summary.json``), nights that stopped without a summary (killed), each
source's newest record and rows against the whole night before, the open
items in the review queue, the disk the home uses and the next scheduled run.
Nothing here writes: the queue is opened read-only, Prefect's database too,
and only counts and dates are shown (never a value from an extract).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from early_warning.paths import HELD, STAGING, RunPaths, nights_through, read_json
from flows.night_lock import is_running
from flows.retention import night_status

#: How many of the newest nights ``status`` looks through for held, failed or stopped ones.
RECENT_NIGHTS = 14


@dataclass
class Status:
    """Everything ``status`` prints, gathered first so tests can read it without parsing text."""

    home: Path
    running: dict[str, Any] | None = None
    last_whole: str | None = None
    last_whole_summary: dict[str, Any] = field(default_factory=dict)
    not_whole: list[tuple[str, str, str]] = field(default_factory=list)  # night, status, reason
    sources: list[tuple[str, str | None, int, int | None]] = field(default_factory=list)
    open_items: dict[str, int] | None = None
    disk_bytes: int = 0
    next_run: str | None = None


def gather(home: Path, queue_url: str) -> Status:
    status = Status(home=home, running=is_running(home))
    nights = nights_through(home, date.max)
    whole = [night for night in nights if night_status(night) == "routed"]
    if whole:
        status.last_whole = whole[0].as_of.isoformat()
        status.last_whole_summary = _summary(whole[0])
        status.sources = source_rows(whole[0], whole[1] if len(whole) > 1 else None)
    for night in not_published(home, nights)[:RECENT_NIGHTS]:
        kind = night_status(night)
        if kind == "routed":
            continue
        if kind is None and status.running and status.running.get("night") == night.as_of.isoformat():
            continue  # the night running now
        status.not_whole.append((night.as_of.isoformat(), kind or "stopped", _reason(night, kind)))
    status.open_items = open_items(queue_url)
    status.disk_bytes = disk_used(home)
    status.next_run = next_scheduled_run(home)
    return status


def not_published(home: Path, published: list[RunPaths]) -> list[RunPaths]:
    """Every night that may not have reached caseworkers, newest first: the published ones
    (an older home kept held or failed nights there), the held ones (``runs/.held``) and the
    ones a failure or a kill left in the staging folder (``runs/.staging``)."""
    held = nights_through(home, date.max, area=HELD)
    staged = nights_through(home, date.max, area=STAGING)
    return sorted([*published, *held, *staged], key=lambda night: night.as_of, reverse=True)


def _summary(run: RunPaths) -> dict[str, Any]:
    try:
        summary = read_json(run.run_summary)
    except (OSError, ValueError):
        return {}
    return summary if isinstance(summary, dict) else {}


def _reason(run: RunPaths, kind: str | None) -> str:
    """A held or failed night's reason, read tolerantly from its summary (one line)."""
    if kind is None:
        return "no run_summary.json: the night stopped before the end (killed or crashed); see logs/nightly.jsonl"
    summary = _summary(run)
    for key in ("reason", "verdict", "error", "message"):
        if summary.get(key):
            return str(summary[key]).splitlines()[0]
    audit = summary.get("audit")
    if isinstance(audit, dict) and isinstance(audit.get("failed"), list) and audit["failed"]:
        return f"{len(audit['failed'])} check(s) failed: " + "; ".join(map(str, audit["failed"]))
    for key in ("failed_checks", "reasons", "checks"):
        items = summary.get(key)
        if isinstance(items, list) and items:
            return "; ".join(_check_line(item) for item in items)
    return "no reason recorded in run_summary.json"


def _check_line(item: Any) -> str:
    if isinstance(item, dict):
        return str(item.get("message") or item.get("reason") or item.get("check") or item)
    return str(item)


def source_rows(night: RunPaths, before: RunPaths | None) -> list[tuple[str, str | None, int, int | None]]:
    """Per source: its newest record's date, rows read tonight and rows read the whole night before."""
    rows_now = _rows_by_source(night)
    rows_before = _rows_by_source(before) if before else {}
    newest = _newest_by_source(night)
    return [(name, newest.get(name), rows, rows_before.get(name)) for name, rows in rows_now.items()]


def _rows_by_source(run: RunPaths) -> dict[str, int]:
    try:
        report = read_json(run.ingest_report)
    except (OSError, ValueError):
        return {}
    return {
        name: sum(int(f.get("rows_read") or 0) for f in (source.get("files") or {}).values())
        for name, source in (report.get("sources") or {}).items()
    }


def _newest_by_source(run: RunPaths) -> dict[str, str]:
    """The newest event date per source in the night's canonical events (dates only)."""
    if not run.canonical_events.exists():
        return {}
    import polars as pl

    newest = (
        pl.scan_parquet(run.canonical_events).group_by("source").agg(pl.col("event_date").max()).collect()
    )
    return {row["source"]: str(row["event_date"]) for row in newest.iter_rows(named=True)}


def open_items(queue_url: str) -> dict[str, int] | None:
    """Open review items (new or in review) per locality, read-only; None when there is no queue yet."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from review_ui.store import OPEN_STATUSES
    from review_ui.store.tables import ReviewItem
    from review_ui.store.training_outcomes import queue_exists, read_only_engine

    if not queue_exists(queue_url):
        return None
    engine = read_only_engine(queue_url)
    query = (
        select(ReviewItem.locality, func.count())
        .where(ReviewItem.status.in_(OPEN_STATUSES))
        .group_by(ReviewItem.locality)
        .order_by(ReviewItem.locality)
    )
    try:
        with Session(engine) as session:
            return {str(locality): int(count) for locality, count in session.execute(query).all()}
    finally:
        engine.dispose()


def disk_used(home: Path) -> int:
    total = 0
    for folder, _, files in os.walk(home):
        for name in files:
            try:
                total += (Path(folder) / name).lstat().st_size
            except OSError:
                continue
    return total


def next_scheduled_run(home: Path) -> str | None:
    """The next scheduled nightly run in the home's Prefect database (``schedule``), or None."""
    database = home / "prefect" / "prefect.db"
    if not database.exists():
        return None
    try:
        with sqlite3.connect(f"file:{database.resolve()}?mode=ro", uri=True, timeout=5) as db:
            row = db.execute(
                "SELECT MIN(flow_run.next_scheduled_start_time) FROM flow_run "
                "JOIN flow ON flow.id = flow_run.flow_id "
                "WHERE flow.name = 'nightly' AND flow_run.state_type = 'SCHEDULED'"
            ).fetchone()
    except sqlite3.Error:
        return None
    return str(row[0]) if row and row[0] else None


def render(status: Status) -> str:
    """The text ``early-warning status`` prints."""
    lines = [f"Home: {status.home}"]
    if status.running:
        r = status.running
        lines.append(
            f"Running now: night {r.get('night', '?')} since {r.get('started', '?')}, "
            f"PID {r.get('pid', '?')} on {r.get('host', '?')}."
        )
    else:
        lines.append("Running now: no night.")
    if status.last_whole:
        route = status.last_whole_summary.get("route") or {}
        lines.append(
            f"Last whole night: {status.last_whole} ({route.get('new_items', '?')} new item(s) sent for review)."
        )
    else:
        lines.append("Last whole night: none yet.")
    if status.not_whole:
        lines.append(f"Nights that did not reach caseworkers (of the newest {RECENT_NIGHTS}):")
        lines += [f"  {night}: {kind.upper()} - {reason}" for night, kind, reason in status.not_whole]
    if status.sources:
        lines.append(
            f"Sources on {status.last_whole} (newest record; rows read, and the whole night before):"
        )
        for name, newest, rows, before in status.sources:
            change = f"{before:,} before" if before is not None else "no whole night before"
            lines.append(f"  {name:<20} newest {newest or '-':<10}  {rows:>10,} rows ({change})")
    if status.open_items is None:
        lines.append("Review queue: no queue database yet.")
    else:
        total = sum(status.open_items.values())
        per = ", ".join(f"{locality} {count:,}" for locality, count in status.open_items.items())
        lines.append(f"Open review items: {total:,}" + (f" ({per})" if per else "") + ".")
    lines.append(f"Disk used by the home: {status.disk_bytes / 1024**2:,.1f} MB.")
    lines.append(
        f"Next scheduled run: {status.next_run}."
        if status.next_run
        else "Next scheduled run: none found (no `early-warning schedule` on this home's Prefect database)."
    )
    return "\n".join(lines)
