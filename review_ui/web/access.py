"""Who may see which review items.

- A caseworker sees the items of their own locality.
- A team lead sees their own locality's items and the "unknown" list (people
  with no address the council can place), which no locality would otherwise
  pick up.
- Administrators and analysts never see a person: administrators manage users
  and read the audit log; analysts read aggregate figures.

An item outside what a user may see is reported as not found, so guessing
ids reveals nothing; the attempt is still written to the audit log.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from review_ui.store import ReviewItem, Role, User, append_audit, write_transaction
from review_ui.store.audit import AuditAction
from review_ui.store.tables import UNKNOWN_LOCALITY
from review_ui.web.deps import NotFound


def visible_localities(user: User) -> tuple[str, ...]:
    if user.role == Role.CASEWORKER and user.locality:
        return (user.locality,)
    if user.role == Role.TEAM_LEAD and user.locality:
        return (user.locality,) if user.locality == UNKNOWN_LOCALITY else (user.locality, UNKNOWN_LOCALITY)
    return ()


def visible_item(db: Session, user: User, item_id: int, *, source: str | None) -> ReviewItem:
    """The item if ``user`` may see it; otherwise NotFound (and the attempt is audited)."""
    item = db.get(ReviewItem, item_id)
    if item is not None and item.locality in visible_localities(user):
        return item
    with write_transaction(db):
        append_audit(
            session=db,
            actor=user.username,
            action=AuditAction.ITEM_VIEW_REFUSED,
            item_id=item.id if item is not None else None,
            person_id=None,
            detail={"requested_item_id": item_id},
            source=source,
        )
    raise NotFound
