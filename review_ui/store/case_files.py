"""Case files: storing and reading what a reviewer sees about a person.

A case file is one JSON document per person (built by
``review_ui.queue.case_files``, read as ``review_ui.queue.case_file.CaseFile``), replaced each night the person has an open item.
Writing happens only in the nightly route stage, inside routing's own
transaction, so :func:`upsert_case_files` does not commit: the caller's
transaction does. A case file whose item has closed is simply not written
again, so what a reviewer saw stays readable - until the retention rule
deletes it (:func:`delete_expired_case_files`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Insert, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from review_ui.store.engine import is_sqlite
from review_ui.store.tables import OPEN_STATUSES, CaseFile, ReviewItem, utc_now

#: Rows per INSERT statement (well under both databases' bound-parameter limits).
_BATCH = 500
_REPLACED = ("as_of", "content", "updated_at")


def upsert_case_files(*, session: Session, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert or replace case files by ``person_id``, in the caller's transaction.

    Args:
        session: a session inside a write transaction (nothing is committed here).
        rows: mappings with ``person_id``, ``as_of`` (a date) and ``content`` (a
            JSON-ready dict).

    A stored case file from a later night than the row's is kept: routing an
    older night again must not overwrite what a newer night wrote.

    Returns:
        How many rows were given.
    """
    now = utc_now()
    values = [
        {
            "person_id": str(row["person_id"]),
            "as_of": _day(row["as_of"]),
            "content": dict(row["content"]),
            "updated_at": now,
        }
        for row in rows
    ]
    for start in range(0, len(values), _BATCH):
        session.execute(_upsert(session, values[start : start + _BATCH]))
    return len(values)


def _upsert(session: Session, batch: list[dict[str, Any]]) -> Insert:
    """INSERT ... ON CONFLICT (person_id) DO UPDATE, unless the stored file is from a later night."""
    if is_sqlite(session):
        lite = sqlite.insert(CaseFile).values(batch)
        return lite.on_conflict_do_update(
            index_elements=[CaseFile.person_id],
            set_={name: lite.excluded[name] for name in _REPLACED},
            where=CaseFile.as_of <= lite.excluded.as_of,
        )
    pg = postgresql.insert(CaseFile).values(batch)
    return pg.on_conflict_do_update(
        index_elements=[CaseFile.person_id],
        set_={name: pg.excluded[name] for name in _REPLACED},
        where=CaseFile.as_of <= pg.excluded.as_of,
    )


def delete_expired_case_files(*, session: Session, as_of: date, retention_days: int) -> int:
    """Delete the case files of people with no open item, last written over ``retention_days`` ago.

    A case file is rewritten every night its person has an open item, so its
    ``as_of`` is the last night anyone was asked to review them: counting
    from there keeps a closed review readable for the retention period and
    then removes the person's details. A person whose id linkage retired (a
    merge) gets no more items under it, so their old file goes the same way.
    Runs in the caller's transaction (nothing is committed here).

    Returns:
        How many case files were deleted.
    """
    open_people = select(ReviewItem.person_id).where(ReviewItem.status.in_(OPEN_STATUSES))
    expired = delete(CaseFile).where(
        CaseFile.as_of < as_of - timedelta(days=retention_days),
        CaseFile.person_id.not_in(open_people),
    )
    return session.execute(expired).rowcount or 0  # type: ignore[attr-defined]


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
