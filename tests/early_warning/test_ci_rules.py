"""Under CI=true a skipped test must fail the run (the brief's rule)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CONFTEST = Path(__file__).parents[1] / "conftest.py"


def _run(tmp_path: Path, ci: str) -> int:
    (tmp_path / "conftest.py").write_text(CONFTEST.read_text())
    (tmp_path / "test_skips.py").write_text(
        "import pytest\n\n@pytest.mark.skip(reason='no database')\ndef test_needs_db():\n    pass\n\n"
        "def test_fine():\n    pass\n"
    )
    env = {**os.environ, "CI": ci}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode


def test_a_skip_fails_the_run_under_ci(tmp_path: Path) -> None:
    assert _run(tmp_path, "true") == 1


def test_a_skip_is_allowed_outside_ci(tmp_path: Path) -> None:
    assert _run(tmp_path, "") == 0
