"""Shared test set-up.

Under ``CI=true`` a skipped test is a failure: CI must run everything, so a
missing database, browser or data file shows up as red, not as a quiet skip.
"""

from __future__ import annotations

import os

import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI") != "true":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped:
        names = "\n  ".join(getattr(report, "nodeid", "?") for report in skipped)
        print(f"\nCI=true: {len(skipped)} test(s) were skipped, which counts as a failure:\n  {names}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
