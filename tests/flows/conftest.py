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
    _tiny_council(out / "council")
    return out / "extracts"


def tiny_council(tiny_borough: Path) -> Path:
    """The configuration folder the tiny borough's nights run with (:func:`_tiny_council`)."""
    return tiny_borough.parent / "council"


def _tiny_council(folder: Path) -> None:
    """The default configuration, except the contact centre's freshness check: 600 residents
    make a contact every other day or so, so the newest can be two weeks old, which the
    default (7 days, for a real council's busy contact centre) would rightly hold. The tests
    that use this borough are about faults and schedules, not the checks."""
    import yaml

    from early_warning.config import DEFAULTS_DIR

    values = yaml.safe_load((DEFAULTS_DIR / "sources.yaml").read_text())
    values["sources"]["contact_centre"]["checks"] = {"max_age_days": 60}
    folder.mkdir()
    (folder / "sources.yaml").write_text(yaml.safe_dump(values))
