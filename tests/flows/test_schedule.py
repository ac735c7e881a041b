"""`early-warning schedule` really creates scheduled runs on a real Prefect
server (NOTES.md: a Prefect/SQLAlchemy mismatch once made the scheduler fail
silently), with the cron's time zone kept, and stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.flows.conftest import tiny_council


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(url: str, body: dict[str, Any], attempts: int = 10) -> Any:
    """POST to the local Prefect server; a busy server (503, its SQLite database taken by the
    scheduler) is asked again, as Prefect's own client does."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code != 503 or attempt == attempts - 1:
                raise
            time.sleep(2)
    raise AssertionError("unreachable")


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_the_schedule_creates_nightly_runs_at_two_in_the_morning_london_time_and_runs_them(
    tmp_path: Path, tiny_borough: Path
) -> None:
    """Also (issue 21 items 4-5, issue 17 item 5): the served deployment's runs execute end to
    end, one at a time, and a failed night is Failed in Prefect with its reason; the UI the
    command prints answers."""
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5",
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
        "EARLY_WARNING_DATABASE_URL": f"sqlite:///{tmp_path / 'queue.sqlite3'}",
    }
    script = Path(sys.executable).parent / "early-warning"
    with open(tmp_path / "serve.out", "wb") as out:  # the child keeps its own copy
        serving = subprocess.Popen(
            [
                str(script),
                "schedule",
                "--extracts",
                str(tiny_borough),
                "--home",
                str(tmp_path / "home"),
                "--port",
                str(port),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        runs: list[dict[str, Any]] = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not runs:
            time.sleep(3)
            assert serving.poll() is None, (tmp_path / "serve.out").read_text()[-3000:]
            try:
                runs = _post(
                    f"{api}/flow_runs/filter", {"flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}}
                )
            except OSError:
                continue
        assert runs, "no scheduled run was created within three minutes"
        deployments = _post(f"{api}/deployments/filter", {})
        assert [d["name"] for d in deployments] == ["nightly"]
        schedule = deployments[0]["schedules"][0]["schedule"]
        assert schedule["cron"] == "0 2 * * *"
        assert schedule["timezone"] == "Europe/London"
        assert runs[0]["parameters"]["as_of"] == "today"
        assert runs[0]["deployment_id"] == deployments[0]["id"]
        assert deployments[0]["global_concurrency_limit"]["limit"] == 1
        assert deployments[0]["concurrency_options"]["collision_strategy"] == "ENQUEUE"
        _the_printed_ui_answers((tmp_path / "serve.out").read_text())
        _deployment_runs_execute_one_at_a_time(
            api, deployments[0]["id"], tmp_path, tiny_council(tiny_borough)
        )
        # `early-warning status` finds the next scheduled night in the home's Prefect database.
        from early_warning.status import next_scheduled_run

        assert (next_scheduled_run(tmp_path / "home") or "").startswith("20")
    finally:
        # Killed outright (issue 21 item 6): its local Prefect server must not outlive it.
        serving.send_signal(signal.SIGKILL)
        serving.wait(timeout=60)
    deadline = time.monotonic() + 60
    while _answers(port):
        assert time.monotonic() < deadline, "the local Prefect server was left running"
        time.sleep(1)


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _the_printed_ui_answers(said: str) -> None:
    ui = [line for line in said.splitlines() if "Prefect UI" in line]
    assert ui, f"no UI address printed: {said}"
    address = ui[0].rsplit(" ", 1)[-1]
    assert address.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(address, timeout=10) as page:
        assert page.status == 200
        assert b"<html" in page.read().lower()


def _deployment_runs_execute_one_at_a_time(api: str, deployment: str, tmp_path: Path, council: Path) -> None:
    """Two runs of the deployment started together: the first routes the tiny borough's night;
    the second, pointed at a configuration folder that does not exist, waits for the first
    (the concurrency limit) and then fails in Prefect with the reason."""
    night = _post(
        f"{api}/deployments/{deployment}/create_flow_run",
        {"parameters": {"as_of": "2026-06-30", "config_dir": str(council)}},
    )
    broken = _post(
        f"{api}/deployments/{deployment}/create_flow_run",
        {"parameters": {"as_of": "2026-06-30", "config_dir": str(tmp_path / "no-such-council")}},
    )
    finished: dict[str, Any] = {}
    deadline = time.monotonic() + 600
    while len(finished) < 2:
        assert time.monotonic() < deadline, f"the deployment's runs did not finish: {finished}"
        time.sleep(3)
        for run in (night, broken):
            with urllib.request.urlopen(f"{api}/flow_runs/{run['id']}", timeout=5) as response:
                state = json.loads(response.read())["state"]
            if state["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}:
                finished[run["id"]] = state
    assert finished[night["id"]]["type"] == "COMPLETED", finished[night["id"]]
    assert finished[broken["id"]]["type"] == "FAILED"
    assert "no-such-council" in finished[broken["id"]]["message"], finished[broken["id"]]["message"]
    surfaced = tmp_path / "home" / "runs" / "2026-06-30" / "surfaced.parquet"
    assert surfaced.exists(), "the served night wrote no surfaced list"
    # One at a time: the runs' RUNNING spans did not overlap.
    spans = []
    for run in (night, broken):
        with urllib.request.urlopen(f"{api}/flow_runs/{run['id']}", timeout=5) as response:
            body = json.loads(response.read())
        spans.append((body["start_time"], body["end_time"]))
    (a_start, a_end), (b_start, b_end) = sorted(spans)
    assert a_end <= b_start, f"the two runs overlapped: {spans}"
