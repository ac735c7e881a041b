"""A one-off `early-warning nightly` with no Prefect server configured (issue 18 item 1,
issue 21 item 6): a real flow run, task runs and artefact in the home's own Prefect
database, with Prefect's API served inside the night's process, so that killing the
night leaves no server behind."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import sys
import time
from pathlib import Path

import psutil

from tests.flows.conftest import AS_OF

STAGES = {"ingest", "audit", "link", "graph", "features", "thresholds", "score", "route", "retention"}


def _command(extracts: Path, home: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "early_warning.cli",
        "nightly",
        "--extracts",
        str(extracts),
        "--as-of",
        AS_OF,
        "--home",
        str(home),
        "--quiet",
    ]


def _no_server_configured(tmp_path: Path) -> dict[str, str]:
    """This environment without the test session's Prefect server: as a user's shell would be."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["EARLY_WARNING_DATABASE_URL"] = f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    return env


def _start(extracts: Path, home: Path, tmp_path: Path) -> psutil.Popen:
    # The child has its own copies of the two files: ours are closed at once, not left to the GC.
    with open(tmp_path / "out.txt", "w") as out, open(tmp_path / "err.txt", "w") as err:
        return psutil.Popen(
            _command(extracts, home), env=_no_server_configured(tmp_path), stdout=out, stderr=err
        )


def test_a_one_off_night_records_its_flow_run_tasks_and_artefact_in_the_homes_prefect_database(
    small_borough: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    night = _start(small_borough / "extracts", home, tmp_path)
    helpers: set[int] = set()
    while night.poll() is None:
        try:
            helpers |= {child.pid for child in night.children(recursive=True)}
        except psutil.NoSuchProcess:
            break
        time.sleep(0.2)
    assert night.returncode == 0, (tmp_path / "err.txt").read_text()[-2000:]
    assert helpers == set(), "the night started a helper process (a Prefect server) of its own"

    with sqlite3.connect(home / "prefect" / "prefect.db") as db:
        flows = db.execute(
            "SELECT flow.name, flow_run.state_type FROM flow_run JOIN flow ON flow.id = flow_run.flow_id"
        ).fetchall()
        tasks = db.execute("SELECT name, state_type FROM task_run").fetchall()
        artefacts = db.execute("SELECT key, type, data FROM artifact").fetchall()
        stage_logs = [row[0] for row in db.execute("SELECT message FROM log WHERE name = 'flows.night'")]
    assert flows == [("nightly", "COMPLETED")]
    assert {name.rsplit("-", 1)[0] for name, _ in tasks} == STAGES
    assert {state for _, state in tasks} == {"COMPLETED"}
    ((key, kind, data),) = artefacts
    assert (key, kind) == (f"nightly-{AS_OF}", "markdown")
    assert f"# Nightly run {AS_OF}" in data
    assert "| route |" in data
    # The project's own lines reach the flow run's logs in Prefect's UI (issue 21 item 5).
    assert any(message.startswith("link finished in") for message in stage_logs), stage_logs


def _listening_ports(process: psutil.Process) -> set[int]:
    return {c.laddr.port for c in process.net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN}


def test_a_killed_night_leaves_no_prefect_server_behind(small_borough: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    night = _start(small_borough / "extracts", home, tmp_path)
    try:
        deadline = time.monotonic() + 300
        while not (ports := _listening_ports(night)):
            assert night.poll() is None, "the night ended before its Prefect API was up"
            assert time.monotonic() < deadline, "the night's Prefect API never came up"
            time.sleep(0.1)
        family = night.children(recursive=True)
    finally:
        night.send_signal(signal.SIGKILL)
        night.wait(timeout=30)

    assert night.returncode == -signal.SIGKILL
    _, alive = psutil.wait_procs(family, timeout=10)
    assert alive == [], f"left behind: {[p.cmdline() for p in alive]}"
    for port in ports:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"something still answers on port {port}"
