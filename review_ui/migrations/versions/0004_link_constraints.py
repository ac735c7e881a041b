"""Link constraints: a person's word that records are, or are not, the same person.

A caseworker or the data team can say a record joined to a person is "not
this person" (a cannot-link against the person's other records at the time),
and the data team can say two records are the same person (a must-link).
Every later night's linkage keeps these (``features.linkage.constraints``);
the data team can undo one, which is recorded here rather than deleting the
row, so the table reads as a history.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "link_constraints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=True),
        sa.Column("source_a", sa.String(length=64), nullable=False),
        sa.Column("record_a", sa.String(length=200), nullable=False),
        sa.Column("other_records", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_by", sa.String(length=64), nullable=True),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undo_reason", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "kind IN ('not_same_person', 'same_person')", name=op.f("ck_link_constraints_kind")
        ),
        sa.CheckConstraint("length(reason) > 0", name=op.f("ck_link_constraints_reason_given")),
        sa.CheckConstraint(
            "(undone_at IS NULL AND undone_by IS NULL AND undo_reason IS NULL)"
            " OR (undone_at IS NOT NULL AND undone_by IS NOT NULL AND undo_reason IS NOT NULL)",
            name=op.f("ck_link_constraints_undone_complete"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_constraints")),
    )
    op.create_index("ix_link_constraints_source_a_record_a", "link_constraints", ["source_a", "record_a"])
    op.create_index("ix_link_constraints_person_id", "link_constraints", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_link_constraints_person_id", table_name="link_constraints")
    op.drop_index("ix_link_constraints_source_a_record_a", table_name="link_constraints")
    op.drop_table("link_constraints")
