"""A per-user limit on reading case files, so one account cannot copy out the register.

A caseworker reads a case file at a time; 200 case files in a second is a
script, a stolen session or someone copying personal data out, and every
case file holds names, dates of birth and contacts. Each person page, each
household page (other residents' service involvement, from the same case
file) and each ``GET /api/items/{id}`` is therefore counted against the user:
more than ``case_file_reads_per_minute`` (``review_app.yaml``) within the
last minute are refused with 429 and ``Retry-After``, and the refusal is
audited (:func:`review_ui.web.deps.case_file_reader`).

Counting and recording are one step, as for sign-in
(:mod:`review_ui.web.throttle`): the count and the new row are in one write
transaction (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped
advisory lock per user), so parallel requests cannot all pass the count.
Every request to those routes counts, found or not, so guessing item ids is
paced too; a refused request does not count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from review_ui.store import CaseFileRead, write_transaction
from review_ui.store.tables import utc_now

#: The window the limit counts over.
WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class ReadRefused:
    """Over the limit: how many whole seconds until the oldest counted read leaves the window."""

    retry_after_seconds: int


class CaseFileReadLimit:
    def __init__(self, *, per_minute: int) -> None:
        if per_minute < 1:
            raise ValueError("case_file_reads_per_minute must be at least 1")
        self.per_minute = per_minute

    def admit(self, db: Session, user_id: int, now: datetime | None = None) -> ReadRefused | None:
        """Count and record one read for ``user_id`` in one step: None when allowed."""
        with write_transaction(db):
            if db.get_bind().dialect.name == "postgresql":
                db.execute(
                    text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 17))"),
                    {"key": f"case-file-reads:{user_id}"},
                )
            now = now or utc_now()
            since = now - WINDOW
            db.execute(delete(CaseFileRead).where(CaseFileRead.user_id == user_id, CaseFileRead.at < since))
            counted, oldest = db.execute(
                select(func.count(), func.min(CaseFileRead.at)).where(
                    CaseFileRead.user_id == user_id, CaseFileRead.at >= since
                )
            ).one()
            if counted >= self.per_minute and oldest is not None:
                wait = (oldest + WINDOW - now).total_seconds()
                return ReadRefused(retry_after_seconds=max(1, math.ceil(wait)))
            db.add(CaseFileRead(user_id=user_id, at=now))
            return None
