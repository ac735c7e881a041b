"""Real Prefect flow runs: one Prefect test server for the whole session (NOTES.md)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from early_warning.cli import main

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

AS_OF = "2026-06-30"


@pytest.fixture(scope="session", autouse=True)
def prefect_server() -> Iterator[str]:
    """A Prefect API for every flow run in these tests; yields its URL for subprocesses."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield str(PREFECT_API_URL.value())


@pytest.fixture(scope="session")
def small_borough(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated borough shared by the flow tests (never written to)."""
    out = tmp_path_factory.mktemp("borough")
    args = [
        "--residents",
        "2000",
        "--years",
        "3",
        "--as-of",
        AS_OF,
        "--seed",
        "21",
        "--out",
        str(out),
        "--quiet",
    ]
    assert main(["generate", *args]) == 0
    return out


@pytest.fixture(scope="session")
def tiny_borough(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The extracts of a very small borough, for tests that run whole nights as processes
    (faults, the served deployment), where each night's seconds count."""
    out = tmp_path_factory.mktemp("tiny")
    args = ["--residents", "600", "--years", "2", "--as-of", AS_OF, "--seed", "5", "--out", str(out)]
    assert main(["generate", *args, "--quiet"]) == 0
    return out / "extracts"
