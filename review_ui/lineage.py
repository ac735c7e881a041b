"""Following linkage's person-id changes in the review queue.

Linkage may merge two people into one id, rename an id, or split one person
into two. Items follow the people: they move to the new id (and so do the
closed items that drive the cool-down), and two open items of one person
become one. Nothing is deleted and no review is lost: a folded item becomes
``merged``, points at the item that was kept, and keeps its own history.
Used by :mod:`review_ui.routing` inside the night's single transaction; which
previous id moves to which new one is decided by
:func:`review_ui.queue.plan.lineage_moves`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from review_ui.store.audit import NIGHTLY_ACTOR, AuditAction, append_audit
from review_ui.store.tables import ItemHistory, ItemStatus, ReviewItem, utc_now

SOURCE = "nightly run"
_CHUNK = 500


def _items_of(session: Session, person_ids: Iterable[str]) -> list[ReviewItem]:
    ids = sorted(set(person_ids))
    found: list[ReviewItem] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        found.extend(session.scalars(select(ReviewItem).where(ReviewItem.person_id.in_(chunk))))
    return sorted(found, key=lambda item: item.id)


def follow_lineage(session: Session, moves: dict[str, str], as_of: date, model_version: str) -> None:
    """Move items to tonight's person ids and fold duplicate open items together."""
    if not moves:
        return
    items = _items_of(session, [*moves, *moves.values()])
    was = {item.id: item.person_id for item in items}
    target = {item.id: moves.get(item.person_id, item.person_id) for item in items}
    open_by_person: dict[str, list[ReviewItem]] = defaultdict(list)
    for item in items:
        if item.is_open:
            open_by_person[target[item.id]].append(item)
    for person_id, group in sorted(open_by_person.items()):
        if len(group) > 1:
            _merge_open_items(session, person_id, group, as_of, model_version)
    session.flush()
    moving = [item for item in items if was[item.id] != target[item.id]]
    # Two steps, so that swapping ids never puts two open items on one id at once.
    for item in moving:
        if item.is_open:
            item.person_id = f"~moving~{item.id}"
    session.flush()
    for item in moving:
        item.person_id = target[item.id]
        append_audit(
            session=session,
            actor=NIGHTLY_ACTOR,
            action=AuditAction.PERSON_ID_CHANGED,
            item_id=item.id,
            person_id=item.person_id,
            detail={"previous_person_id": was[item.id], "as_of": as_of.isoformat()},
            source=SOURCE,
        )
    session.flush()


def _merge_open_items(
    session: Session, person_id: str, group: list[ReviewItem], as_of: date, model_version: str
) -> None:
    """Keep one open item for a person whose ids linkage merged; fold the others into it.

    The kept item is the oldest, except that an item a reviewer is already
    working on is never taken away from them: if any is in review, the oldest
    of those is kept. It takes the earliest first-surfaced date. The others
    become ``merged`` (pointing at the kept one), with a history row and an
    audit entry; their reviews, notes and history stay attached to them.
    """
    ordered = sorted(group, key=lambda i: (i.status != ItemStatus.IN_REVIEW, i.first_surfaced_on, i.id))
    keep, folded = ordered[0], ordered[1:]
    keep.first_surfaced_on = min(item.first_surfaced_on for item in group)
    for item in folded:
        item.status = ItemStatus.MERGED
        item.merged_into_id = keep.id
        upsert_history(
            session,
            item,
            as_of,
            session.get(ItemHistory, (item.id, as_of)),
            person_id=person_id,
            locality=item.locality,
            score=item.score,
            rank=None,
            reasons=item.reasons,
            services=item.services_last_scored,
            model_version=model_version,
            merged_into_item_id=keep.id,
        )
        append_audit(
            session=session,
            actor=NIGHTLY_ACTOR,
            action=AuditAction.ITEM_MERGED,
            item_id=item.id,
            person_id=person_id,
            detail={"merged_into_item_id": keep.id, "as_of": as_of.isoformat()},
            source=SOURCE,
        )


def upsert_history(
    session: Session, item: ReviewItem, as_of: date, row: ItemHistory | None, **values: Any
) -> None:
    if row is None:
        session.add(ItemHistory(item_id=item.id, as_of=as_of, recorded_at=utc_now(), **values))
        return
    for name, value in values.items():
        setattr(row, name, value)
