"""The append-only, tamper-evident audit log: who did what, when, to which item, from where.

Append-only: database triggers refuse UPDATE and DELETE (and, on SQLite,
``INSERT OR REPLACE`` over an existing row and back-dated rows; see
migrations 0001 and 0006). Tamper-evident: each row carries ``row_hash``,
the SHA-256 of the previous row's hash and this row's contents, so someone
who gets round the triggers (``DROP TRIGGER``, editing the file) breaks the
chain at the row they touched, and :func:`verify_audit_chain` (``early-warning
audit verify``, and ``serve`` at start-up for the latest rows) names it.
Appending takes a lock (SQLite's write lock; a PostgreSQL advisory lock)
so that two transactions never chain onto the same row.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from review_ui.store.tables import AuditEntry, utc_now

#: The previous hash of the first row.
GENESIS_HASH = "0" * 64
#: The PostgreSQL advisory lock that serialises appends to the chain.
_CHAIN_LOCK = 7_051_917

#: The actor recorded for the nightly routing stage.
NIGHTLY_ACTOR = "nightly-route"


class AuditAction(enum.StrEnum):
    """Every kind of entry the audit log holds: one list, so a new action is named once,
    described once (:data:`ACTION_DESCRIPTIONS`, shown on the audit page) and cannot be misspelt."""

    ATTEMPT_RECORDED = "attempt_recorded"
    AUDIT_VIEWED = "audit_viewed"
    CASE_FILES_DELETED = "case_files_deleted"
    CASE_FILE_READS_REFUSED = "case_file_reads_refused"
    CLERICAL_LABEL_CHANGED = "clerical_label_changed"
    CLERICAL_LABEL_RECORDED = "clerical_label_recorded"
    CLERICAL_PAIR_VIEWED = "clerical_pair_viewed"
    CLERICAL_SAMPLE_WRITTEN = "clerical_sample_written"
    HOUSEHOLD_VIEWED = "household_viewed"
    ITEM_CLAIMED = "item_claimed"
    ITEM_MERGED = "item_merged"
    ITEM_REASSIGNED = "item_reassigned"
    ITEM_RELEASED = "item_released"
    ITEM_SURFACED = "item_surfaced"
    ITEM_VIEW_REFUSED = "item_view_refused"
    LINK_CONSTRAINT_ADDED_NOT_SAME_PERSON = "link_constraint_added_not_same_person"
    LINK_CONSTRAINT_ADDED_SAME_PERSON = "link_constraint_added_same_person"
    LINK_CONSTRAINT_UNDONE = "link_constraint_undone"
    LINK_CONSTRAINTS_VIEWED = "link_constraints_viewed"
    MODEL_ALIAS_MOVED = "model_alias_moved"
    NIGHT_RELEASED = "night_released"
    NIGHT_ROUTED = "night_routed"
    OUTCOME_RECORDED = "outcome_recorded"
    PAGE_REFUSED = "page_refused"
    PASSWORD_CHANGED = "password_changed"
    PERSON_ID_CHANGED = "person_id_changed"
    PERSON_VIEWED = "person_viewed"
    QUEUE_VIEWED = "queue_viewed"
    SESSION_ENDED = "session_ended"
    SESSIONS_VIEWED = "sessions_viewed"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_IN_THROTTLED = "sign_in_throttled"
    SIGNED_IN = "signed_in"
    SIGNED_OUT = "signed_out"
    USER_ACTIVATED = "user_activated"
    USER_CREATED = "user_created"
    USER_DEACTIVATED = "user_deactivated"


#: What each action means, in the words the audit page shows.
ACTION_DESCRIPTIONS: dict[str, str] = {
    AuditAction.ATTEMPT_RECORDED: "Tried to get in touch but could not reach them",
    AuditAction.AUDIT_VIEWED: "Viewed the audit log",
    AuditAction.CASE_FILES_DELETED: "Deleted case files past the retention period",
    AuditAction.CASE_FILE_READS_REFUSED: "Refused a case file: too many opened in the last minute",
    AuditAction.CLERICAL_LABEL_CHANGED: "Changed the label of a pair of records",
    AuditAction.CLERICAL_LABEL_RECORDED: "Labelled a pair of records",
    AuditAction.CLERICAL_PAIR_VIEWED: "Looked at a pair of records to label",
    AuditAction.CLERICAL_SAMPLE_WRITTEN: "Put tonight's sample of record pairs up for the data team to label",
    AuditAction.ITEM_CLAIMED: "Claimed",
    AuditAction.ITEM_MERGED: "Merged into another item for the same person",
    AuditAction.ITEM_REASSIGNED: "Reassigned",
    AuditAction.ITEM_RELEASED: "Released back to the list",
    AuditAction.ITEM_SURFACED: "Sent for review",
    AuditAction.ITEM_VIEW_REFUSED: "Tried to open an item they cannot see",
    AuditAction.LINK_CONSTRAINT_ADDED_NOT_SAME_PERSON: "Said a record is not the same person",
    AuditAction.LINK_CONSTRAINT_ADDED_SAME_PERSON: "Said two records are the same person",
    AuditAction.LINK_CONSTRAINT_UNDONE: "Undid a statement about records",
    AuditAction.LINK_CONSTRAINTS_VIEWED: "Opened the list of statements about records",
    AuditAction.MODEL_ALIAS_MOVED: "Promoted or rolled back the model the night scores with",
    AuditAction.NIGHT_RELEASED: "Released a night its checks had held, to be routed",
    AuditAction.NIGHT_ROUTED: "Nightly routing ran",
    AuditAction.OUTCOME_RECORDED: "Recorded an outcome",
    AuditAction.PAGE_REFUSED: "Tried to use a page their role does not give them",
    AuditAction.PASSWORD_CHANGED: "Changed a password",
    AuditAction.PERSON_ID_CHANGED: "Person reference changed by record linkage",
    AuditAction.PERSON_VIEWED: "Opened the person page",
    AuditAction.HOUSEHOLD_VIEWED: "Opened which services know the people at a person's address",
    AuditAction.QUEUE_VIEWED: "Opened the review list",
    AuditAction.SIGN_IN_FAILED: "Sign-in failed",
    AuditAction.SIGN_IN_THROTTLED: "Sign-in refused after too many failed attempts",
    AuditAction.SIGNED_IN: "Signed in",
    AuditAction.SIGNED_OUT: "Signed out",
    AuditAction.SESSION_ENDED: "Signed out of their own session on another device or browser",
    AuditAction.SESSIONS_VIEWED: "Opened the list of where they are signed in",
    AuditAction.USER_ACTIVATED: "Switched a user's access on",
    AuditAction.USER_CREATED: "Added a user",
    AuditAction.USER_DEACTIVATED: "Switched a user's access off",
}


def append_audit(
    *,
    session: Session,
    actor: str,
    action: AuditAction,
    item_id: int | None = None,
    person_id: str | None = None,
    detail: dict[str, Any] | None = None,
    source: str | None = None,
) -> AuditEntry:
    """Add an audit entry to the caller's transaction (it is written when that commits).

    Keep ``detail`` to facts about the action (ids, outcome words, counts):
    no free-text notes, names or other personal details. The entry is chained
    to the latest one (which this transaction then holds on to until it ends).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK})
    previous = session.scalar(select(AuditEntry.row_hash).order_by(AuditEntry.id.desc()).limit(1))
    entry = AuditEntry(
        at=utc_now(),
        actor=actor,
        action=action,
        item_id=item_id,
        person_id=person_id,
        detail=dict(detail or {}),
        source=source,
        prev_hash=previous or GENESIS_HASH,
    )
    entry.row_hash = row_hash(entry)
    session.add(entry)
    return entry


def record_night_released(*, session: Session, night: str, by: str, reason: str, failed_checks: int) -> None:
    """Record that ``by`` (their user name on the machine) released a held night and why
    (``early-warning release``). The reason is about the extracts, in the operator's words;
    the held night's checks are counted, not repeated (they name files, never people)."""
    from review_ui.store.engine import write_transaction

    with write_transaction(session):
        append_audit(
            session=session,
            actor=by,
            action=AuditAction.NIGHT_RELEASED,
            detail={"night": night, "reason": reason, "failed_checks": failed_checks},
            source="command-line",
        )


def row_hash(entry: AuditEntry) -> str:
    """SHA-256 over the previous row's hash and this row's contents (a canonical JSON form)."""
    moment = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=UTC)
    content = [
        moment.astimezone(UTC).isoformat(timespec="microseconds"),
        entry.actor,
        entry.action,
        entry.item_id,
        entry.person_id,
        entry.detail,
        entry.source,
    ]
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{entry.prev_hash}|{canonical}".encode()).hexdigest()


@dataclass(frozen=True)
class ChainCheck:
    """What :func:`verify_audit_chain` found: rows checked, and the first broken one (if any)."""

    checked: int
    broken_id: int | None = None
    reason: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_id is None


def verify_audit_chain(session: Session, *, tail: int | None = None) -> ChainCheck:
    """Walk the chain in id order (all of it, or the latest ``tail`` rows) and name the first broken row.

    A row is broken when its stored hash is not the hash of its contents
    (it was edited) or its ``prev_hash`` is not the previous row's hash (a
    row before it was removed, or one was slipped in).
    """
    query = select(AuditEntry).order_by(AuditEntry.id)
    expected: str | None = GENESIS_HASH
    if tail is not None:
        total = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
        if total > tail:
            query = query.offset(total - tail)
            expected = None  # the first row of the tail is taken on trust for its link backwards
    checked = 0
    for entry in session.scalars(query.execution_options(yield_per=500)):
        checked += 1
        if expected is not None and entry.prev_hash != expected:
            return ChainCheck(checked, entry.id, "it does not follow on from the entry before it")
        if entry.row_hash != row_hash(entry):
            return ChainCheck(checked, entry.id, "its contents do not match its hash (it was changed)")
        expected = entry.row_hash
    return ChainCheck(checked)


@dataclass(frozen=True)
class AuditTip:
    """The newest entry of the chain, by id and hash: a copy kept outside the database.

    The chain shows an entry edited, removed or slipped in anywhere *before* the
    newest one; removing the newest entries leaves a shorter chain that is still
    whole. A tip recorded by one night and checked by the next shows that too.
    """

    entry_id: int
    row_hash: str

    def to_dict(self) -> dict[str, Any]:
        return {"entry_id": self.entry_id, "row_hash": self.row_hash}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditTip:
        return cls(entry_id=int(data["entry_id"]), row_hash=str(data["row_hash"]))


def audit_tip(session: Session) -> AuditTip | None:
    """The newest entry of the chain (None on an empty log)."""
    newest = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).first()
    return None if newest is None else AuditTip(newest.id, newest.row_hash or "")


def check_tip(session: Session, tip: AuditTip) -> ChainCheck:
    """Is the entry a tip named still in the log, unchanged? (Entries after it are
    :func:`verify_audit_chain`'s to check.)"""
    entry = session.get(AuditEntry, tip.entry_id)
    if entry is None:
        return ChainCheck(0, tip.entry_id, "it was recorded as the newest entry and is no longer in the log")
    if entry.row_hash != tip.row_hash:
        return ChainCheck(1, tip.entry_id, "its hash is not the one recorded when it was the newest entry")
    return ChainCheck(1)
