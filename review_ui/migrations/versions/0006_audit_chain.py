"""A tamper-evident audit log: a hash chain, and SQLite triggers against REPLACE and back-dating.

Every audit row gets ``prev_hash`` and ``row_hash`` (see
``review_ui.store.audit``); rows written before this migration are chained
here, in id order, so ``early-warning audit verify`` covers the whole log.

SQLite: ``INSERT OR REPLACE`` / ``REPLACE INTO`` over an existing id deletes
the old row without firing delete triggers, so a BEFORE INSERT trigger
refuses an insert whose id is already taken; another refuses a row dated
before the latest row or more than five minutes in the past (back-dating).
``DROP TRIGGER`` cannot be prevented on SQLite: the chain shows the edit.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-14
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64

_SQLITE_INSERT_GUARDS = {
    "audit_log_no_replace": (
        "EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id)",
        "audit_log is append-only: REPLACE over an existing entry is not allowed",
    ),
    "audit_log_no_backdating": (
        "NEW.at < (SELECT MAX(at) FROM audit_log)"
        " OR NEW.at < strftime('%Y-%m-%d %H:%M:%f', 'now', '-5 minutes')",
        "audit_log is append-only: an entry cannot be dated in the past",
    ),
}


def _hash(previous: str, row: sa.Row[tuple[object, ...]]) -> str:
    """The same digest as ``review_ui.store.audit.row_hash`` (copied: a migration stands still)."""
    at, actor, action, item_id, person_id, detail, source = row[1:]
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    assert isinstance(at, datetime)
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    if isinstance(detail, str):
        detail = json.loads(detail)
    content = [
        at.astimezone(UTC).isoformat(timespec="microseconds"),
        actor,
        action,
        item_id,
        person_id,
        detail,
        source,
    ]
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{previous}|{canonical}".encode()).hexdigest()


def _chain_existing_rows() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT id, at, actor, action, item_id, person_id, detail, source FROM audit_log ORDER BY id")
    ).all()
    previous = GENESIS_HASH
    for row in rows:
        digest = _hash(previous, row)
        bind.execute(
            sa.text("UPDATE audit_log SET prev_hash = :prev, row_hash = :row WHERE id = :id"),
            {"prev": previous, "row": digest, "id": row[0]},
        )
        previous = digest


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_log", sa.Column("row_hash", sa.String(length=64), nullable=True))
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER audit_log_no_update")
        _chain_existing_rows()
        op.execute(
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE is not allowed'); END"
        )
        for name, (condition, message) in _SQLITE_INSERT_GUARDS.items():
            op.execute(
                f"CREATE TRIGGER {name} BEFORE INSERT ON audit_log WHEN {condition} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
    elif dialect == "postgresql":
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_or_delete")
        _chain_existing_rows()
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_or_delete")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in _SQLITE_INSERT_GUARDS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        # SQLite's DROP COLUMN rewrites nothing the UPDATE trigger guards.
    op.drop_column("audit_log", "row_hash")
    op.drop_column("audit_log", "prev_hash")
