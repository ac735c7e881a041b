"""The nightly Prefect flow end to end: outputs per the data contract, the
queue filled from them, safe to re-run, survives a bad file and a crash."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import create_engine, inspect, text

from early_warning.cli import main
from early_warning.paths import RunPaths
from review_ui.queue.case_file import CASE_FILE_VERSION
from tests.support.databases import DATABASES, empty_database

AS_OF = "2026-06-30"  # the night the shared small borough is generated for (conftest)
QUEUE_TABLES = (
    "review_items",
    "review_item_history",
    "review_outcomes",
    "route_runs",
    "audit_log",
    "case_files",
)
VOLATILE = {
    "recorded_at",
    "routed_at",
    "first_routed_at",
    "last_routed_at",
    "at",
    "times_routed",
    "updated_at",
    # The audit chain hashes each row with its time, so the hashes vary as the times do.
    "prev_hash",
    "row_hash",
}


@pytest.fixture(scope="module", params=DATABASES)
def queue_kind(request: pytest.FixtureRequest) -> str:
    """Every test here runs with the queue on SQLite and on PostgreSQL."""
    return str(request.param)


@pytest.fixture
def queue_url(queue_kind: str, tmp_path: Path) -> Iterator[str]:
    with empty_database(queue_kind, tmp_path) as url:
        yield url


def run_night(
    extracts: Path, home: Path, as_of: str = AS_OF, *, queue: str, options: tuple[str, ...] = ()
) -> int:
    """One night through the real command line, with the queue at ``queue`` (and any other ``options``)."""
    from early_warning.settings import get_settings

    previous = os.environ.get("EARLY_WARNING_DATABASE_URL")
    os.environ["EARLY_WARNING_DATABASE_URL"] = queue
    get_settings.cache_clear()
    try:
        return main(
            [
                "nightly",
                "--extracts",
                str(extracts),
                "--as-of",
                as_of,
                "--home",
                str(home),
                "--quiet",
                *options,
            ]
        )
    finally:
        if previous is None:
            os.environ.pop("EARLY_WARNING_DATABASE_URL", None)
        else:
            os.environ["EARLY_WARNING_DATABASE_URL"] = previous
        get_settings.cache_clear()


def _plain(value: object) -> object:
    if isinstance(value, str) and value[:1] in "[{":
        return json.loads(value)  # SQLite hands JSON back as text
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def queue_rows(url: str, table: str) -> list[dict[str, object]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(f"SELECT * FROM {table} ORDER BY 1")).mappings().all()
    finally:
        engine.dispose()
    return [{k: _plain(v) for k, v in row.items() if k not in VOLATILE} for row in rows]


def queue_dump(url: str) -> dict[str, list[dict[str, object]]]:
    return {table: queue_rows(url, table) for table in QUEUE_TABLES}


@dataclass(frozen=True)
class FirstNight:
    home: Path
    queue: str


@pytest.fixture(scope="module")
def first_night(
    small_borough: Path, queue_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FirstNight]:
    home = tmp_path_factory.mktemp("home")
    with empty_database(queue_kind, home) as url:
        assert run_night(small_borough / "extracts", home, queue=url) == 0
        yield FirstNight(home, url)


def test_a_night_writes_the_contracts_outputs(first_night: FirstNight) -> None:
    run = first_night.home / "runs" / AS_OF
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
    assert summary["score"]["scorer"] == "the transparent rules score"
    assert summary["score"]["scorer_why"] == "no model has been trained"
    assert summary["status"] == "routed"
    assert summary["scorer"] == summary["score"]["scorer"]
    assert {"started", "finished", "run_id"} <= set(summary)
    assert summary["audit"]["held"] is False
    assert set(summary["seconds_per_stage"]) == {
        "ingest",
        "audit",
        "link",
        "graph",
        "features",
        "thresholds",
        "score",
        "route",
        "retention",
    }


def uncatalogued(run: RunPaths) -> list[str]:
    """Files in a night's folder that :class:`RunPaths` does not name (a catalogued folder
    covers what is inside it)."""
    named = set(run.catalogue().values())
    return sorted(
        str(path.relative_to(run.root))
        for path in run.root.rglob("*")
        if path.is_file() and not any(p in named for p in (path, *path.parents))
    )


def test_every_file_a_night_writes_is_named_in_the_catalogue(first_night: FirstNight) -> None:
    run = RunPaths(home=first_night.home, as_of=date.fromisoformat(AS_OF))
    assert uncatalogued(run) == []
    optional = {"clerical_sample", "clerical_strata", "parts_dir"}  # clerical review off; no fan-out
    missing = [name for name, path in run.catalogue().items() if name not in optional and not path.exists()]
    assert missing == []


def test_nobody_surfaced_is_known_to_a_service_or_over_capacity(first_night: FirstNight) -> None:
    from early_warning.config import load_config

    run = first_night.home / "runs" / AS_OF
    surfaced = pl.read_parquet(run / "surfaced.parquet")
    known = pl.read_parquet(run / "known_to_services.parquet")
    assert surfaced.join(known, on="person_id", how="semi").is_empty()
    config = load_config()
    for (locality,), group in surfaced.group_by("locality"):
        assert group.height <= config.capacity_of(str(locality))
        assert group.sort("rank")["score"].is_sorted(descending=True)


def test_the_queue_holds_exactly_what_was_surfaced(first_night: FirstNight) -> None:
    surfaced = pl.read_parquet(first_night.home / "runs" / AS_OF / "surfaced.parquet")
    items = queue_rows(first_night.queue, "review_items")
    assert sorted(str(i["person_id"]) for i in items) == sorted(surfaced["person_id"].to_list())
    assert all(i["status"] == "new" for i in items), "routing never moves an item on by itself"
    by_person = {str(i["person_id"]): i for i in items}
    for row in surfaced.iter_rows(named=True):
        item = by_person[row["person_id"]]
        assert item["locality"] == row["locality"]
        assert item["reasons"] == row["reasons"]
        assert float(str(item["score"])) == pytest.approx(row["score"])


def test_every_open_item_has_a_case_file_built_from_that_persons_own_records(first_night: FirstNight) -> None:
    run = first_night.home / "runs" / AS_OF
    persons = pl.read_parquet(run / "persons.parquet")
    events = pl.read_parquet(run / "canonical" / "events.parquet")
    files = {str(f["person_id"]): f for f in queue_rows(first_night.queue, "case_files")}
    items = [i for i in queue_rows(first_night.queue, "review_items") if i["status"] in ("new", "in_review")]
    assert items
    assert {str(i["person_id"]) for i in items} == set(files)
    for item in items:
        stored = files[str(item["person_id"])]
        content = stored["content"]
        assert isinstance(content, dict)
        assert stored["as_of"] == AS_OF == content["as_of"]
        assert content["schema_version"] == CASE_FILE_VERSION
        assert item["ward"] == content["person"]["ward"]
        mine = persons.filter(pl.col("person_id") == item["person_id"]).select("source", "source_person_id")
        assert {(r["source"], r["source_person_id"]) for r in content["records"]} == set(mine.iter_rows())
        own_events = {
            (source, day.isoformat(), event_type)
            for source, day, event_type in events.join(mine, on=["source", "source_person_id"])
            .select("source", "event_date", "event_type")
            .iter_rows()
        }
        timeline = content["timeline"]
        assert timeline, "a surfaced person has events behind their reasons"
        assert all((e["service"], e["date"], e["event_type"]) in own_events for e in timeline)
        assert all(e["date"] <= AS_OF for e in timeline)
        assert [e["date"] for e in timeline] == sorted((e["date"] for e in timeline), reverse=True)
        names = set(content["person"]["names"])
        assert names
        assert not any(name in json.dumps(content["household"]) for name in names)


def test_running_the_same_night_again_changes_nothing(first_night: FirstNight, small_borough: Path) -> None:
    run = first_night.home / "runs" / AS_OF
    before_surfaced = (run / "surfaced.parquet").read_bytes()
    before_persons = (run / "persons.parquet").read_bytes()
    before_queue = queue_dump(first_night.queue)
    assert run_night(small_borough / "extracts", first_night.home, queue=first_night.queue) == 0
    assert (run / "surfaced.parquet").read_bytes() == before_surfaced
    assert (run / "persons.parquet").read_bytes() == before_persons
    after_queue = queue_dump(first_night.queue)
    for table in ("review_items", "review_item_history", "review_outcomes", "case_files"):
        assert after_queue[table] == before_queue[table], table


def test_a_broken_source_holds_the_night_and_nothing_is_routed(
    small_borough: Path, tmp_path: Path, queue_url: str
) -> None:
    """A source the night cannot read holds it (issue 21): the rest are not scored and routed
    without it. (A source marked warn-only is: tests/flows/test_held_nights.py.)"""
    extracts = tmp_path / "extracts"
    shutil.copytree(small_borough / "extracts", extracts)
    (extracts / "benefits" / "events.parquet").write_bytes(b"this is not parquet")
    home = tmp_path / "home"
    assert run_night(extracts, home, queue=queue_url) == 3
    held = home / "runs" / ".held" / AS_OF
    report = json.loads((held / "ingest_report.json").read_text())
    assert report["sources"]["benefits"]["status"] == "skipped"
    assert "events.parquet" in report["sources"]["benefits"]["message"]
    assert not (home / "runs" / AS_OF).exists()
    engine = create_engine(queue_url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    assert "review_items" not in tables or queue_rows(queue_url, "review_items") == []


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
from tests.support.databases import DATABASES, empty_database
sys.exit(main(sys.argv[1:]))
"""


def test_a_crash_during_routing_leaves_the_queue_as_it_was(
    small_borough: Path, tmp_path: Path, prefect_server: str, queue_url: str
) -> None:
    home = tmp_path / "home"
    assert run_night(small_borough / "extracts", home, queue=queue_url) == 0
    before = queue_dump(queue_url)
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
    env = {**os.environ, "PREFECT_API_URL": prefect_server, "EARLY_WARNING_DATABASE_URL": queue_url}
    killed = subprocess.run(
        [sys.executable, "-c", KILL_DURING_ROUTE, *args], env=env, capture_output=True, text=True, check=False
    )
    assert killed.returncode == 137, killed.stderr[-2000:]
    assert queue_dump(queue_url) == before
    assert run_night(small_borough / "extracts", home, next_night, queue=queue_url) == 0
    routed = queue_rows(queue_url, "route_runs")
    assert [str(r["as_of"]) for r in routed] == [AS_OF, next_night]


def test_two_nights_update_open_items_and_respect_the_cool_down(
    small_borough: Path, tmp_path: Path, queue_url: str
) -> None:
    from review_ui.store import claim_item, create_user, make_engine, make_session_factory, record_outcome

    home = tmp_path / "home"
    assert run_night(small_borough / "extracts", home, queue=queue_url) == 0
    first = {str(i["person_id"]): i for i in queue_rows(queue_url, "review_items")}
    closed = next(i for i in first.values() if i["locality"] != "unknown")
    engine = make_engine(queue_url)
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
    assert run_night(small_borough / "extracts", home, next_night, queue=queue_url) == 0
    second = queue_rows(queue_url, "review_items")
    people = [str(i["person_id"]) for i in second]
    assert len(people) == len({p for p in people if p != closed["person_id"]}) + 1, "one item per person"
    assert all(p in {str(i["person_id"]) for i in second} for p in first), "first night's items are kept"
    history = queue_rows(queue_url, "review_item_history")
    open_ids = {i["id"] for i in second if i["status"] == "new" and str(i["person_id"]) in first}
    refreshed = {h["item_id"] for h in history if str(h["as_of"]) == next_night}
    assert open_ids <= refreshed, "open items get the new night's score and reasons"
    closed_now = next(i for i in second if i["id"] == closed["id"])
    assert closed_now["status"] == "closed"
    surfaced = pl.read_parquet(home / "runs" / next_night / "surfaced.parquet")
    assert closed["person_id"] not in surfaced["person_id"].to_list(), "cool-down holds the person back"


def test_the_night_leaves_a_markdown_summary_in_prefect(first_night: FirstNight) -> None:
    from prefect.artifacts import Artifact

    artefact = Artifact.get(f"nightly-{AS_OF}")
    assert artefact is not None
    markdown = str(artefact.data)
    assert f"# Nightly run {AS_OF}" in markdown
    assert "| council_tax | ingested |" in markdown
    assert "early-warning cohort" in markdown
    assert "| route |" in markdown
    # Nothing was trained in this home: the artefact says what scored and why.
    assert "- Scorer in use: the transparent rules score, because no model has been trained" in markdown


def _identifiers(content: dict[str, object]) -> set[str]:
    """The names, phones and emails a case file shows (what must never leave the queue)."""
    person = content["person"]
    assert isinstance(person, dict)
    records = content["records"]
    assert isinstance(records, list)
    found = {*person["names"], *person["phones"], *person["emails"]}
    found |= {r["name"] for r in records if r["name"]}
    found |= {r["phone"] for r in records if r.get("phone")}  # as each record writes it
    return {str(value) for value in found if len(str(value)) >= 5}


def test_no_name_from_a_case_file_reaches_the_logs_the_run_summary_or_the_prefect_artefact(
    small_borough: Path, tmp_path: Path, prefect_server: str
) -> None:
    from prefect.artifacts import Artifact
    from prefect.client.orchestration import get_client

    home = tmp_path / "home"
    queue = f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_server,
        "PREFECT_LOGGING_LEVEL": "INFO",
        "EARLY_WARNING_DATABASE_URL": queue,
    }
    args = ["nightly", "--extracts", str(small_borough / "extracts"), "--as-of", AS_OF, "--home", str(home)]
    night = subprocess.run(
        [sys.executable, "-m", "early_warning.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert night.returncode == 0, night.stderr[-2000:]
    secrets = set().union(*(_identifiers(f["content"]) for f in queue_rows(queue, "case_files")))  # type: ignore[arg-type]
    assert len(secrets) > 10, "the night stored case files with names in them"

    artefact = Artifact.get(f"nightly-{AS_OF}")
    assert artefact is not None
    messages: list[str] = []
    with get_client(sync_client=True) as client:
        while page := client.read_logs(limit=200, offset=len(messages)):  # the API's largest page
            messages += [log.message for log in page]
    logs = "\n".join(messages)
    assert "route" in logs.lower() or night.stdout, "the run left logs to check"
    outputs = {
        "stdout": night.stdout,
        "stderr": night.stderr,
        "run_summary.json": (home / "runs" / AS_OF / "run_summary.json").read_text(),
        "artefact": str(artefact.data),
        "Prefect logs": logs,
    }
    for where, text_ in outputs.items():
        leaked = sorted(secret for secret in secrets if secret in text_)
        assert leaked == [], f"{where} holds {len(leaked)} name(s) or contact detail(s) from case files"


def test_everything_a_night_writes_is_readable_by_its_owner_only(first_night: FirstNight) -> None:
    """Row 5 of issue 17: canonical rows, quarantine and the queue were 0644 in 0755 folders."""
    home = first_night.home
    loose = [
        f"{path.relative_to(home)} {oct(path.stat().st_mode & 0o777)}"
        for path in (home, *home.rglob("*"))
        if not path.is_symlink() and path.stat().st_mode & 0o077
    ]
    assert loose == []
    assert (home / "runs" / AS_OF / "canonical" / "people.parquet").stat().st_mode & 0o777 == 0o600


def _plant_night(home: Path, night: str, *, whole: bool = True, under: str = "runs") -> Path:
    """An earlier night's folder holding identifiers (copied from tonight's shape)."""
    root = home / under / night
    (root / "canonical").mkdir(parents=True)
    (root / "canonical" / "people.parquet").write_bytes(b"names and NI numbers")
    (root / "quarantine" / "asb").mkdir(parents=True)
    (root / "quarantine" / "asb" / "people.csv").write_text("raw rows\n")
    (root / "scores.parquet").write_bytes(b"pseudonymous")
    if whole:
        (root / "run_summary.json").write_text("{}")
    return root


def test_old_nights_identifiers_are_deleted_by_the_night_and_counted(
    first_night: FirstNight, small_borough: Path
) -> None:
    night = date.fromisoformat(AS_OF)
    old = _plant_night(first_night.home, (night - timedelta(days=30)).isoformat())
    training = _plant_night(first_night.home, (night - timedelta(days=30)).isoformat(), under="training/runs")
    recent = _plant_night(first_night.home, (night - timedelta(days=5)).isoformat())
    # Older than runs_retention_days (60): the whole folder goes (issue 21 item 6).
    ancient = _plant_night(first_night.home, (night - timedelta(days=90)).isoformat())
    assert run_night(small_borough / "extracts", first_night.home, queue=first_night.queue) == 0
    assert not ancient.exists()
    for gone in (old, training):
        assert not (gone / "canonical").exists()
        assert not (gone / "quarantine").exists()
        assert (gone / "scores.parquet").exists(), "only the identifiers go"
    assert (recent / "canonical" / "people.parquet").exists()
    assert (recent / "quarantine").exists()
    assert (first_night.home / "runs" / AS_OF / "canonical" / "people.parquet").exists()
    summary = json.loads((first_night.home / "runs" / AS_OF / "run_summary.json").read_text())
    assert summary["retention"] == {
        "retention_days": 14,
        "folders_deleted": 6,
        "nights_pruned": sorted([ancient.name, old.name]),
        "runs_retention_days": 60,
        "run_folders_deleted": 1,
        "run_folders_pruned": [ancient.name],
    }


def test_the_night_checks_the_audit_log_before_it_routes(
    first_night: FirstNight, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17 row 8: the night keeps the newest audit entry outside the database and,
    next time, refuses to route onto a log that no longer holds it (here: a queue whose
    log was swapped for an empty one)."""
    from early_warning.settings import get_settings
    from flows.route import route_stage
    from flows.stages import Night
    from review_ui.audit_guard import TIP_FILE, AuditLogAltered

    tip = json.loads((first_night.home / TIP_FILE).read_text())
    assert tip["entry_id"] == max(row["id"] for row in queue_rows(first_night.queue, "audit_log"))
    home = tmp_path / "home"
    shutil.copytree(first_night.home / "runs", home / "runs")
    shutil.copy(first_night.home / TIP_FILE, home / TIP_FILE)
    swapped = f"sqlite:///{tmp_path / 'swapped.db'}"
    monkeypatch.setenv("EARLY_WARNING_DATABASE_URL", swapped)
    get_settings.cache_clear()
    try:
        night = Night.load(home, date.fromisoformat(AS_OF), None)
        with pytest.raises(AuditLogAltered, match=f"entry {tip['entry_id']} fails .*no longer in the log"):
            route_stage(night, "rules score")
    finally:
        get_settings.cache_clear()
    assert queue_rows(swapped, "review_items") == []
