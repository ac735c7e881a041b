"""``models promote`` audits into the configured queue database, and refuses when it cannot.

The audit entry for a promotion or rollback (``model_alias_moved``) belongs in the same
audit log as the review app's and the night's entries: the database named by
``EARLY_WARNING_DATABASE_URL`` (PostgreSQL in production), not a SQLite file under the home.
A promotion whose entry cannot be written is refused before the alias moves.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from test_registry_history import SETTINGS, _pipeline

from models.registry import list_models, start_training_run
from review_ui.store import make_engine, make_session_factory
from review_ui.store.audit import AuditAction, verify_audit_chain
from review_ui.store.engine import DEFAULT_DATABASE_FILE
from review_ui.store.tables import AuditEntry
from tests.support.databases import DATABASES, empty_database


def _two_challengers(home: Path) -> None:
    for seed in (1, 2):
        model, x = _pipeline(seed)
        with start_training_run(home, SETTINGS, run_name=f"small {seed}") as run:
            version = run.register_model(model, x.head(2), f"small model {seed}")
            run.set_alias("challenger", version, "gate said challenger")


def _promote(home: Path, version: str, database_url: str, by: str) -> subprocess.CompletedProcess[str]:
    """A fresh ``early-warning`` process, as a data team runs it, with the database in its environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["EARLY_WARNING_DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "early_warning.cli", "models", "promote", version]
    command += ["--reason", f"reason for v{version}", "--by", by, "--home", str(home)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("kind", DATABASES)
def test_promote_and_rollback_are_audited_in_the_configured_database(kind: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    _two_challengers(home)
    with empty_database(kind, tmp_path) as url:
        for version, by in (("2", "ana"), ("1", "bo")):
            done = _promote(home, version, url, by)
            assert done.returncode == 0, done.stderr[-3000:]
        engine = make_engine(url)
        try:
            with make_session_factory(engine)() as db:
                entries = db.scalars(
                    select(AuditEntry).where(AuditEntry.action == AuditAction.MODEL_ALIAS_MOVED)
                ).all()
                assert [
                    (e.actor, e.detail["version"], e.detail["action"], e.detail["reason"]) for e in entries
                ] == [
                    ("ana", "2", "promoted", "reason for v2"),
                    ("bo", "1", "rolled back", "reason for v1"),
                ]
                assert verify_audit_chain(db).intact
        finally:
            engine.dispose()
    # Nothing went to a SQLite queue under the home instead.
    assert not (home / DEFAULT_DATABASE_FILE).exists()


def test_a_promotion_that_cannot_be_audited_is_refused_and_the_alias_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from early_warning.cli import main
    from early_warning.settings import get_settings

    home = tmp_path / "home"
    _two_challengers(home)
    # Nothing listens on port 1: the configured audit database cannot be reached.
    monkeypatch.setenv("EARLY_WARNING_DATABASE_URL", "postgresql+psycopg://someone:secret@127.0.0.1:1/queue")
    get_settings.cache_clear()
    try:
        code = main(
            ["models", "promote", "2", "--reason", "better lists", "--by", "ana", "--home", str(home)]
        )
    finally:
        monkeypatch.delenv("EARLY_WARNING_DATABASE_URL")
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot open the audit log at postgresql+psycopg://someone:***@127.0.0.1:1/queue" in err
    assert "Nothing was promoted." in err
    assert "secret" not in err
    aliases = {row["version"]: row["aliases"] for row in list_models(home, SETTINGS)}
    assert aliases == {"1": [], "2": ["challenger"]}
    assert not (home / DEFAULT_DATABASE_FILE).exists()


def test_without_a_configured_database_the_entry_goes_to_the_homes_sqlite_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from early_warning.cli import main
    from early_warning.settings import get_settings

    home = tmp_path / "home"
    _two_challengers(home)
    monkeypatch.delenv("EARLY_WARNING_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    assert main(["models", "promote", "2", "--reason", "better lists", "--home", str(home)]) == 0
    engine = make_engine(f"sqlite:///{home / DEFAULT_DATABASE_FILE}")
    try:
        with make_session_factory(engine)() as db:
            count = db.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == AuditAction.MODEL_ALIAS_MOVED)
            )
    finally:
        engine.dispose()
    assert count == 1
