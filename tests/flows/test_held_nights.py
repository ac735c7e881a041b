"""Write, audit, publish (issue 21 items 1-3 and 7): a night whose extracts fail a check is
held - nothing routed, the previous night whole, the console and the Prefect state say
"held" naming the file - and a night that fails leaves the previous night's folder as it
was. Real nights through the real command line (and real processes where the console,
retries or a disk fault are what is tested)."""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from early_warning import exit_codes
from early_warning.cli import main
from early_warning.config import DEFAULTS_DIR
from tests.flows.conftest import AS_OF
from tests.flows.test_nightly_flow import queue_dump, queue_rows, run_night

NEXT = (date.fromisoformat(AS_OF) + timedelta(days=1)).isoformat()


@dataclass(frozen=True)
class RoutedNight:
    """A home whose night AS_OF was routed whole, with its queue (SQLite, in the home)."""

    home: Path
    queue: str


@pytest.fixture(scope="module")
def routed(small_borough: Path, tmp_path_factory: pytest.TempPathFactory) -> RoutedNight:
    home = tmp_path_factory.mktemp("home")
    queue = f"sqlite:///{home / 'queue.sqlite3'}"
    assert run_night(small_borough / "extracts", home, queue=queue) == exit_codes.ROUTED
    return RoutedNight(home, queue)


@pytest.fixture
def extracts(small_borough: Path, tmp_path: Path) -> Path:
    """A copy of the borough's extracts this test may damage."""
    copy = tmp_path / "extracts"
    shutil.copytree(small_borough / "extracts", copy)
    return copy


def folder_digest(folder: Path) -> dict[str, str]:
    """Every file under a folder by its relative path, with a hash of its bytes."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def held_night(
    routed: RoutedNight, extracts: Path, capsys: pytest.CaptureFixture[str], night: str = NEXT
) -> str:
    """Run ``night`` on damaged extracts; check that it was held and changed nothing published.
    Returns the console output."""
    before_queue = queue_dump(routed.queue)
    before_night = folder_digest(routed.home / "runs" / AS_OF)
    capsys.readouterr()
    assert run_night(extracts, routed.home, night, queue=routed.queue) == exit_codes.HELD
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1].startswith("HELD: "), out[-1000:]
    assert "Nothing was sent to caseworkers" in out
    assert queue_dump(routed.queue) == before_queue, "a held night routes nothing"
    assert folder_digest(routed.home / "runs" / AS_OF) == before_night
    assert not (routed.home / "runs" / night).exists(), "a held night is not published"
    summary = json.loads((routed.home / "runs" / ".held" / night / "run_summary.json").read_text())
    assert summary["status"] == "held"
    assert summary["audit"]["failed"], "the held night's summary names each failed check"
    assert {"started", "finished", "run_id"} <= set(summary)
    return out


def test_a_council_tax_file_cut_off_mid_line_holds_the_night_and_names_the_file(
    routed: RoutedNight, extracts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = extracts / "council_tax" / "events.csv"
    data = events.read_bytes()
    events.write_bytes(data[: len(data) // 2])
    out = held_night(routed, extracts, capsys)
    held = [line for line in out.splitlines() if line.strip().startswith("HELD BY:")]
    assert any(str(events) in line and "ends mid-line" in line for line in held), out
    assert any(str(events) in line and "the previous whole night" in line for line in held), out
    state = latest_flow_run_state()
    assert (state.type.value, state.name) == ("FAILED", "Held")
    assert state.message.startswith("Held: ")
    assert str(events) in state.message


def latest_flow_run_state() -> Any:
    """The state of the newest flow run on the test session's Prefect server."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        (run,) = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=1)
    return run.state


def test_a_header_only_file_holds_the_night(
    routed: RoutedNight, extracts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = extracts / "council_tax" / "events.csv"
    events.write_text(events.read_text().splitlines()[0] + "\n")
    out = held_night(routed, extracts, capsys)
    assert f"{events}: no data rows" in out


def test_an_empty_file_holds_the_night(
    routed: RoutedNight, extracts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = extracts / "council_tax" / "events.csv"
    events.write_bytes(b"")
    out = held_night(routed, extracts, capsys)
    assert any(
        "council_tax" in line and "events.csv" in line for line in out.splitlines() if "HELD BY" in line
    )


def test_a_missing_source_holds_the_night(
    routed: RoutedNight, extracts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.rmtree(extracts / "benefits")
    out = held_night(routed, extracts, capsys)
    assert any(f"no folder {extracts / 'benefits'}" in line for line in out.splitlines() if "HELD BY" in line)


def test_stale_extracts_hold_the_night(
    routed: RoutedNight, small_borough: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The June extracts, run for a night in December: every frequently updated source is stale."""
    out = held_night(routed, small_borough / "extracts", capsys, night="2026-12-07")
    stale = [line for line in out.splitlines() if "HELD BY" in line and "stale" in line]
    assert any("council_tax/events.csv" in line and "the limit is 7 days" in line for line in stale), out


def warn_only_config(folder: Path, source: str) -> Path:
    """A council folder whose sources.yaml marks ``source`` warn-only (the rest as the defaults)."""
    values = yaml.safe_load((DEFAULTS_DIR / "sources.yaml").read_text())
    values["sources"][source].setdefault("checks", {})["warn_only"] = True
    folder.mkdir()
    (folder / "sources.yaml").write_text(yaml.safe_dump(values))
    return folder


def test_a_warn_only_source_is_reported_and_the_night_still_routed(
    extracts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.rmtree(extracts / "benefits")
    config = warn_only_config(tmp_path / "council", "benefits")
    home = tmp_path / "home"
    queue = f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    code = run_night(extracts, home, queue=queue, options=("--config", str(config)))
    out = capsys.readouterr().out
    assert code == exit_codes.ROUTED, out[-2000:]
    assert "WARNING (warn-only check): benefits: no folder" in out
    assert out.strip().splitlines()[-1].startswith("ROUTED: ")
    assert "1 warn-only check(s) failed" in out.strip().splitlines()[-1]
    assert queue_rows(queue, "review_items"), "the other sources were still scored and routed"


def test_releasing_a_held_night_routes_it_and_is_audited(
    routed: RoutedNight, extracts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    shutil.copytree(routed.home, home)
    queue = f"sqlite:///{home / 'queue.sqlite3'}"
    events = extracts / "council_tax" / "events.csv"
    data = events.read_bytes()
    events.write_bytes(data[: len(data) * 3 // 4])
    assert run_night(extracts, home, NEXT, queue=queue) == exit_codes.HELD
    routed_before = [str(r["as_of"]) for r in queue_rows(queue, "route_runs")]

    os.environ["EARLY_WARNING_DATABASE_URL"] = queue
    try:
        assert main(["release", NEXT, "--reason", "  ", "--home", str(home)]) == exit_codes.UNUSABLE
        capsys.readouterr()
        code = main(["release", NEXT, "--reason", "council tax confirmed the file", "--home", str(home)])
    finally:
        os.environ.pop("EARLY_WARNING_DATABASE_URL", None)
    out = capsys.readouterr().out
    assert code == exit_codes.ROUTED, out[-2000:]
    assert out.strip().splitlines()[-1].startswith("ROUTED: ")
    assert [str(r["as_of"]) for r in queue_rows(queue, "route_runs")] == [*routed_before, NEXT]
    released = [r for r in queue_rows(queue, "audit_log") if r["action"] == "night_released"]
    assert len(released) == 1
    assert released[0]["actor"] == getpass.getuser()
    assert released[0]["detail"]["reason"] == "council tax confirmed the file"
    assert released[0]["detail"]["night"] == NEXT
    summary = json.loads((home / "runs" / NEXT / "run_summary.json").read_text())
    assert summary["status"] == "routed"
    assert summary["released"] is True
    assert not (home / "runs" / ".held" / NEXT).exists()
    # Released once: there is nothing held left to release.
    assert main(["release", NEXT, "--reason", "again", "--home", str(home)]) == exit_codes.UNUSABLE


def test_a_held_night_rerun_on_mended_extracts_is_routed_and_no_longer_held(
    routed: RoutedNight, small_borough: Path, extracts: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(routed.home, home)
    queue = f"sqlite:///{home / 'queue.sqlite3'}"
    (extracts / "council_tax" / "events.csv").write_bytes(b"")
    assert run_night(extracts, home, NEXT, queue=queue) == exit_codes.HELD
    assert (home / "runs" / ".held" / NEXT).is_dir()
    assert run_night(small_borough / "extracts", home, NEXT, queue=queue) == exit_codes.ROUTED
    assert not (home / "runs" / ".held" / NEXT).exists()
    assert json.loads((home / "runs" / NEXT / "run_summary.json").read_text())["status"] == "routed"
    assert NEXT in [str(r["as_of"]) for r in queue_rows(queue, "route_runs")]


UNWRITABLE_IN_GRAPH = """
import sys
from pathlib import Path
from flows import stages
real_graph_stage = stages.graph_stage
def graph_on_a_refusing_disk(night):
    # The graph's output path cannot be written (a folder sits where the file goes),
    # as on a disk that went read-only or full mid-night.
    night.run.graph_features.mkdir(parents=True)
    (night.run.graph_features / "in-the-way").write_text("x")
    return real_graph_stage(night)
stages.graph_stage = graph_on_a_refusing_disk
from early_warning.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _process(
    script: str | None, args: list[str], env: dict[str, str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", script] if script else [sys.executable, "-m", "early_warning.cli"]
    return subprocess.run(
        [*command, *args], env=env, capture_output=True, text=True, check=False, cwd=tmp_path, timeout=900
    )


def test_an_output_that_cannot_be_written_fails_the_night_and_leaves_the_last_night_whole(
    routed: RoutedNight, small_borough: Path, tmp_path: Path, prefect_server: str
) -> None:
    home = tmp_path / "home"
    shutil.copytree(routed.home, home)
    queue = f"sqlite:///{home / 'queue.sqlite3'}"
    before_night = folder_digest(home / "runs" / AS_OF)
    before_queue = queue_dump(queue)
    env = {**os.environ, "PREFECT_API_URL": prefect_server, "EARLY_WARNING_DATABASE_URL": queue}
    args = ["nightly", "--extracts", str(small_borough / "extracts"), "--as-of", AS_OF, "--home", str(home)]
    failed = _process(UNWRITABLE_IN_GRAPH, args, env, tmp_path)
    assert failed.returncode == exit_codes.FAILED, failed.stderr[-3000:]
    last = (failed.stdout + failed.stderr).strip().splitlines()[-1]
    assert last.startswith("FAILED in graph: "), last
    assert "graph_features.parquet" in last
    assert "Nothing was sent to caseworkers" in last
    assert "Safe to re-run: early-warning nightly" in last
    assert "Traceback" not in failed.stderr + failed.stdout
    log = home / "logs" / "nightly.jsonl"  # the one log file: the traceback is on the ERROR line
    assert str(log) in last
    assert "Traceback" in log.read_text()
    assert folder_digest(home / "runs" / AS_OF) == before_night, "the published night is untouched"
    assert queue_dump(queue) == before_queue


def test_a_missing_extracts_folder_fails_at_once_without_retries_or_a_traceback(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}  # the home's own Prefect
    env["EARLY_WARNING_DATABASE_URL"] = f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    missing = tmp_path / "no-such-extracts"
    args = ["nightly", "--extracts", str(missing), "--as-of", AS_OF, "--home", str(home)]
    failed = _process(None, args, env, tmp_path)
    assert failed.returncode == exit_codes.FAILED, failed.stderr[-3000:]
    console = failed.stdout + failed.stderr
    assert "Traceback" not in console
    last = console.strip().splitlines()[-1]
    assert last.startswith(f"FAILED in ingest: {missing}: extracts folder not found."), last
    with sqlite3.connect(home / "prefect" / "prefect.db") as db:
        runs = db.execute("SELECT name, run_count, state_type FROM task_run").fetchall()
        retried = db.execute(
            "SELECT count(*) FROM task_run_state WHERE name IN ('AwaitingRetry', 'Retrying')"
        ).fetchone()
    assert [(name.rsplit("-", 1)[0], count, state) for name, count, state in runs] == [
        ("ingest", 1, "FAILED")
    ]
    assert retried == (0,)
    assert not (home / "runs" / AS_OF).exists()


def test_a_deployment_run_with_release_true_does_not_route_a_held_night_nobody_released(
    routed: RoutedNight, extracts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``release: true`` in prefect.yaml (or typed into the Prefect UI) calls the flow with
    release=True and no one's name or reason: the held night stays held, nothing is routed;
    only ``early-warning release`` (audited) routes it."""
    from flows.nightly import nightly

    home = tmp_path / "home"
    shutil.copytree(routed.home, home)
    queue = f"sqlite:///{home / 'queue.sqlite3'}"
    (extracts / "council_tax" / "events.csv").write_bytes(b"")
    assert run_night(extracts, home, NEXT, queue=queue) == exit_codes.HELD
    before = queue_dump(queue)
    held_before = folder_digest(home / "runs" / ".held" / NEXT)
    monkeypatch.setenv("EARLY_WARNING_DATABASE_URL", queue)
    with pytest.raises(Exception, match="nobody has released it: run early-warning release"):
        nightly(str(extracts), NEXT, str(home), None, True)
    assert queue_dump(queue) == before
    assert folder_digest(home / "runs" / ".held" / NEXT) == held_before
    assert not (home / "runs" / NEXT).exists()
    assert main(["release", NEXT, "--reason", "checked with council tax", "--home", str(home)]) == 0
    released = json.loads((home / "runs" / NEXT / "release.json").read_text())
    assert released == {"night": NEXT, "by": getpass.getuser(), "reason": "checked with council tax"}
