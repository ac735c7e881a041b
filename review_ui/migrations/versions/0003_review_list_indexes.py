"""Covering indexes for the review list, so every filter and sort reads the index only.

The list page reads, for one locality's open items, a tally per status, who
has the item and ward (the counts, the ward choices and the filtered total
in one read), and then the ids of one page in the chosen order. Before, the
page query read every open item's whole row (about 11,000 per locality at
100,000 items) to sort it, and the "waiting" and "ward" sorts and the
"no one yet" filter could not use an index at all (12-25 ms per page on
SQLite). With these two indexes each is an index-only read (about 2 ms).

``ix_review_items_list`` replaces ``ix_review_items_queue`` (its first four
columns are the same, so claiming the next item still uses it), and
``ix_review_items_counts`` gains the ward.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIST_COLUMNS = ["locality", "status", "last_scored_on", "rank", "first_surfaced_on", "ward", "assigned_to_id"]


def upgrade() -> None:
    op.create_index("ix_review_items_list", "review_items", LIST_COLUMNS)
    op.drop_index("ix_review_items_queue", table_name="review_items")
    op.drop_index("ix_review_items_counts", table_name="review_items")
    op.create_index(
        "ix_review_items_counts", "review_items", ["locality", "status", "assigned_to_id", "ward"]
    )


def downgrade() -> None:
    op.drop_index("ix_review_items_counts", table_name="review_items")
    op.create_index("ix_review_items_counts", "review_items", ["locality", "status", "assigned_to_id"])
    op.create_index("ix_review_items_queue", "review_items", ["locality", "status", "last_scored_on", "rank"])
    op.drop_index("ix_review_items_list", table_name="review_items")
