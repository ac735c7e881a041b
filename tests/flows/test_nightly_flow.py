"""The nightly Prefect flow end to end: outputs per the data contract, the
queue filled from them, safe to re-run, survives a bad file and a crash."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from early_warning.cli import main

AS_OF = "2026-06-30"  # the night the shared small borough is generated for (conftest)
QUEUE_TABLES = ("review_items", "review_item_history", "review_outcomes", "route_runs", "audit_log")
VOLATILE = {"recorded_at", "routed_at", "first_routed_at", "last_routed_at", "at", "times_routed"}


def run_night(extracts: Path, home: Path, as_of: str = AS_OF) -> int:
    return main(["nightly", "--extracts", str(extracts), "--as-of", as_of, "--home", str(home), "--quiet"])


def queue_rows(home: Path, table: str) -> list[dict[str, object]]:
    with sqlite3.connect(home / "review_queue.sqlite3") as db:
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute(f"SELECT * FROM {table} ORDER BY 1")]
    return [{k: v for k, v in row.items() if k not in VOLATILE} for row in rows]


def queue_dump(home: Path) -> dict[str, list[dict[str, object]]]:
    return {table: queue_rows(home, table) for table in QUEUE_TABLES}


@pytest.fixture(scope="module")
def first_night(small_borough: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    assert run_night(small_borough / "extracts", home) == 0
    return home


def test_a_night_writes_the_contracts_outputs(first_night: Path) -> None:
    run = first_night / "runs" / AS_OF
    report = json.loads((run / "ingest_report.json").read_text())
    assert report["totals"]["rows_read"] == report["totals"]["accepted"] + report["totals"]["quarantined"]
    assert (run / "quarantine").is_dir()
    persons = pl.read_parquet(run / "persons.parquet")
    assert {"person_id", "source", "source_person_id"} <= set(persons.columns)
    people = pl.read_parquet(run / "canonical" / "people.parquet")
    assert persons.height == people.height, "every accepted source record is resolved to a person"
    surfaced = pl.read_parquet(run / "surfaced.parquet")
    assert {"person_id", "rank", "score", "locality", "reasons"} <= set(surfaced.columns)
    assert surfaced.height > 0
    assert surfaced["person_id"].n_unique() == surfaced.height
    assert all(2 <= len(reasons) <= 5 for reasons in surfaced["reasons"].to_list())
    summary = json.loads((run / "run_summary.json").read_text())
    assert set(summary["seconds_per_stage"]) == {
        "ingest",
        "link",
        "graph",
        "features",
        "thresholds",
        "score",
        "route",
    }


def test_nobody_surfaced_is_known_to_a_service_or_over_capacity(first_night: Path) -> None:
    from early_warning.config import load_config

    run = first_night / "runs" / AS_OF
    surfaced = pl.read_parquet(run / "surfaced.parquet")
    known = pl.read_parquet(run / "known_to_services.parquet")
    assert surfaced.join(known, on="person_id", how="semi").is_empty()
    config = load_config()
    for (locality,), group in surfaced.group_by("locality"):
        assert group.height <= config.capacity_of(str(locality))
        assert group.sort("rank")["score"].is_sorted(descending=True)


def test_the_queue_holds_exactly_what_was_surfaced(first_night: Path) -> None:
    surfaced = pl.read_parquet(first_night / "runs" / AS_OF / "surfaced.parquet")
    items = queue_rows(first_night, "review_items")
    assert sorted(str(i["person_id"]) for i in items) == sorted(surfaced["person_id"].to_list())
    assert all(i["status"] == "new" for i in items), "routing never moves an item on by itself"
    by_person = {str(i["person_id"]): i for i in items}
    for row in surfaced.iter_rows(named=True):
        item = by_person[row["person_id"]]
        assert item["locality"] == row["locality"]
        assert json.loads(str(item["reasons"])) == row["reasons"]
        assert float(str(item["score"])) == pytest.approx(row["score"])


def test_running_the_same_night_again_changes_nothing(first_night: Path, small_borough: Path) -> None:
    run = first_night / "runs" / AS_OF
    before_surfaced = (run / "surfaced.parquet").read_bytes()
    before_persons = (run / "persons.parquet").read_bytes()
    before_queue = queue_dump(first_night)
    assert run_night(small_borough / "extracts", first_night) == 0
    assert (run / "surfaced.parquet").read_bytes() == before_surfaced
    assert (run / "persons.parquet").read_bytes() == before_persons
    after_queue = queue_dump(first_night)
    for table in ("review_items", "review_item_history", "review_outcomes"):
        assert after_queue[table] == before_queue[table], table


def test_a_broken_source_is_skipped_and_the_rest_still_scored(small_borough: Path, tmp_path: Path) -> None:
    extracts = tmp_path / "extracts"
    shutil.copytree(small_borough / "extracts", extracts)
    (extracts / "benefits" / "events.parquet").write_bytes(b"this is not parquet")
    home = tmp_path / "home"
    assert run_night(extracts, home) == 1
    run = home / "runs" / AS_OF
    report = json.loads((run / "ingest_report.json").read_text())
    assert report["sources"]["benefits"]["status"] == "skipped"
    assert "events.parquet" in report["sources"]["benefits"]["message"]
    assert pl.read_parquet(run / "surfaced.parquet").height > 0


KILL_DURING_ROUTE = """
import os, sys
from review_ui import routing
real_write_plan = routing._write_plan
def write_then_die(session, *args, **kwargs):
    real_write_plan(session, *args, **kwargs)
    session.flush()          # the night's rows are in the database's transaction ...
    os._exit(137)            # ... when the process dies, before the commit
routing._write_plan = write_then_die
from early_warning.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_crash_during_routing_leaves_the_queue_as_it_was(
    small_borough: Path, tmp_path: Path, prefect_server: str
) -> None:
    home = tmp_path / "home"
    assert run_night(small_borough / "extracts", home) == 0
    before = queue_dump(home)
    next_night = (date.fromisoformat(AS_OF) + timedelta(days=1)).isoformat()
    args = [
        "nightly",
        "--extracts",
        str(small_borough / "extracts"),
        "--as-of",
        next_night,
        "--home",
        str(home),
    ]
    env = {**os.environ, "PREFECT_API_URL": prefect_server}
    killed = subprocess.run(
        [sys.executable, "-c", KILL_DURING_ROUTE, *args], env=env, capture_output=True, text=True, check=False
    )
    assert killed.returncode == 137, killed.stderr[-2000:]
    assert queue_dump(home) == before
    assert run_night(small_borough / "extracts", home, next_night) == 0
    routed = queue_rows(home, "route_runs")
    assert [str(r["as_of"]) for r in routed] == [AS_OF, next_night]


def test_two_nights_update_open_items_and_respect_the_cool_down(small_borough: Path, tmp_path: Path) -> None:
    from review_ui.store import claim_item, create_user, make_engine, make_session_factory, record_outcome

    home = tmp_path / "home"
    assert run_night(small_borough / "extracts", home) == 0
    first = {str(i["person_id"]): i for i in queue_rows(home, "review_items")}
    closed = next(i for i in first.values() if i["locality"] != "unknown")
    engine = make_engine(f"sqlite:///{home / 'review_queue.sqlite3'}")
    sessions = make_session_factory(engine)
    with sessions() as session:
        worker = create_user(
            session=session,
            username="casey",
            display_name="Casey",
            role="caseworker",
            locality=str(closed["locality"]),
            password_hash="x",
        )
    with sessions() as session:
        claim_item(session=session, item_id=int(str(closed["id"])), user=worker)
    with sessions() as session:
        record_outcome(
            session=session,
            item_id=int(str(closed["id"])),
            user=worker,
            outcome="help_offered",
            note="Talked through a payment plan",
        )
    engine.dispose()

    next_night = (date.fromisoformat(AS_OF) + timedelta(days=1)).isoformat()
    assert run_night(small_borough / "extracts", home, next_night) == 0
    second = queue_rows(home, "review_items")
    people = [str(i["person_id"]) for i in second]
    assert len(people) == len({p for p in people if p != closed["person_id"]}) + 1, "one item per person"
    assert all(p in {str(i["person_id"]) for i in second} for p in first), "first night's items are kept"
    history = queue_rows(home, "review_item_history")
    open_ids = {i["id"] for i in second if i["status"] == "new" and str(i["person_id"]) in first}
    refreshed = {h["item_id"] for h in history if str(h["as_of"]) == next_night}
    assert open_ids <= refreshed, "open items get the new night's score and reasons"
    closed_now = next(i for i in second if i["id"] == closed["id"])
    assert closed_now["status"] == "closed"
    surfaced = pl.read_parquet(home / "runs" / next_night / "surfaced.parquet")
    assert closed["person_id"] not in surfaced["person_id"].to_list(), "cool-down holds the person back"
