"""The review queue: users, review items and their nightly history, outcomes,
the append-only audit log and the record of routed nights.

The audit log is made append-only in the database itself: triggers reject
UPDATE and DELETE (and TRUNCATE on PostgreSQL), whoever connects.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "route_runs",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("model_version", sa.String(length=200), nullable=False),
        sa.Column("candidates", sa.Integer(), nullable=False),
        sa.Column("new_items", sa.Integer(), nullable=False),
        sa.Column("updated_items", sa.Integer(), nullable=False),
        sa.Column("held_back_cooldown", sa.Integer(), nullable=False),
        sa.Column("over_capacity", sa.Integer(), nullable=False),
        sa.Column("merged_items", sa.Integer(), nullable=False),
        sa.Column("new_by_locality", sa.JSON(), nullable=False),
        sa.Column("times_routed", sa.Integer(), nullable=False),
        sa.Column("first_routed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_routed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("as_of", name=op.f("pk_route_runs")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("locality", sa.String(length=100), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('caseworker', 'team_lead', 'administrator', 'analyst')", name=op.f("ck_users_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "review_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("locality", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("services_at_surfacing", sa.JSON(), nullable=False),
        sa.Column("services_last_scored", sa.JSON(), nullable=False),
        sa.Column("model_version", sa.String(length=200), nullable=False),
        sa.Column("first_surfaced_on", sa.Date(), nullable=False),
        sa.Column("last_scored_on", sa.Date(), nullable=False),
        sa.Column("assigned_to_id", sa.Integer(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(status = 'closed' AND outcome IS NOT NULL AND closed_at IS NOT NULL) OR (status <> 'closed' AND outcome IS NULL AND closed_at IS NULL)",
            name=op.f("ck_review_items_closed_has_outcome"),
        ),
        sa.CheckConstraint(
            "(status = 'merged') = (merged_into_id IS NOT NULL)",
            name=op.f("ck_review_items_merged_has_target"),
        ),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('help_offered', 'already_supported', 'no_help_needed', 'could_not_reach', 'declined')",
            name=op.f("ck_review_items_outcome"),
        ),
        sa.CheckConstraint(
            "status <> 'in_review' OR assigned_to_id IS NOT NULL",
            name=op.f("ck_review_items_in_review_assigned"),
        ),
        sa.CheckConstraint(
            "status IN ('new', 'in_review', 'closed', 'merged')", name=op.f("ck_review_items_status")
        ),
        sa.CheckConstraint("score >= 0 AND score <= 1", name=op.f("ck_review_items_score_range")),
        sa.ForeignKeyConstraint(
            ["assigned_to_id"], ["users.id"], name=op.f("fk_review_items_assigned_to_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["review_items.id"], name=op.f("fk_review_items_merged_into_id_review_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_items")),
    )
    op.create_index(op.f("ix_review_items_assigned_to_id"), "review_items", ["assigned_to_id"], unique=False)
    op.create_index("ix_review_items_person_status", "review_items", ["person_id", "status"], unique=False)
    op.create_index(
        "ix_review_items_queue",
        "review_items",
        ["locality", "status", "last_scored_on", "rank"],
        unique=False,
    )
    op.create_index(
        "uq_review_items_open_person",
        "review_items",
        ["person_id"],
        unique=True,
        sqlite_where=sa.text("status IN ('new', 'in_review')"),
        postgresql_where=sa.text("status IN ('new', 'in_review')"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"], ["review_items.id"], name=op.f("fk_audit_log_item_id_review_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"], unique=False)
    op.create_index(op.f("ix_audit_log_item_id"), "audit_log", ["item_id"], unique=False)
    op.create_index(op.f("ix_audit_log_person_id"), "audit_log", ["person_id"], unique=False)
    op.create_table(
        "review_item_history",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("locality", sa.String(length=100), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("model_version", sa.String(length=200), nullable=False),
        sa.Column("merged_into_item_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["review_items.id"], name=op.f("fk_review_item_history_item_id_review_items")
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_item_id"],
            ["review_items.id"],
            name=op.f("fk_review_item_history_merged_into_item_id_review_items"),
        ),
        sa.PrimaryKeyConstraint("item_id", "as_of", name=op.f("pk_review_item_history")),
    )
    op.create_index(
        "ix_review_item_history_as_of", "review_item_history", ["as_of", "locality", "rank"], unique=False
    )
    op.create_table(
        "review_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('help_offered', 'already_supported', 'no_help_needed', 'could_not_reach', 'declined')",
            name=op.f("ck_review_outcomes_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["review_items.id"], name=op.f("fk_review_outcomes_item_id_review_items")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_review_outcomes_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_outcomes")),
    )
    op.create_index(op.f("ix_review_outcomes_item_id"), "review_outcomes", ["item_id"], unique=False)
    op.create_index(op.f("ix_review_outcomes_user_id"), "review_outcomes", ["user_id"], unique=False)
    _make_audit_log_append_only()


def downgrade() -> None:
    _drop_audit_log_guard()
    op.drop_index(op.f("ix_review_outcomes_user_id"), table_name="review_outcomes")
    op.drop_index(op.f("ix_review_outcomes_item_id"), table_name="review_outcomes")
    op.drop_table("review_outcomes")
    op.drop_index("ix_review_item_history_as_of", table_name="review_item_history")
    op.drop_table("review_item_history")
    op.drop_index(op.f("ix_audit_log_person_id"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_item_id"), table_name="audit_log")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(
        "uq_review_items_open_person",
        table_name="review_items",
        sqlite_where=sa.text("status IN ('new', 'in_review')"),
        postgresql_where=sa.text("status IN ('new', 'in_review')"),
    )
    op.drop_index("ix_review_items_queue", table_name="review_items")
    op.drop_index("ix_review_items_person_status", table_name="review_items")
    op.drop_index(op.f("ix_review_items_assigned_to_id"), table_name="review_items")
    op.drop_table("review_items")
    op.drop_table("users")
    op.drop_table("route_runs")


_SQLITE_GUARDS = {
    "audit_log_no_update": "UPDATE",
    "audit_log_no_delete": "DELETE",
}


def _make_audit_log_append_only() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name, operation in _SQLITE_GUARDS.items():
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {operation} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {operation} is not allowed'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP "
            "USING ERRCODE = 'insufficient_privilege'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        raise NotImplementedError(f"no append-only guard for {dialect}: add one before supporting it")


def _drop_audit_log_guard() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in _SQLITE_GUARDS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update_or_delete ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
