"""People's word on linkage: "this record is not this person" and "these two are the same person".

Linkage joins records by probability; a caseworker who knows better can say a
record joined to a person is not them, and the data team can also say two
records are the same person. Each statement is one row here, kept by every
later night (``features.linkage.constraints`` applies them) until the data
team undoes it. Undoing keeps the row (who, when, why), so the table reads as
a history, and every add and undo is written to the audit log in the same
transaction.

A "not this person" row names the record (``source_a``, ``record_a``) and the
person's other records at the time (``other_records``): the night keeps the
record apart from each of them. A "same person" row names two records.
Records are named by their source system and that system's own reference
(``source``, ``source_person_id``), which stay the same across nights while
person ids may change.

The nightly run reads the active rows with :func:`read_link_constraints`
only, on a read-only connection.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl
from sqlalchemy import JSON, CheckConstraint, Index, String, inspect, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from review_ui.store.audit import AuditAction, append_audit
from review_ui.store.engine import write_transaction
from review_ui.store.tables import Base, Role, User, utc_now
from review_ui.store.training_outcomes import queue_exists, read_only_engine

#: The longest reason (for adding or undoing) a person can give: a short reason, not a note.
MAX_REASON_LENGTH = 200
#: The longest record reference a source may use.
MAX_RECORD_LENGTH = 200
MAX_SOURCE_LENGTH = 64

#: What the night reads: one row per pair of records the constraint is about.
CONSTRAINT_COLUMNS: dict[str, pl.DataType] = {
    "constraint_id": pl.Int64(),
    "kind": pl.String(),
    "source_a": pl.String(),
    "record_a": pl.String(),
    "source_b": pl.String(),
    "record_b": pl.String(),
}


class ConstraintKind(enum.StrEnum):
    NOT_SAME_PERSON = "not_same_person"
    SAME_PERSON = "same_person"


class LinkConstraint(Base):
    """One person's statement about records, active until undone (see the module docstring)."""

    __tablename__ = "link_constraints"
    __table_args__ = (
        CheckConstraint("kind IN ('not_same_person', 'same_person')", name="kind"),
        CheckConstraint("length(reason) > 0", name="reason_given"),
        CheckConstraint(
            "(undone_at IS NULL AND undone_by IS NULL AND undo_reason IS NULL)"
            " OR (undone_at IS NOT NULL AND undone_by IS NOT NULL AND undo_reason IS NOT NULL)",
            name="undone_complete",
        ),
        Index("ix_link_constraints_source_a_record_a", "source_a", "record_a"),
        Index("ix_link_constraints_person_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    #: The person the record was joined to when it was marked (for "not this person").
    person_id: Mapped[str | None] = mapped_column(String(64))
    source_a: Mapped[str] = mapped_column(String(MAX_SOURCE_LENGTH))
    record_a: Mapped[str] = mapped_column(String(MAX_RECORD_LENGTH))
    #: ``[[source, record], …]``: the records ``record_a`` is, or is not, the same person as.
    other_records: Mapped[list[list[str]]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(MAX_REASON_LENGTH))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    undone_by: Mapped[str | None] = mapped_column(String(64))
    undone_at: Mapped[datetime | None]
    undo_reason: Mapped[str | None] = mapped_column(String(MAX_REASON_LENGTH))

    @property
    def is_active(self) -> bool:
        return self.undone_at is None


class ConstraintError(ValueError):
    """A constraint could not be added or undone; the message says why in plain English."""


@dataclass(frozen=True)
class RecordKey:
    """A record as its source system names it."""

    source: str
    record: str


def clean_reason(reason: str | None) -> str:
    """The reason trimmed, or :class:`ConstraintError` if it is missing or too long."""
    text = " ".join((reason or "").split())
    if not text:
        raise ConstraintError("Enter a reason")
    if len(text) > MAX_REASON_LENGTH:
        raise ConstraintError(f"The reason must be {MAX_REASON_LENGTH} characters or fewer")
    return text


def _check_key(key: RecordKey) -> RecordKey:
    source, record = key.source.strip(), key.record.strip()
    if not source or not record:
        raise ConstraintError("Enter the source system and its reference for each record")
    if len(source) > MAX_SOURCE_LENGTH or len(record) > MAX_RECORD_LENGTH:
        raise ConstraintError("The source or reference is too long")
    return RecordKey(source, record)


def _actor(session: Session, user: User, roles: Sequence[Role]) -> User:
    """The acting user re-read in the transaction, so a deactivated account or changed role counts at once."""
    identity = inspect(user).identity
    actor = session.get(User, identity[0], populate_existing=True) if identity else None
    if actor is None or not actor.active:
        raise PermissionError("this account is not active")
    if actor.role not in roles:
        raise PermissionError(f"a {actor.role} cannot do this")
    return actor


def add_not_same_person(
    *,
    session: Session,
    user: User,
    person_id: str | None,
    record: RecordKey,
    other_records: Sequence[RecordKey],
    reason: str,
    item_id: int | None = None,
    source: str | None = None,
) -> LinkConstraint:
    """Record that ``record`` is not the person it was joined to (``other_records`` are theirs).

    From the person page, ``person_id`` and ``item_id`` say where it was
    marked; the data team can also name two records with neither. The caller
    checks the user may see the item (their locality); this checks the role
    and the input.
    """
    key = _check_key(record)
    others = sorted({_check_key(o) for o in other_records if _check_key(o) != key}, key=_sort_key)
    if not others:
        raise ConstraintError("This person has no other records to keep this one apart from")
    return _add(
        session=session,
        user=user,
        roles=(Role.CASEWORKER, Role.TEAM_LEAD, Role.ANALYST),
        row=LinkConstraint(
            kind=ConstraintKind.NOT_SAME_PERSON,
            person_id=person_id,
            source_a=key.source,
            record_a=key.record,
            other_records=[[o.source, o.record] for o in others],
            reason=clean_reason(reason),
        ),
        item_id=item_id,
        source=source,
    )


def add_same_person(
    *,
    session: Session,
    user: User,
    record_a: RecordKey,
    record_b: RecordKey,
    reason: str,
    source: str | None = None,
) -> LinkConstraint:
    """Record that two records are the same person (the data team only)."""
    a, b = _check_key(record_a), _check_key(record_b)
    if a == b:
        raise ConstraintError("Enter two different records")
    return _add(
        session=session,
        user=user,
        roles=(Role.ANALYST,),
        row=LinkConstraint(
            kind=ConstraintKind.SAME_PERSON,
            source_a=a.source,
            record_a=a.record,
            other_records=[[b.source, b.record]],
            reason=clean_reason(reason),
        ),
        source=source,
    )


def _sort_key(key: RecordKey) -> tuple[str, str]:
    return (key.source, key.record)


def _add(
    *,
    session: Session,
    user: User,
    roles: Sequence[Role],
    row: LinkConstraint,
    source: str | None,
    item_id: int | None = None,
) -> LinkConstraint:
    with write_transaction(session):
        actor = _actor(session, user, roles)
        row.created_by = actor.username
        row.created_at = utc_now()
        session.add(row)
        session.flush()
        append_audit(
            session=session,
            actor=actor.username,
            action=AuditAction(f"link_constraint_added_{row.kind}"),
            item_id=item_id,
            person_id=row.person_id,
            detail={"constraint_id": row.id, "kind": row.kind, "other_records": len(row.other_records)},
            source=source,
        )
    return row


def undo_constraint(
    *, session: Session, user: User, constraint_id: int, reason: str, source: str | None = None
) -> LinkConstraint:
    """Undo an active constraint (the data team only); the next night links without it."""
    why = clean_reason(reason)
    with write_transaction(session):
        actor = _actor(session, user, (Role.ANALYST,))
        changed = session.execute(
            update(LinkConstraint)
            .where(LinkConstraint.id == constraint_id, LinkConstraint.undone_at.is_(None))
            .values(undone_by=actor.username, undone_at=utc_now(), undo_reason=why)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if changed != 1:
            raise ConstraintError("This has already been undone, or does not exist")
        row = session.get(LinkConstraint, constraint_id, populate_existing=True)
        assert row is not None
        append_audit(
            session=session,
            actor=actor.username,
            action=AuditAction.LINK_CONSTRAINT_UNDONE,
            person_id=row.person_id,
            detail={"constraint_id": row.id, "kind": row.kind},
            source=source,
        )
    return row


def get_constraint(*, session: Session, constraint_id: int) -> LinkConstraint | None:
    return session.get(LinkConstraint, constraint_id)


def list_constraints(
    *, session: Session, active: bool | None = None, limit: int = 500
) -> list[LinkConstraint]:
    """Constraints newest first: all, only the active ones, or only the undone ones."""
    query = select(LinkConstraint).order_by(LinkConstraint.id.desc()).limit(limit)
    if active is True:
        query = query.where(LinkConstraint.undone_at.is_(None))
    elif active is False:
        query = query.where(LinkConstraint.undone_at.is_not(None))
    return list(session.scalars(query))


def active_not_same_person_records(*, session: Session, person_id: str) -> set[RecordKey]:
    """The records already marked "not this person" on this person (active ones)."""
    rows = session.scalars(
        select(LinkConstraint).where(
            LinkConstraint.person_id == person_id,
            LinkConstraint.kind == ConstraintKind.NOT_SAME_PERSON,
            LinkConstraint.undone_at.is_(None),
        )
    )
    return {RecordKey(r.source_a, r.record_a) for r in rows}


def constraints_frame(rows: Sequence[LinkConstraint]) -> pl.DataFrame:
    """One row per pair of records (``CONSTRAINT_COLUMNS``), what linkage reads."""
    pairs = [
        (row.id, row.kind, row.source_a, row.record_a, str(other[0]), str(other[1]))
        for row in rows
        for other in row.other_records
    ]
    return pl.DataFrame(pairs, schema=CONSTRAINT_COLUMNS, orient="row")


def read_link_constraints(url: str) -> pl.DataFrame:
    """Every active constraint as pairs of records, read on a read-only connection.

    The one way the nightly run reads this table. An empty frame when the
    queue has no database yet (a first night) or has not been migrated this far.
    """
    if not queue_exists(url):
        return pl.DataFrame(schema=CONSTRAINT_COLUMNS)
    engine = read_only_engine(url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table(LinkConstraint.__tablename__):
                return pl.DataFrame(schema=CONSTRAINT_COLUMNS)
            with Session(bind=connection) as session:
                rows = list_constraints(session=session, active=True, limit=1_000_000)
                return constraints_frame(sorted(rows, key=lambda r: r.id))
    finally:
        engine.dispose()
