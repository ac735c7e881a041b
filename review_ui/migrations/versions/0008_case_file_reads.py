"""Case files each user opened in the last minute, for the per-user read limit (issue 17 row 11).

``case_file_reads`` holds only who and when (the audit log says which case
file); the review app counts a user's rows within the last minute and adds
one in the same write transaction, then deletes that user's older rows, so
the table stays about as small as the number of people reading.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_file_reads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_case_file_reads_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_file_reads")),
    )
    op.create_index("ix_case_file_reads_user_id_at", "case_file_reads", ["user_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_case_file_reads_user_id_at", table_name="case_file_reads")
    op.drop_table("case_file_reads")
