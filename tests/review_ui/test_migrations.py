"""The Alembic migrations: up and down on both databases, and in step with the models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from review_ui.migrations import MIGRATIONS_DIR, downgrade_to_base, upgrade_to_head
from review_ui.store import Base, make_engine

TABLES = {
    "users",
    "review_items",
    "review_item_history",
    "review_outcomes",
    "audit_log",
    "route_runs",
    "case_files",
    "web_sessions",
    "sign_in_attempts",
    "case_file_reads",
    "link_constraints",
    "clerical_strata",
    "clerical_pairs",
    "clerical_labels",
    "contact_attempts",
}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_downgrade_and_upgrade_again_from_any_directory(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # nothing may depend on the current directory
    upgrade_to_head(database_url)
    assert _tables(database_url) == TABLES | {"alembic_version"}
    upgrade_to_head(database_url)  # running it again at start-up is harmless
    downgrade_to_base(database_url)
    assert _tables(database_url) <= {"alembic_version"}
    upgrade_to_head(database_url)
    assert _tables(database_url) >= TABLES
    assert list(tmp_path.iterdir()) == []


def test_the_models_match_the_migrated_schema(database_url: str) -> None:
    upgrade_to_head(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_the_alembic_command_line_finds_the_migrations(database_url: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable, "-m", "alembic", "-c", str(MIGRATIONS_DIR / "alembic.ini"),
            "-x", f"url={database_url}", "upgrade", "head",
        ],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert _tables(database_url) >= TABLES
