"""``early-warning users`` and ``early-warning serve`` as an administrator would use them."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from review_ui.store import get_user_by_username, make_engine, make_session_factory
from review_ui.web.accounts import ensure_demo_accounts
from review_ui.web.passwords import verify_password

SCRIPT = str(Path(sys.executable).parent / "early-warning")


def _run(*args: str, home: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EARLY_WARNING_HOME": str(home)}
    env.pop("EARLY_WARNING_DATABASE_URL", None)
    return subprocess.run(
        [SCRIPT, *args], input=stdin, capture_output=True, text=True, env=env, check=False, timeout=120
    )


def test_users_add_list_and_deactivate(tmp_path: Path) -> None:
    added = _run(
        "users", "add", "sam", "--role", "caseworker", "--locality", "Northgate", "--password-stdin",
        home=tmp_path, stdin="a long enough password\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "Added sam as caseworker in Northgate." in added.stdout
    listed = _run("users", "list", home=tmp_path)
    assert "sam" in listed.stdout
    assert "caseworker" in listed.stdout
    assert "Northgate" in listed.stdout
    assert "a long enough password" not in listed.stdout + added.stdout

    engine = make_engine(f"sqlite:///{tmp_path / 'review_queue.sqlite3'}")
    with make_session_factory(engine)() as db:
        user = get_user_by_username(session=db, username="sam")
        assert user is not None
        assert user.password_hash.startswith("$argon2id$")
        assert verify_password(user.password_hash, "a long enough password")

    assert _run("users", "deactivate", "sam", home=tmp_path).returncode == 0
    assert "(deactivated)" in _run("users", "list", home=tmp_path).stdout
    engine.dispose()


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["users", "add", "kim", "--role", "caseworker", "--password-stdin"], "long enough password\n", "needs a locality"),
        (["users", "add", "kim", "--role", "analyst", "--password-stdin"], "short\n", "at least 15 characters"),
        (["users", "deactivate", "nobody"], "", "no user called 'nobody'"),
    ],
)  # fmt: skip
def test_users_mistakes_are_explained(tmp_path: Path, args: list[str], stdin: str, message: str) -> None:
    result = _run(*args, home=tmp_path, stdin=stdin)
    assert result.returncode == 2
    assert message in result.stderr


def test_a_taken_username_is_refused(tmp_path: Path) -> None:
    args = ["users", "add", "lee", "--role", "analyst", "--password-stdin"]
    assert _run(*args, home=tmp_path, stdin="long enough password\n").returncode == 0
    again = _run(*args, home=tmp_path, stdin="another long password\n")
    assert again.returncode == 2
    assert "already a user called 'lee'" in again.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "EARLY_WARNING_HOME": str(tmp_path)}
    env.pop("EARLY_WARNING_DATABASE_URL", None)
    process = subprocess.Popen(
        [SCRIPT, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/sign-in", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "the app did not start within 60 s"
                time.sleep(0.3)
        assert response.status_code == 200
        assert "Sign in" in response.text
        assert "server" not in response.headers
    finally:
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down cleanly, then re-raises the signal so the exit status shows it
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)
    with process.stdout or io.StringIO() as piped:
        output = piped.read()
    assert "Finished server process" in output


def test_demo_accounts_are_made_once_and_can_sign_in(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'review_queue.sqlite3'}"
    first = ensure_demo_accounts(url, tmp_path)
    assert [a.role for a in first] == ["caseworker", "team_lead"]
    assert ensure_demo_accounts(url, tmp_path) == first
    assert oct((tmp_path / "demo" / "sign-in.txt").stat().st_mode & 0o777) == "0o600"
    engine = make_engine(url)
    with make_session_factory(engine)() as db:
        for account in first:
            user = get_user_by_username(session=db, username=account.username)
            assert user is not None
            assert verify_password(user.password_hash, account.password)
    engine.dispose()
