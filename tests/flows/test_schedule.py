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
import urllib.request
from pathlib import Path
from typing import Any


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_the_schedule_creates_nightly_runs_at_two_in_the_morning_london_time(tmp_path: Path) -> None:
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {"PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5", "PREFECT_UI_ENABLED": "false"}
    script = Path(sys.executable).parent / "early-warning"
    serving = subprocess.Popen(
        [
            str(script),
            "schedule",
            "--extracts",
            str(tmp_path / "extracts"),
            "--home",
            str(tmp_path / "home"),
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        runs: list[dict[str, Any]] = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not runs:
            time.sleep(3)
            assert serving.poll() is None, serving.stdout.read().decode()[-3000:] if serving.stdout else ""
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
    finally:
        os.killpg(serving.pid, signal.SIGTERM)
        serving.wait(timeout=60)
    time.sleep(1)
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "the local Prefect server was left running"
