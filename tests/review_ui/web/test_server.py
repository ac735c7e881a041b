"""``early-warning serve`` with several worker processes.

Workers are only safe because nothing a request needs lives in one process:
these tests sign in once and keep using the session while requests land on
different workers, and check that stopping the server stops every worker.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest
from pydantic import ValidationError

from early_warning.settings import Settings
from review_ui.web.server import DEFAULT_MAX_WORKERS, available_cores, worker_count
from tests.review_ui.web.conftest import CSRF_INPUT
from tests.review_ui.web.test_commands import SCRIPT, _free_port, _run

PASSWORD = "a long enough password"


def test_the_command_line_wins_over_the_setting_which_wins_over_one_per_core(tmp_path: Path) -> None:
    assert worker_count(Settings(home=tmp_path, workers=3), 2) == 2
    assert worker_count(Settings(home=tmp_path, workers=3)) == 3
    assert worker_count(Settings(home=tmp_path)) == min(available_cores(), DEFAULT_MAX_WORKERS)
    assert available_cores() == len(os.sched_getaffinity(0))


def test_the_workers_setting_comes_from_the_environment_and_must_be_at_least_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EARLY_WARNING_WORKERS", "3")
    assert Settings(home=tmp_path).workers == 3
    monkeypatch.setenv("EARLY_WARNING_WORKERS", "0")
    with pytest.raises(ValidationError):
        Settings(home=tmp_path)
    with pytest.raises(ValueError, match="at least 1"):
        worker_count(Settings(home=tmp_path, workers=None), 0)


def test_serve_refuses_a_worker_count_below_one(tmp_path: Path) -> None:
    result = _run("serve", "--workers", "0", home=tmp_path)
    assert result.returncode == 2
    assert "must be more than 0" in result.stderr


def _workers(parent: psutil.Process) -> list[psutil.Process]:
    return [child for child in parent.children() if "spawn_main" in " ".join(child.cmdline())]


def _signed_in(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    found = CSRF_INPUT.search(client.get("/sign-in").text)
    assert found
    response = client.post(
        "/sign-in", data={"username": "sam", "password": PASSWORD, "csrf_token": found.group(1), "next": ""}
    )
    assert response.status_code == 303, response.text
    return client


def test_two_workers_keep_someone_signed_in_whichever_of_them_answers(tmp_path: Path) -> None:
    added = _run(
        "users", "add", "sam", "--role", "caseworker", "--locality", "Northgate", "--password-stdin",
        home=tmp_path, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "EARLY_WARNING_HOME": str(tmp_path)}
    env.pop("EARLY_WARNING_DATABASE_URL", None)
    env.pop("EARLY_WARNING_WORKERS", None)
    process = subprocess.Popen(
        [SCRIPT, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    parent = psutil.Process(process.pid)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/sign-in", timeout=2).status_code == 200 and len(_workers(parent)) == 2:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "the workers did not start within 90 s"
            time.sleep(0.3)
        workers = _workers(parent)
        before = {worker.pid: sum(worker.cpu_times()[:2]) for worker in workers}
        client = _signed_in(base)
        cookies = dict(client.cookies)

        def review_list(_: int) -> str:
            # a new connection each time, so either worker may accept it
            with httpx.Client(base_url=base, cookies=cookies, timeout=30) as fresh:
                response = fresh.get("/queue")
                assert response.status_code == 200
                return response.text

        with ThreadPoolExecutor(max_workers=6) as pool:
            pages = list(pool.map(review_list, range(60)))
        assert all('<h1 class="govuk-heading-l">Review list</h1>' in page for page in pages)
        assert all("Signed in as sam (Caseworker, Northgate)" in page for page in pages)
        after = {worker.pid: sum(worker.cpu_times()[:2]) for worker in workers}
        assert all(after[pid] > before[pid] for pid in before), "one worker answered everything"
        client.close()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) in (0, -signal.SIGTERM)
    with process.stdout or io.StringIO() as piped:
        output = piped.read()
    assert output.count("Finished server process") == 2
    # No worker was killed for being slow to start (uvicorn's 5 s health check, before the fix).
    assert "died" not in output, output
    assert not any(worker.is_running() for worker in workers)
