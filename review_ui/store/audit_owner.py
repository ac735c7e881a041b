"""PostgreSQL: give ``audit_log`` an owner of its own, so the app's role may only add and read.

The triggers that keep the audit log append-only (migration 0001) bind only
those who do not own the table: its owner may ``ALTER TABLE ... DISABLE
TRIGGER``, replace the trigger function, or drop the table. The app's role
runs the migrations, so it owns every table it creates, ``audit_log`` too.
:func:`protect_audit_log` moves ``audit_log`` (with its id sequence) and the
trigger function to a separate ``NOLOGIN`` role and leaves the app's role
``SELECT`` and ``INSERT`` on the table (and ``USAGE`` on the sequence) only.

Why an admin command run once by a DBA (``early-warning audit protect``),
not a migration: the app's role would need ``CREATEROLE`` to create the
owner role, and a role with ``CREATEROLE`` can grant itself membership of
the roles it manages (PostgreSQL 15: any non-superuser role; 16 and later:
those it created, on which it holds ``ADMIN OPTION``) and so become the
owner again. A separation the app's role can undo is no separation; only a
role above it (a superuser) can make one that holds.

What it does not stop: the owner of the table's *schema* (often the app's
role, when it owns the database) may still drop the whole table. The
command says so when that is the case, and the hash chain cannot show a
dropped table, so the schema should belong to the DBA (docs/security.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

#: The owner role's name unless the DBA chooses another.
DEFAULT_OWNER_ROLE = "early_warning_audit_owner"
_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_$]{0,62}")
#: The trigger function of migration 0001 (it must move with the table: its owner could replace it).
TRIGGER_FUNCTION = "audit_log_append_only()"


class AuditOwnerError(Exception):
    """The audit log cannot be protected as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Protected:
    """What :func:`protect_audit_log` left in place."""

    schema: str
    owner_role: str
    app_role: str
    owner_role_created: bool
    #: The app's role owns the schema, so it could still drop the whole table.
    app_owns_schema: bool


def _role_name(name: str, what: str) -> str:
    if not _ROLE_NAME.fullmatch(name):
        raise AuditOwnerError(
            f"{what} {name!r} is not a plain PostgreSQL role name (lower-case letters, digits, _)"
        )
    return name


def _role_exists(connection: Connection, role: str) -> bool:
    return bool(connection.scalar(text("SELECT count(*) FROM pg_roles WHERE rolname = :r"), {"r": role}))


def _check_app_role(connection: Connection, app_role: str, owner_role: str) -> None:
    if not _role_exists(connection, app_role):
        raise AuditOwnerError(f"there is no role {app_role!r} (the app's role) in this database cluster")
    if connection.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = :r"), {"r": app_role}):
        raise AuditOwnerError(
            f"the app's role {app_role!r} is a superuser, which can do anything to any table: "
            "give the app an ordinary role first"
        )
    if _role_exists(connection, owner_role) and connection.scalar(
        text("SELECT pg_has_role(:app, :owner, 'MEMBER')"), {"app": app_role, "owner": owner_role}
    ):
        raise AuditOwnerError(
            f"the app's role {app_role!r} is a member of {owner_role!r}, so it could act as the owner: "
            f"REVOKE {owner_role} FROM {app_role} first"
        )


def protect_audit_log(engine: Engine, *, app_role: str, owner_role: str = DEFAULT_OWNER_ROLE) -> Protected:
    """Make ``owner_role`` (created if missing, ``NOLOGIN``) own ``audit_log``; the app's role
    keeps ``SELECT, INSERT``. Run over a superuser's connection to the app's database, with
    ``audit_log`` on its search path. Idempotent; all or nothing (one transaction).

    Raises:
        AuditOwnerError: not PostgreSQL, no ``audit_log`` (run the app or migrations first),
            an unknown, superuser or owner-member app role, or a bad role name.
    """
    if engine.dialect.name != "postgresql":
        raise AuditOwnerError(
            "only PostgreSQL has roles: on SQLite whoever can write the file can change it, "
            "and the hash chain (`early-warning audit verify`) is what shows a change"
        )
    app_role = _role_name(app_role, "the app's role")
    owner_role = _role_name(owner_role, "the owner role")
    if app_role == owner_role:
        raise AuditOwnerError("the owner role must not be the app's role")
    with engine.begin() as connection:
        schema = connection.scalar(
            text(
                "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.oid = to_regclass('audit_log')"
            )
        )
        if schema is None:
            raise AuditOwnerError(
                "there is no audit_log table on this connection's search path: start the review app "
                "(or run its migrations) once first, and connect to the same database and schema"
            )
        _check_app_role(connection, app_role, owner_role)
        created = not _role_exists(connection, owner_role)
        if created:
            connection.execute(text(f"CREATE ROLE {owner_role} NOLOGIN"))
        table = f'"{schema}".audit_log'
        sequence = connection.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table})
        connection.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO {owner_role}'))
        connection.execute(text(f"ALTER TABLE {table} OWNER TO {owner_role}"))
        connection.execute(text(f'ALTER FUNCTION "{schema}".{TRIGGER_FUNCTION} OWNER TO {owner_role}'))
        connection.execute(text(f"REVOKE ALL ON {table} FROM PUBLIC, {app_role}"))
        connection.execute(text(f"GRANT SELECT, INSERT ON {table} TO {app_role}"))
        if sequence:
            connection.execute(text(f"REVOKE ALL ON SEQUENCE {sequence} FROM PUBLIC, {app_role}"))
            connection.execute(text(f"GRANT USAGE ON SEQUENCE {sequence} TO {app_role}"))
        app_owns_schema = bool(
            connection.scalar(
                text("SELECT pg_has_role(:app, nspowner, 'USAGE') FROM pg_namespace WHERE nspname = :s"),
                {"app": app_role, "s": schema},
            )
        )
    return Protected(
        schema=schema,
        owner_role=owner_role,
        app_role=app_role,
        owner_role_created=created,
        app_owns_schema=app_owns_schema,
    )


def audit_log_unprotected(engine: Engine) -> bool:
    """On PostgreSQL: does the role this engine connects as own ``audit_log`` (or belong to its
    owner, as a superuser does)? Then it could switch the triggers off: ``audit protect`` has
    not been run. Always False on SQLite, which has no roles."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as connection:
        owns = connection.scalar(
            text(
                "SELECT pg_has_role(current_user, c.relowner, 'USAGE') FROM pg_class c "
                "WHERE c.oid = to_regclass('audit_log')"
            )
        )
    return bool(owns)
