"""docs/data-team.md stays true: every command in its ``sh`` blocks runs, in order, on a small borough.

Each block runs in one ``bash -euo pipefail`` in a fresh folder (so a block's
``export`` holds for its later lines), with this Python's ``bin`` first on PATH
(``early-warning``, ``mlflow``, ``python``). ``early-warning mlflow`` serves
until stopped, so its block runs as a server: the test waits for it to answer,
compares the training runs through its REST API as the page tells a person to in
the browser, and stops it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-team.md"


def sh_blocks(text: str) -> list[str]:
    """The contents of every fenced ``sh`` block, in order."""
    return [m.group(1) for m in re.finditer(r"^```sh\n(.*?)^```$", text, re.M | re.S)]


def _env() -> dict[str, str]:
    """A data scientist's shell: this Python's tools on the PATH, and none of the ``MLFLOW_*``
    variables that MLflow's ``set_tracking_uri``/``set_registry_uri`` leave in this test
    process (pointing at another test's store, they would override what the doc exports)."""
    bin_dir = str(Path(sys.executable).parent)
    shell = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
    return shell | {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve_and_compare(block: str, cwd: Path) -> dict[str, object]:
    """Run the ``early-warning mlflow`` block as a server; return its runs as the compare view sees them."""
    port = _free_port()
    command = block.strip().replace("--port 5000", f"--port {port}")
    server = subprocess.Popen(
        ["bash", "-c", f"exec {command}"],
        cwd=cwd,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, server.stdout.read().decode()[-2000:]  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "MLflow did not answer within 3 minutes"
            time.sleep(1)
        api = f"http://127.0.0.1:{port}/api/2.0/mlflow"
        experiment = httpx.get(
            f"{api}/experiments/get-by-name", params={"experiment_name": "early-warning"}
        ).json()
        found = httpx.post(
            f"{api}/runs/search",
            json={"experiment_ids": [experiment["experiment"]["experiment_id"]], "max_results": 1000},
            timeout=30,
        ).json()
        return found
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        server.stdout.close()  # type: ignore[union-attr]


def _tags(run: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {t["key"]: t["value"] for t in run["data"].get("tags", [])}


def _params(run: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {p["key"]: p["value"] for p in run["data"].get("params", [])}


def test_the_doc_has_the_whole_loop() -> None:
    commands = "\n".join(sh_blocks(DOC.read_text()))
    for step in (
        "early-warning train",
        "council/training.yaml",
        "early-warning mlflow",
        "early-warning models promote 2 --reason",
        "early-warning models promote 1 --reason",
        "early-warning models history",
        "mlflow models predict",
    ):
        assert step in commands, step


@pytest.mark.slow
def test_every_command_in_the_data_teams_doc_runs(tmp_path: Path) -> None:
    outputs: list[str] = []
    compared: dict[str, object] | None = None
    for block in sh_blocks(DOC.read_text()):
        if block.strip().startswith("early-warning mlflow"):
            compared = _serve_and_compare(block, tmp_path)
            continue
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            cwd=tmp_path,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        assert done.returncode == 0, f"{block}\n---\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        outputs.append(done.stdout)
    # The two training runs, told apart by name and by the one changed parameter.
    assert compared is not None
    runs = [r for r in compared["runs"] if "mlflow.parentRunId" not in _tags(r)]  # type: ignore[index, union-attr]
    assert len(runs) == 2
    assert len({r["info"]["run_name"] for r in runs}) == 2
    assert sorted(_params(r)["logistic_regression.C"] for r in runs) == ["0.1", "0.3"]
    # Promoted, then rolled back: the history shows both, with who and why.
    history = outputs[-2].strip().splitlines()
    assert any(
        "champion   -> v1 (replacing v2)  rolled back by " in line
        and line.endswith("Rolling back: the team found version 2's lists harder to act on")
        for line in history
    ), history
    assert any("-> v2" in line and "C 0.3 finds more people" in line for line in history) or any(
        "-> v2" in line and "champion gate" in line for line in history
    )
    # The registered model scored the CSV from 0 to 1.
    predictions = json.loads((tmp_path / "scores.json").read_text())["predictions"]
    assert predictions
    assert all(0.0 <= p["score"] <= 1.0 for p in predictions)
