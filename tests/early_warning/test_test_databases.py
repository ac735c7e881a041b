"""A plain ``make test`` finds the machine's PostgreSQL by itself, so a newcomer's run covers both databases."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.databases import LOCAL_POSTGRES, POSTGRES_ENV, find_local_postgres

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_port_nobody_answers_on_is_not_taken_for_postgres() -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/test"
    assert find_local_postgres(url, timeout_seconds=1) is None


@pytest.mark.postgres
def test_the_local_server_is_found_when_it_answers() -> None:
    if find_local_postgres() is None:
        pytest.skip("no PostgreSQL answers on 127.0.0.1:5432")
    assert find_local_postgres() == LOCAL_POSTGRES


@pytest.mark.postgres
def test_an_unset_variable_turns_into_the_local_server_and_an_empty_one_opts_out(tmp_path: Path) -> None:
    if find_local_postgres() is None:
        pytest.skip("no PostgreSQL answers on 127.0.0.1:5432")
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        f"import os\n\ndef test_probe():\n    print('URL=' + repr(os.environ.get({POSTGRES_ENV!r})))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != POSTGRES_ENV}

    def run(extra: dict[str, str]) -> str:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-s",
                "-p",
                "no:cacheprovider",
                "-p",
                "tests.conftest",
                str(probe),
            ],
            cwd=ROOT,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return result.stdout

    assert f"URL={LOCAL_POSTGRES!r}" in run({})
    assert "URL=''" in run({POSTGRES_ENV: ""})
