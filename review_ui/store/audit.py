"""The append-only audit log: who did what, when, to which item, from where."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from review_ui.store.models import AuditEntry, utc_now

#: The actor recorded for the nightly routing stage.
NIGHTLY_ACTOR = "nightly-route"


def append_audit(
    *,
    session: Session,
    actor: str,
    action: str,
    item_id: int | None = None,
    person_id: str | None = None,
    detail: dict[str, Any] | None = None,
    source: str | None = None,
) -> AuditEntry:
    """Add an audit entry to the caller's transaction (it is written when that commits).

    Keep ``detail`` to facts about the action (ids, outcome words, counts):
    no free-text notes, names or other personal details.
    """
    entry = AuditEntry(
        at=utc_now(),
        actor=actor,
        action=action,
        item_id=item_id,
        person_id=person_id,
        detail=dict(detail or {}),
        source=source,
    )
    session.add(entry)
    return entry
