"""Issue 17 row 8 / item 3, PostgreSQL: the app's role may only add to and read the audit log.

Before ``early-warning audit protect`` the app's role owns ``audit_log`` (it
ran the migrations) and can switch the append-only triggers off and rewrite
rows; after it, a separate ``NOLOGIN`` role owns the table and its trigger
function, and the app's role can INSERT and SELECT and nothing else - while
the review app itself still works. Runs against the CI PostgreSQL as its
superuser, with throwaway roles and a schema that are dropped afterwards.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from early_warning.cli import main
from review_ui.migrations import upgrade_to_head
from review_ui.store import append_audit, make_engine, make_session_factory, write_transaction
from review_ui.store.audit import AuditAction, verify_audit_chain
from review_ui.store.audit_owner import AuditOwnerError, protect_audit_log
from tests.support.databases import POSTGRES_ENV, postgres_schema_url


@dataclass
class Roles:
    superuser_url: str  # the DBA's connection, on the app's schema
    app_url: str  # the app's own role, on the same schema
    app_role: str
    owner_role: str
    schema: str


@pytest.fixture
def roles() -> Iterator[Roles]:
    """A login role for the app that is no superuser, a schema the DBA owns, and the app's tables in it."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"PostgreSQL run skipped: set {POSTGRES_ENV}")
    suffix = uuid.uuid4().hex[:10]
    app_role, owner_role, schema = f"ew_app_{suffix}", f"ew_audit_owner_{suffix}", f"ew_test_{suffix}"
    admin = create_engine(postgres_schema_url(base, "public"))
    with admin.begin() as connection:
        connection.execute(text(f"CREATE ROLE {app_role} LOGIN"))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        connection.execute(text(f'GRANT USAGE, CREATE ON SCHEMA "{schema}" TO {app_role}'))
    app_url = postgres_schema_url(make_url(base).set(username=app_role).render_as_string(False), schema)
    try:
        upgrade_to_head(app_url)  # the app's role runs the migrations, as `serve` does
        yield Roles(postgres_schema_url(base, schema), app_url, app_role, owner_role, schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text("SET LOCAL lock_timeout = '20s'"))
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            for role in (app_role, owner_role):
                if connection.scalar(text("SELECT count(*) FROM pg_roles WHERE rolname = :r"), {"r": role}):
                    connection.execute(text(f"DROP OWNED BY {role}"))
                    connection.execute(text(f"DROP ROLE {role}"))
        admin.dispose()


def _add_entry(engine: Engine, actor: str) -> None:
    with make_session_factory(engine)() as db, write_transaction(db):
        append_audit(session=db, actor=actor, action=AuditAction.QUEUE_VIEWED, detail={"test": True})


def _refused(engine: Engine, statement: str) -> str:
    """The error PostgreSQL gives the app's role for ``statement`` (the test fails if it runs)."""
    with pytest.raises(DBAPIError) as error, engine.begin() as connection:
        connection.execute(text(statement))
    return str(error.value.orig)


TAMPERING = [
    "ALTER TABLE audit_log DISABLE TRIGGER USER",
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql "
    "AS $$ BEGIN RETURN NEW; END $$",
    "DROP TABLE audit_log CASCADE",
    "ALTER TABLE audit_log OWNER TO CURRENT_USER",
    "TRUNCATE audit_log",
    "UPDATE audit_log SET actor = 'someone else'",
    "DELETE FROM audit_log",
]


@pytest.mark.postgres
def test_before_protection_the_apps_role_can_switch_the_triggers_off(roles: Roles) -> None:
    """The fault issue 17 found: owning the table, the app's role can rewrite the log."""
    app = make_engine(roles.app_url)
    try:
        _add_entry(app, "casey")
        with app.begin() as connection:
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            connection.execute(text("UPDATE audit_log SET actor = 'someone else'"))
            connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
        with make_session_factory(app)() as db:
            assert not verify_audit_chain(db).intact  # only the chain shows it
    finally:
        app.dispose()


@pytest.mark.postgres
def test_after_protection_the_apps_role_can_only_add_and_read(roles: Roles, tmp_path: Path) -> None:
    code = main(
        ["audit", "protect", "--dba-url", roles.superuser_url, "--app-role", roles.app_role]
        + ["--owner-role", roles.owner_role, "--home", str(tmp_path)]
    )
    assert code == 0
    app = make_engine(roles.app_url)
    try:
        _add_entry(app, "casey")  # the app still writes ...
        _add_entry(app, "cora")
        with make_session_factory(app)() as db:
            check = verify_audit_chain(db)  # ... and reads
        assert check.intact
        assert check.checked == 2
        for statement in TAMPERING:
            message = _refused(app, statement)
            assert "must be owner" in message or "permission denied" in message, (statement, message)
        assert "permission denied" in _refused(app, f"SET ROLE {roles.owner_role}")
        assert "must have admin option" in _refused(app, f"GRANT {roles.owner_role} TO {roles.app_role}")
        upgrade_to_head(roles.app_url)  # serve's start-up migration check still passes
        with make_session_factory(app)() as db:
            assert verify_audit_chain(db).checked == 2
    finally:
        app.dispose()
    # Running it again changes nothing and still succeeds.
    assert (
        main(
            ["audit", "protect", "--dba-url", roles.superuser_url, "--app-role", roles.app_role]
            + ["--owner-role", roles.owner_role, "--home", str(tmp_path)]
        )
        == 0
    )


@pytest.mark.postgres
def test_an_app_role_that_owns_the_schema_is_reported(
    roles: Roles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = create_engine(roles.superuser_url)
    with admin.begin() as connection:
        connection.execute(text(f'ALTER SCHEMA "{roles.schema}" OWNER TO {roles.app_role}'))
    admin.dispose()
    code = main(
        ["audit", "protect", "--dba-url", roles.superuser_url, "--app-role", roles.app_role]
        + ["--owner-role", roles.owner_role, "--home", str(tmp_path)]
    )
    assert code == 1
    assert f"{roles.app_role} owns schema {roles.schema}, so it can still drop the whole table" in (
        capsys.readouterr().err
    )


@pytest.mark.postgres
def test_protection_refuses_what_would_not_hold(roles: Roles) -> None:
    dba = create_engine(roles.superuser_url)
    try:
        with pytest.raises(AuditOwnerError, match="is a superuser"):
            protect_audit_log(dba, app_role="postgres", owner_role=roles.owner_role)
        with pytest.raises(AuditOwnerError, match="there is no role"):
            protect_audit_log(dba, app_role=f"{roles.app_role}_missing", owner_role=roles.owner_role)
        with pytest.raises(AuditOwnerError, match="not a plain PostgreSQL role name"):
            protect_audit_log(dba, app_role="app; DROP TABLE audit_log", owner_role=roles.owner_role)
        protect_audit_log(dba, app_role=roles.app_role, owner_role=roles.owner_role)
        with dba.begin() as connection:
            connection.execute(text(f"GRANT {roles.owner_role} TO {roles.app_role}"))
        with pytest.raises(AuditOwnerError, match="is a member of"):
            protect_audit_log(dba, app_role=roles.app_role, owner_role=roles.owner_role)
    finally:
        dba.dispose()


def test_sqlite_has_no_roles_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'review_queue.sqlite3'}"
    upgrade_to_head(url)
    assert main(["audit", "protect", "--dba-url", url, "--app-role", "app", "--home", str(tmp_path)]) == 2
    assert "only PostgreSQL has roles" in capsys.readouterr().err


@pytest.mark.postgres
def test_the_app_warns_at_start_up_until_the_audit_log_is_protected(
    roles: Roles, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from review_ui.web import create_app
    from tests.review_ui.web.conftest import web_settings

    with caplog.at_level(logging.WARNING, logger="review_ui.web.app"):
        create_app(web_settings(tmp_path), database_url=roles.app_url)
    assert "audit protect" in caplog.text
    caplog.clear()
    assert (
        main(
            ["audit", "protect", "--dba-url", roles.superuser_url, "--app-role", roles.app_role]
            + ["--owner-role", roles.owner_role, "--home", str(tmp_path)]
        )
        == 0
    )
    with caplog.at_level(logging.WARNING, logger="review_ui.web.app"):
        create_app(web_settings(tmp_path), database_url=roles.app_url)
    assert "audit protect" not in caplog.text
