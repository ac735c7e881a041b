"""The record of the work: contact attempts, strengths and a follow-up date beside an outcome.

"Could not reach" becomes an attempt (``contact_attempts``: when, how, by
whom) that keeps the item open; an outcome can carry the person's strengths
(a configured short list and free text) and a follow-up date. The new
outcome columns are nullable: outcomes recorded before this have none.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNELS = "channel IN ('phone', 'text_message', 'email', 'letter', 'home_visit')"


def upgrade() -> None:
    op.add_column("review_outcomes", sa.Column("strengths", sa.JSON(), nullable=True))
    op.add_column("review_outcomes", sa.Column("other_strengths", sa.Text(), nullable=True))
    op.add_column("review_outcomes", sa.Column("follow_up_on", sa.Date(), nullable=True))
    op.create_table(
        "contact_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("tried_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("follow_up_on", sa.Date(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(CHANNELS, name=op.f("ck_contact_attempts_channel")),
        sa.ForeignKeyConstraint(
            ["item_id"], ["review_items.id"], name=op.f("fk_contact_attempts_item_id_review_items")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_contact_attempts_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_attempts")),
    )
    op.create_index("ix_contact_attempts_item_id", "contact_attempts", ["item_id"])
    op.create_index("ix_contact_attempts_user_id", "contact_attempts", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_contact_attempts_user_id", table_name="contact_attempts")
    op.drop_index("ix_contact_attempts_item_id", table_name="contact_attempts")
    op.drop_table("contact_attempts")
    with op.batch_alter_table("review_outcomes") as batch:
        batch.drop_column("follow_up_on")
        batch.drop_column("other_strengths")
        batch.drop_column("strengths")
