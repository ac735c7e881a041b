"""What caseworkers found, for training: the one way out of the queue towards models.

Training learns from review outcomes (``models.labels``), but the review app
must never load or compute scores, and models must never reach the web app.
So the command line calls this one function and hands its frame to training:
it opens the queue **read-only** (SQLite ``mode=ro``; a read-only
transaction on PostgreSQL), reads the pseudonymous person id, the item's
dates and the outcome word of every review, and nothing else: never the
note a caseworker wrote, never who reviewed, never a name.

``reviewed_on`` is the last night the item was on the list before it was
closed (``last_scored_on``: closed items are not re-scored), which is when
the need a caseworker found was there to be found.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from sqlalchemy import Engine, create_engine, make_url, select
from sqlalchemy.orm import Session

from review_ui.store.tables import ReviewItem, ReviewOutcome

#: The columns handed to training (``models.labels.OUTCOME_COLUMNS``): no note, no reviewer.
COLUMNS: dict[str, pl.DataType] = {
    "person_id": pl.String(),
    "surfaced_on": pl.Date(),
    "reviewed_on": pl.Date(),
    "outcome": pl.String(),
}


def read_only_engine(url: str) -> Engine:
    """An engine that cannot write: SQLite opened ``mode=ro``, PostgreSQL in read-only transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "").resolve()
        return create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, execution_options={"postgresql_readonly": True})


def queue_exists(url: str) -> bool:
    """False for a SQLite queue file that was never created (no night has routed yet)."""
    parsed = make_url(url)
    return parsed.get_backend_name() != "sqlite" or Path(parsed.database or "").exists()


def read_review_outcomes(url: str) -> pl.DataFrame:
    """Every recorded review: ``person_id, surfaced_on, reviewed_on, outcome`` (see the module docstring).

    An empty frame when the queue has no database yet.
    """
    if not queue_exists(url):
        return pl.DataFrame(schema=COLUMNS)
    engine = read_only_engine(url)
    query = (
        select(
            ReviewItem.person_id,
            ReviewItem.first_surfaced_on,
            ReviewItem.last_scored_on,
            ReviewOutcome.outcome,
        )
        .join(ReviewOutcome, ReviewOutcome.item_id == ReviewItem.id)
        .order_by(ReviewOutcome.id)
    )
    try:
        with Session(engine) as session:
            rows = session.execute(query).all()
    finally:
        engine.dispose()
    return pl.DataFrame([tuple(r) for r in rows], schema=COLUMNS, orient="row")
