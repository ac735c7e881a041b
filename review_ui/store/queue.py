"""Reviewer actions on the queue: the only way an item's status changes.

Each action is one short write transaction that checks the item's state in
the same statement that changes it (a conditional ``UPDATE … WHERE status =
…``), bumps the item's version and appends an audit entry. Two people can
therefore never both claim one item, on SQLite (whose writers are serialised
by ``BEGIN IMMEDIATE``) or on PostgreSQL (where the second ``UPDATE`` waits for
the first and then finds the status already changed). :func:`claim_next_item`
picks the next item with ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL.

The functions commit their own transaction; pass a session with no
uncommitted changes. The acting ``user`` is re-read inside the transaction,
so a deactivated account or changed role takes effect at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import UnaryExpression, inspect, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from review_ui.store.audit import AuditAction, append_audit
from review_ui.store.engine import is_sqlite, write_transaction
from review_ui.store.tables import (
    OPEN_STATUSES,
    UNKNOWN_LOCALITY,
    ItemHistory,
    ItemStatus,
    Outcome,
    ReviewItem,
    ReviewOutcome,
    Role,
    User,
    utc_now,
)

REVIEWER_ROLES = (Role.CASEWORKER, Role.TEAM_LEAD)


def priority_order() -> list[UnaryExpression[Any] | InstrumentedAttribute[Any]]:
    """The one priority order of a list: the latest night first, then by rank, then by id.

    The list page, the API and "claim the next item" all sort by this, so a
    reviewer who takes the next item gets the one at the top of the list. An
    item without a rank sorts after every ranked item of its night on both
    databases (SQLite puts nulls first unless told, PostgreSQL last).
    """
    return [ReviewItem.last_scored_on.desc(), ReviewItem.rank.asc().nulls_last(), ReviewItem.id]


class QueueError(Exception):
    """A reviewer action could not be done; the message says why in plain English."""


class ItemNotFound(QueueError, LookupError):
    pass


class NotAllowed(QueueError, PermissionError):
    pass


class ItemNotAvailable(QueueError):
    """The item is not in a state that allows the action (claimed, closed, merged or changed)."""


class InvalidOutcome(QueueError, ValueError):
    pass


def _user_id(user: User) -> int:
    identity = inspect(user).identity
    if identity is None:
        raise ValueError("the user has not been saved")
    return int(identity[0])


def _acting_user(session: Session, user: User, roles: Sequence[Role]) -> User:
    actor = session.get(User, _user_id(user), populate_existing=True)
    if actor is None or not actor.active:
        raise NotAllowed("this account is not active")
    if actor.role not in roles:
        raise NotAllowed(f"a {actor.role} cannot do this")
    return actor


def _check_outcome(outcome: Outcome | str) -> Outcome:
    try:
        return Outcome(outcome)
    except ValueError:
        raise InvalidOutcome(f"unknown outcome {outcome!r}; expected one of {', '.join(Outcome)}") from None


def _apply(session: Session, item_id: int, conditions: Sequence[Any], values: dict[str, Any]) -> bool:
    statement = (
        update(ReviewItem)
        .where(ReviewItem.id == item_id, *conditions)
        .values(**values, version=ReviewItem.version + 1)
        .execution_options(synchronize_session=False)
    )
    changed = session.execute(statement).rowcount == 1  # type: ignore[attr-defined]
    return changed


def _reload(session: Session, item_id: int) -> ReviewItem:
    item = session.get(ReviewItem, item_id, populate_existing=True)
    if item is None:
        raise ItemNotFound(f"there is no item {item_id}")
    return item


def _why_not(session: Session, item_id: int, wanted: str) -> QueueError:
    item = session.get(ReviewItem, item_id, populate_existing=True)
    if item is None:
        return ItemNotFound(f"there is no item {item_id}")
    if item.status == ItemStatus.CLOSED:
        return ItemNotAvailable(f"item {item_id} is closed")
    if item.status == ItemStatus.MERGED:
        return ItemNotAvailable(f"item {item_id} was merged into item {item.merged_into_id}")
    return ItemNotAvailable(f"item {item_id} cannot be {wanted}: it is {item.status.replace('_', ' ')}")


def _may_work_on(actor: User, locality: str) -> bool:
    """Reviewers work their own locality's items; team leads also the "unknown" list."""
    return actor.locality == locality or (actor.role == Role.TEAM_LEAD and locality == UNKNOWN_LOCALITY)


def _same_locality(actor: User, item: ReviewItem) -> None:
    if not _may_work_on(actor, item.locality):
        raise NotAllowed(f"item {item.id} belongs to the {item.locality} team")


def claim_item(
    *,
    session: Session,
    item_id: int,
    user: User,
    expected_version: int | None = None,
    source: str | None = None,
) -> ReviewItem:
    """Take a new item to review (new → in review, assigned to ``user``).

    Raises:
        ItemNotAvailable: someone else claimed it first, or it is closed or
            merged, or (with ``expected_version``) it changed since it was read.
        NotAllowed: the user is not an active caseworker or team lead of the
            item's locality.
    """
    with write_transaction(session):
        actor = _acting_user(session, user, REVIEWER_ROLES)
        item = _reload(session, item_id)
        _same_locality(actor, item)
        conditions: list[Any] = [ReviewItem.status == ItemStatus.NEW, ReviewItem.locality == item.locality]
        if expected_version is not None:
            conditions.append(ReviewItem.version == expected_version)
        return _mark_claimed(session, item_id, actor, conditions, source)


def _mark_claimed(
    session: Session, item_id: int, actor: User, conditions: list[Any], source: str | None
) -> ReviewItem:
    """new -> in review for ``actor`` if ``conditions`` still hold (one conditional UPDATE), audited."""
    values = {"status": ItemStatus.IN_REVIEW, "assigned_to_id": actor.id, "claimed_at": utc_now()}
    if not _apply(session, item_id, conditions, values):
        raise _why_not(session, item_id, "claimed")
    item = _reload(session, item_id)
    append_audit(
        session=session,
        actor=actor.username,
        action=AuditAction.ITEM_CLAIMED,
        item_id=item.id,
        person_id=item.person_id,
        source=source,
    )
    return item


def claim_next_item(*, session: Session, user: User, source: str | None = None) -> ReviewItem | None:
    """Claim the highest-priority new item of the user's locality, or None if there is none.

    Priority: :func:`priority_order`, as the list shows it. On PostgreSQL the
    row is picked with ``FOR UPDATE SKIP LOCKED``, so many reviewers can ask at
    once without waiting on each other; while the nightly routing holds the
    open items (a few seconds) this may return None — try again.
    """
    with write_transaction(session):
        actor = _acting_user(session, user, REVIEWER_ROLES)
        query = (
            select(ReviewItem.id)
            .where(ReviewItem.locality == actor.locality, ReviewItem.status == ItemStatus.NEW)
            .order_by(*priority_order())
            .limit(1)
        )
        if not is_sqlite(session):
            query = query.with_for_update(skip_locked=True)
        item_id = session.scalars(query).first()
        if item_id is None:
            return None
        return _mark_claimed(session, item_id, actor, [ReviewItem.status == ItemStatus.NEW], source)


def release_item(*, session: Session, item_id: int, user: User, source: str | None = None) -> ReviewItem:
    """Give an item back to the queue (in review → new).

    Allowed for the reviewer it is assigned to and for a team lead of its locality.
    """
    with write_transaction(session):
        actor = _acting_user(session, user, REVIEWER_ROLES)
        item = _reload(session, item_id)
        _same_locality(actor, item)
        conditions: list[Any] = [ReviewItem.status == ItemStatus.IN_REVIEW]
        if actor.role != Role.TEAM_LEAD:
            conditions.append(ReviewItem.assigned_to_id == actor.id)
        previous = item.assigned_to_id
        values = {"status": ItemStatus.NEW, "assigned_to_id": None, "claimed_at": None}
        if not _apply(session, item_id, conditions, values):
            item = _reload(session, item_id)
            if item.status == ItemStatus.IN_REVIEW:
                raise NotAllowed(f"item {item_id} is assigned to someone else")
            raise _why_not(session, item_id, "released")
        item = _reload(session, item_id)
        append_audit(
            session=session,
            actor=actor.username,
            action=AuditAction.ITEM_RELEASED,
            item_id=item.id,
            person_id=item.person_id,
            detail={"was_assigned_to_user_id": previous},
            source=source,
        )
    return item


def record_outcome(
    *,
    session: Session,
    item_id: int,
    user: User,
    outcome: Outcome | str,
    note: str | None = None,
    source: str | None = None,
    strengths: Sequence[str] = (),
    other_strengths: str | None = None,
    follow_up_on: date | None = None,
) -> ReviewOutcome:
    """Record what happened and close the item (in review → closed).

    Only the reviewer the item is assigned to can close it. ``outcome`` must be
    one of :class:`Outcome`: help_offered, already_supported, no_help_needed,
    could_not_reach, declined. ``strengths`` (ticked from the configured list),
    ``other_strengths`` and ``follow_up_on`` are kept beside it; the audit
    entry says which were given, never what was written.

    Raises:
        InvalidOutcome: any other word.
        ItemNotAvailable: the item is not in review (not claimed, or already closed).
        NotAllowed: it is assigned to someone else.
    """
    chosen = _check_outcome(outcome)
    with write_transaction(session):
        actor = _acting_user(session, user, REVIEWER_ROLES)
        now = utc_now()
        conditions = [ReviewItem.status == ItemStatus.IN_REVIEW, ReviewItem.assigned_to_id == actor.id]
        values = {"status": ItemStatus.CLOSED, "outcome": chosen.value, "closed_at": now}
        if not _apply(session, item_id, conditions, values):
            item = session.get(ReviewItem, item_id, populate_existing=True)
            if item is not None and item.status == ItemStatus.IN_REVIEW:
                raise NotAllowed(f"item {item_id} is assigned to someone else")
            raise _why_not(session, item_id, "closed")
        review = ReviewOutcome(
            item_id=item_id,
            user_id=actor.id,
            outcome=chosen.value,
            note=note,
            at=now,
            strengths=list(strengths) or None,
            other_strengths=other_strengths or None,
            follow_up_on=follow_up_on,
        )
        session.add(review)
        item = _reload(session, item_id)
        detail: dict[str, Any] = {"outcome": chosen.value}
        if strengths or other_strengths:
            detail["strengths"] = len(strengths) + (1 if other_strengths else 0)
        if follow_up_on is not None:
            detail["follow_up_on"] = follow_up_on.isoformat()
        append_audit(
            session=session,
            actor=actor.username,
            action=AuditAction.OUTCOME_RECORDED,
            item_id=item.id,
            person_id=item.person_id,
            detail=detail,
            source=source,
        )
    return review


def reassign_item(
    *, session: Session, item_id: int, user: User, to_user: User, source: str | None = None
) -> ReviewItem:
    """A team lead gives an open item to a reviewer who may open it (→ in review).

    That is a reviewer of the item's locality; an item of the "No known address" list
    goes only to a team lead, because a caseworker cannot open it (handing it to one
    would leave it stuck with someone who gets "not found").
    """
    with write_transaction(session):
        lead = _acting_user(session, user, (Role.TEAM_LEAD,))
        target = _acting_user(session, to_user, REVIEWER_ROLES)
        item = _reload(session, item_id)
        _same_locality(lead, item)
        if not _may_work_on(target, item.locality):
            if item.locality == UNKNOWN_LOCALITY:
                raise NotAllowed(
                    f"{target.display_name} cannot open items with no known address: "
                    "only team leads work that list"
                )
            raise NotAllowed(f"{target.display_name} is not in the {item.locality} team")
        previous = item.assigned_to_id
        values = {"status": ItemStatus.IN_REVIEW, "assigned_to_id": target.id, "claimed_at": utc_now()}
        if not _apply(session, item_id, [ReviewItem.status.in_(OPEN_STATUSES)], values):
            raise _why_not(session, item_id, "reassigned")
        item = _reload(session, item_id)
        append_audit(
            session=session,
            actor=lead.username,
            action=AuditAction.ITEM_REASSIGNED,
            item_id=item.id,
            person_id=item.person_id,
            detail={"from_user_id": previous, "to_user_id": target.id},
            source=source,
        )
    return item


def get_item(*, session: Session, item_id: int) -> ReviewItem | None:
    return session.get(ReviewItem, item_id)


def get_item_history(*, session: Session, item_id: int) -> list[ItemHistory]:
    """The nights an item was scored (or merged), oldest first."""
    query = select(ItemHistory).where(ItemHistory.item_id == item_id).order_by(ItemHistory.as_of)
    return list(session.scalars(query))
