"""Shared test set-up.

Under ``CI=true`` a skipped test is a failure: CI must run everything, so a
missing database, browser or data file shows up as red, not as a quiet skip.
"""

from __future__ import annotations

import os

# Imported here, once, before any test: pytest's unraisable-exception hook imports tracemalloc
# lazily, and a leaked file collected by the GC *during* that import crashed the hook (CI, stop
# 15: "partially initialized module 'tracemalloc'"), failing whichever test was running.
import tracemalloc  # noqa: F401

import pytest

from tests.support.databases import POSTGRES_ENV, find_local_postgres


def pytest_configure(config: pytest.Config) -> None:
    """Use the machine's PostgreSQL when it answers, so a plain ``make test`` covers both databases.

    ``EARLY_WARNING_TEST_POSTGRES_URL`` set (to a URL, or to nothing to opt out) is left alone.
    """
    if POSTGRES_ENV not in os.environ:
        found = find_local_postgres()
        if found:
            os.environ[POSTGRES_ENV] = found


def pytest_report_header(config: pytest.Config) -> str:
    url = os.environ.get(POSTGRES_ENV)
    return (
        f"PostgreSQL for the queue tests: {url}"
        if url
        else f"PostgreSQL tests skipped ({POSTGRES_ENV} empty)"
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI") != "true":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped:
        names = "\n  ".join(getattr(report, "nodeid", "?") for report in skipped)
        print(f"\nCI=true: {len(skipped)} test(s) were skipped, which counts as a failure:\n  {names}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
