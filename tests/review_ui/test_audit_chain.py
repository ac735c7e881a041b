"""The tamper-evident audit log (issue 17 row 8): a hash chain, its check, and SQLite's extra triggers.

On both databases: every row is chained to the one before; a row changed
behind the triggers' back (triggers dropped, as the owner of a SQLite file
can) is named by :func:`verify_audit_chain`, by ``early-warning audit verify``
and by the review app refusing to start. On SQLite: ``INSERT OR REPLACE``
over an existing row and back-dated rows are refused.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from review_ui.audit_guard import TIP_FILE, AuditLogAltered, check_before_routing, record_tip
from review_ui.migrations import upgrade_to_head
from review_ui.store import append_audit, make_engine, make_session_factory, write_transaction
from review_ui.store.audit import GENESIS_HASH, AuditAction, verify_audit_chain
from review_ui.store.tables import utc_now
from review_ui.web import create_app
from tests.review_ui.web.conftest import web_settings


def _write(session_factory: sessionmaker[Session], count: int) -> None:
    for number in range(count):
        with session_factory() as db, write_transaction(db):
            append_audit(
                session=db, actor=f"user-{number}", action=AuditAction.QUEUE_VIEWED, detail={"n": number}
            )


def _tamper(engine: Engine, statement: str) -> None:
    """Change a row the way someone with the database file or the owner's rights could."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            connection.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
            connection.exec_driver_sql(statement)
        else:
            connection.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER USER")
            connection.exec_driver_sql(statement)
            connection.exec_driver_sql("ALTER TABLE audit_log ENABLE TRIGGER USER")


def _ids(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return [row[0] for row in connection.execute(text("SELECT id FROM audit_log ORDER BY id"))]


def test_every_entry_is_chained_to_the_one_before(session_factory: sessionmaker[Session]) -> None:
    _write(session_factory, 4)
    with session_factory() as db:
        check = verify_audit_chain(db)
        first = db.execute(text("SELECT prev_hash FROM audit_log ORDER BY id LIMIT 1")).scalar_one()
    assert check.intact
    assert check.checked == 4
    assert first == GENESIS_HASH


def test_an_edited_entry_is_named(engine: Engine, session_factory: sessionmaker[Session]) -> None:
    _write(session_factory, 5)
    third = _ids(engine)[2]
    _tamper(engine, f"UPDATE audit_log SET actor = 'someone-else' WHERE id = {third}")
    with session_factory() as db:
        check = verify_audit_chain(db)
    assert check.broken_id == third
    assert "contents" in (check.reason or "")


def test_a_removed_entry_is_named(engine: Engine, session_factory: sessionmaker[Session]) -> None:
    _write(session_factory, 5)
    ids = _ids(engine)
    _tamper(engine, f"DELETE FROM audit_log WHERE id = {ids[1]}")
    with session_factory() as db:
        check = verify_audit_chain(db)
    assert check.broken_id == ids[2]
    assert "follow on" in (check.reason or "")


def test_the_command_line_and_the_app_refuse_an_altered_log(
    database_url: str, engine: Engine, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    _write(session_factory, 3)
    env = {**os.environ, "EARLY_WARNING_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "early_warning.cli", "audit", "verify", "--home", str(tmp_path)]
    intact = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert intact.returncode == 0, intact.stderr
    assert "3 entries checked" in intact.stdout
    last = _ids(engine)[-1]
    _tamper(engine, f"UPDATE audit_log SET source = '10.9.9.9' WHERE id = {last}")
    broken = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert broken.returncode == 1
    assert f"entry {last} is the first that fails" in broken.stderr
    with pytest.raises(RuntimeError, match=f"entry {last} fails"):
        create_app(web_settings(tmp_path), database_url=database_url)


def test_sqlite_refuses_replace_and_back_dated_entries(tmp_path: Path) -> None:
    """SQLite only: REPLACE is SQLite's, and so are these triggers."""
    url = f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    upgrade_to_head(url)
    engine = make_engine(url)
    session_factory = make_session_factory(engine)
    _write(session_factory, 2)
    first = _ids(engine)[0]
    old = (utc_now() - timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S.%f")
    statements = [
        f"INSERT OR REPLACE INTO audit_log (id, at, actor, action, detail) "
        f"VALUES ({first}, '{utc_now():%Y-%m-%d %H:%M:%S.%f}', 'x', 'queue_viewed', '{{}}')",
        f"REPLACE INTO audit_log (id, at, actor, action, detail) "
        f"VALUES ({first}, '{utc_now():%Y-%m-%d %H:%M:%S.%f}', 'x', 'queue_viewed', '{{}}')",
        f"INSERT INTO audit_log (at, actor, action, detail) VALUES ('{old}', 'x', 'queue_viewed', '{{}}')",
    ]
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.exec_driver_sql(statement)
    with session_factory() as db:
        assert verify_audit_chain(db).intact
    engine.dispose()


def test_the_night_refuses_to_route_onto_an_altered_log(
    engine: Engine, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """Issue 17 row 8: the nightly checks the chain's tail before it appends to it."""
    _write(session_factory, 3)
    check_before_routing(tmp_path, engine)
    second = _ids(engine)[1]
    _tamper(engine, f"UPDATE audit_log SET actor = 'someone-else' WHERE id = {second}")
    with pytest.raises(AuditLogAltered, match=f"entry {second} fails .*Nothing was routed"):
        check_before_routing(tmp_path, engine)


def test_removing_the_newest_entries_is_caught_by_the_tip_the_last_night_kept(
    engine: Engine, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """The chain cannot show its own newest entries removed; the tip kept under the home can."""
    _write(session_factory, 4)
    record_tip(tmp_path, engine)
    newest = _ids(engine)[-1]
    assert f'"entry_id": {newest}' in (tmp_path / TIP_FILE).read_text()
    _write(session_factory, 2)
    check_before_routing(tmp_path, engine)  # entries after the tip are fine
    _tamper(engine, f"DELETE FROM audit_log WHERE id >= {newest}")
    with session_factory() as db:
        assert verify_audit_chain(db).intact  # a shorter chain is still a whole one
    with pytest.raises(AuditLogAltered, match=f"entry {newest} fails .*no longer in the log"):
        check_before_routing(tmp_path, engine)


def test_an_edited_tip_entry_is_caught(
    engine: Engine, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    _write(session_factory, 2)
    record_tip(tmp_path, engine)
    newest = _ids(engine)[-1]
    _tamper(engine, f"DELETE FROM audit_log WHERE id = {newest}")
    _write(session_factory, 1)  # an entry slipped in where the newest was: the chain is whole again
    with session_factory() as db:
        assert verify_audit_chain(db).intact
    with pytest.raises(AuditLogAltered):
        check_before_routing(tmp_path, engine)
