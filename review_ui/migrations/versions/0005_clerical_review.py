"""Clerical review: the night's sampled record pairs, their strata and the data team's labels.

See ``review_ui.store.clerical``. Labels are appended (a changed mind is a
new row), so the table reads as a history; record values are blanked by the
retention rule while strata and labels stay.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clerical_strata",
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("band", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("called", sa.Boolean(), nullable=False),
        sa.Column("source_pair", sa.String(length=200), nullable=False),
        sa.Column("band_label", sa.String(length=40), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("night", "band", "called", "source_pair", name=op.f("pk_clerical_strata")),
    )
    op.create_table(
        "clerical_pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("unique_id_l", sa.Integer(), nullable=False),
        sa.Column("unique_id_r", sa.Integer(), nullable=False),
        sa.Column("band", sa.Integer(), nullable=False),
        sa.Column("band_label", sa.String(length=40), nullable=False),
        sa.Column("called", sa.Boolean(), nullable=False),
        sa.Column("stratum_population", sa.Integer(), nullable=False),
        sa.Column("source_pair", sa.String(length=200), nullable=False),
        sa.Column("record_l", sa.JSON(), nullable=False),
        sa.Column("record_r", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("values_deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clerical_pairs")),
        sa.UniqueConstraint(
            "night",
            "unique_id_l",
            "unique_id_r",
            name=op.f("uq_clerical_pairs_night_unique_id_l_unique_id_r"),
        ),
    )
    op.create_index("ix_clerical_pairs_night_band", "clerical_pairs", ["night", "band", "called"])
    op.create_table(
        "clerical_labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column("labelled_by", sa.String(length=64), nullable=False),
        sa.Column("labelled_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "label IN ('same', 'different', 'cant_tell')", name=op.f("ck_clerical_labels_label")
        ),
        sa.ForeignKeyConstraint(
            ["pair_id"], ["clerical_pairs.id"], name=op.f("fk_clerical_labels_pair_id_clerical_pairs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clerical_labels")),
    )
    op.create_index("ix_clerical_labels_pair_id", "clerical_labels", ["pair_id"])


def downgrade() -> None:
    op.drop_index("ix_clerical_labels_pair_id", table_name="clerical_labels")
    op.drop_table("clerical_labels")
    op.drop_index("ix_clerical_pairs_night_band", table_name="clerical_pairs")
    op.drop_table("clerical_pairs")
    op.drop_table("clerical_strata")
