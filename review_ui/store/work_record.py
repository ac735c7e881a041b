"""The record of the work on an item: attempts to get in touch, and what was recorded.

"Could not reach" after one try is not the end of the work: each attempt is
kept (when, how, who, an optional note and follow-up date) and the item stays
in review with its reviewer, until they close it or the configured number of
attempts (``review_app.yaml``: ``could_not_reach_attempts``) is reached, when
the item closes with "Could not reach" straight after. Like every
other reviewer action, each write checks the item's state in the statement
that changes it and is audited (never with the note's words).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from review_ui.store.audit import AuditAction, append_audit
from review_ui.store.engine import write_transaction
from review_ui.store.queue import (
    REVIEWER_ROLES,
    ItemNotAvailable,
    NotAllowed,
    _acting_user,
    _why_not,
    record_outcome,
)
from review_ui.store.tables import (
    ContactAttempt,
    ContactChannel,
    ItemStatus,
    Outcome,
    ReviewItem,
    ReviewOutcome,
    User,
)


class InvalidChannel(ValueError):
    pass


@dataclass(frozen=True)
class AttemptRecorded:
    attempt: ContactAttempt
    #: How many attempts the item now has.
    number: int
    #: The outcome, when this attempt closed the item (the reviewer said so, or the limit was reached).
    closed_with: ReviewOutcome | None


def _check_channel(channel: ContactChannel | str) -> ContactChannel:
    try:
        return ContactChannel(channel)
    except ValueError:
        raise InvalidChannel(
            f"unknown channel {channel!r}; expected one of {', '.join(ContactChannel)}"
        ) from None


def record_attempt(
    *,
    session: Session,
    item_id: int,
    user: User,
    tried_on: date,
    channel: ContactChannel | str,
    max_attempts: int,
    note: str | None = None,
    follow_up_on: date | None = None,
    close: bool = False,
    source: str | None = None,
) -> AttemptRecorded:
    """Record a try that did not reach the person; close the item if ``close`` or at ``max_attempts``.

    Only the reviewer who has the item (in review) can record an attempt.

    Raises:
        InvalidChannel: ``channel`` is not a :class:`ContactChannel`.
        ItemNotAvailable: the item is not in review (new, closed or merged).
        NotAllowed: it is assigned to someone else, or the user is not an active reviewer.
    """
    chosen = _check_channel(channel)
    with write_transaction(session):
        actor = _acting_user(session, user, REVIEWER_ROLES)
        # Lock-free check and write in one transaction: SQLite's writers are serialised
        # (BEGIN IMMEDIATE); on PostgreSQL the row is locked for the rest of it.
        item = session.scalars(
            select(ReviewItem)
            .where(ReviewItem.id == item_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()
        if item is None or item.status != ItemStatus.IN_REVIEW:
            raise _why_not(session, item_id, "changed")
        if item.assigned_to_id != actor.id:
            raise NotAllowed(f"item {item_id} is assigned to someone else")
        attempt = ContactAttempt(
            item_id=item_id,
            user_id=actor.id,
            tried_on=tried_on,
            channel=chosen.value,
            note=note or None,
            follow_up_on=follow_up_on,
        )
        session.add(attempt)
        session.flush()
        number = session.scalar(select(func.count()).where(ContactAttempt.item_id == item_id)) or 0
        detail: dict[str, object] = {
            "channel": chosen.value,
            "attempt": number,
            "tried_on": tried_on.isoformat(),
        }
        if follow_up_on is not None:
            detail["follow_up_on"] = follow_up_on.isoformat()
        append_audit(
            session=session,
            actor=actor.username,
            action=AuditAction.ATTEMPT_RECORDED,
            item_id=item.id,
            person_id=item.person_id,
            detail=detail,
            source=source,
        )
    closed_with = None
    if close or number >= max_attempts:
        closed_with = record_outcome(
            session=session,
            item_id=item_id,
            user=user,
            outcome=Outcome.COULD_NOT_REACH,
            note=f"Closed after {number} attempt{'s' if number != 1 else ''} to get in touch.",
            source=source,
        )
    return AttemptRecorded(attempt=attempt, number=number, closed_with=closed_with)


def attempts_for(session: Session, item_ids: Iterable[int]) -> dict[int, list[ContactAttempt]]:
    """Each item's attempts, oldest first (one query)."""
    wanted = list(set(item_ids))
    found: dict[int, list[ContactAttempt]] = {item_id: [] for item_id in wanted}
    if not wanted:
        return found
    query = (
        select(ContactAttempt)
        .where(ContactAttempt.item_id.in_(wanted))
        .order_by(ContactAttempt.tried_on, ContactAttempt.id)
    )
    for attempt in session.scalars(query):
        found[attempt.item_id].append(attempt)
    return found


__all__ = ["AttemptRecorded", "InvalidChannel", "ItemNotAvailable", "attempts_for", "record_attempt"]
