"""The review queue's tables, as typed SQLAlchemy 2 ORM models.

The schema is created and changed only by the Alembic migrations in
``review_ui.migrations``; these models must match them (a test compares the
two with Alembic's autogenerate and expects no difference).

Vocabularies are closed and checked by the database as well as in Python:
an item's ``status``, a user's ``role`` and a review's ``outcome`` can only
hold the values listed here. Outcome words are about help, never sanction.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class ItemStatus(enum.StrEnum):
    """Where a review item is. Only a reviewer's action moves it between these.

    ``merged`` is the one exception made by the nightly run, and it is not a
    decision about the person: linkage found that two items were the same
    person, and the younger item was folded into the other (``merged_into_id``).
    """

    NEW = "new"
    IN_REVIEW = "in_review"
    CLOSED = "closed"
    MERGED = "merged"


OPEN_STATUSES: tuple[str, ...] = (ItemStatus.NEW, ItemStatus.IN_REVIEW)

#: The list for people with no address the council can place (the same word
#: as ``features.graph.addresses.UNKNOWN_LOCALITY``; a test keeps them equal).
#: No caseworker belongs to it; every team lead can see and work it.
UNKNOWN_LOCALITY = "unknown"


class Outcome(enum.StrEnum):
    """What happened when someone looked at the item: words about help only."""

    HELP_OFFERED = "help_offered"
    ALREADY_SUPPORTED = "already_supported"
    NO_HELP_NEEDED = "no_help_needed"
    COULD_NOT_REACH = "could_not_reach"
    DECLINED = "declined"


class ContactChannel(enum.StrEnum):
    """How a caseworker tried to get in touch (a "Could not reach" attempt)."""

    PHONE = "phone"
    TEXT_MESSAGE = "text_message"
    EMAIL = "email"
    LETTER = "letter"
    HOME_VISIT = "home_visit"


class Role(enum.StrEnum):
    CASEWORKER = "caseworker"
    TEAM_LEAD = "team_lead"
    ADMINISTRATOR = "administrator"
    ANALYST = "analyst"


def _in(column: str, values: Any) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back time-zone aware.

    SQLite has no time-zone type, so values are stored there as naive UTC;
    PostgreSQL stores ``timestamp with time zone``. Naive datetimes are
    refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be time-zone aware (use datetime.now(UTC))")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime, date: Date, list[str]: JSON, dict[str, Any]: JSON}


class User(Base):
    """A person who signs in. Passwords are hashed by the web app (argon2)."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", Role), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    locality: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class ReviewItem(Base):
    """One person sent for human review, with the latest night's score and reasons.

    ``version`` is SQLAlchemy's version counter: every change bumps it, and an
    ORM update of a stale copy fails instead of overwriting someone's change.
    At most one open (new or in review) item per person is enforced by a
    partial unique index.
    """

    __tablename__ = "review_items"
    __table_args__ = (
        CheckConstraint(_in("status", ItemStatus), name="status"),
        CheckConstraint(f"outcome IS NULL OR {_in('outcome', Outcome)}", name="outcome"),
        CheckConstraint(
            "(status = 'closed' AND outcome IS NOT NULL AND closed_at IS NOT NULL)"
            " OR (status <> 'closed' AND outcome IS NULL AND closed_at IS NULL)",
            name="closed_has_outcome",
        ),
        CheckConstraint("status <> 'in_review' OR assigned_to_id IS NOT NULL", name="in_review_assigned"),
        CheckConstraint("(status = 'merged') = (merged_into_id IS NOT NULL)", name="merged_has_target"),
        CheckConstraint("score >= 0 AND score <= 1", name="score_range"),
        Index(
            "uq_review_items_open_person",
            "person_id",
            unique=True,
            sqlite_where=text("status IN ('new', 'in_review')"),
            postgresql_where=text("status IN ('new', 'in_review')"),
        ),
        # The review list reads one page's ids in any of its sorts and filters from this index
        # alone (migration 0003); its first four columns also serve "claim the next item".
        Index(
            "ix_review_items_list",
            "locality",
            "status",
            "last_scored_on",
            "rank",
            "first_surfaced_on",
            "ward",
            "assigned_to_id",
        ),
        Index("ix_review_items_person_status", "person_id", "status"),
        # The review list's counts and ward choices (one tally per status, holder and ward),
        # and "earlier reviews" of merged items, are read on every page view: these keep
        # them to index reads.
        Index("ix_review_items_counts", "locality", "status", "assigned_to_id", "ward"),
        Index("ix_review_items_wards", "locality", "status", "ward"),
        Index("ix_review_items_merged_into_id", "merged_into_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64))
    locality: Mapped[str] = mapped_column(String(100))
    #: The ward of the person's current address, for filtering a locality's list.
    ward: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default=ItemStatus.NEW)
    score: Mapped[float]
    rank: Mapped[int | None]
    reasons: Mapped[list[str]]
    services_at_surfacing: Mapped[list[str]]
    services_last_scored: Mapped[list[str]]
    model_version: Mapped[str] = mapped_column(String(200))
    first_surfaced_on: Mapped[date]
    last_scored_on: Mapped[date]
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    claimed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(32))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("review_items.id"))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class ItemHistory(Base):
    """Every score and reason set an item was given, one row per night.

    Keyed by (item, night), so running a night again replaces that night's
    row instead of adding another. A row with ``merged_into_item_id`` records
    that linkage folded this item into another that night.
    """

    __tablename__ = "review_item_history"
    __table_args__ = (Index("ix_review_item_history_as_of", "as_of", "locality", "rank"),)

    item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id"), primary_key=True)
    as_of: Mapped[date] = mapped_column(primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64))
    locality: Mapped[str] = mapped_column(String(100))
    score: Mapped[float]
    rank: Mapped[int | None]
    reasons: Mapped[list[str]]
    services: Mapped[list[str]]
    model_version: Mapped[str] = mapped_column(String(200))
    merged_into_item_id: Mapped[int | None] = mapped_column(ForeignKey("review_items.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utc_now)


class ReviewOutcome(Base):
    """What a reviewer recorded when closing an item."""

    __tablename__ = "review_outcomes"
    __table_args__ = (CheckConstraint(_in("outcome", Outcome), name="outcome"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utc_now)
    #: The person's strengths the reviewer ticked, from ``review_app.yaml``'s short list
    #: (migration 0007; None on outcomes recorded before it).
    strengths: Mapped[list[str] | None]
    #: Other strengths, in the reviewer's (or better, the person's) words.
    other_strengths: Mapped[str | None] = mapped_column(Text)
    #: When the reviewer means to check back, if they said.
    follow_up_on: Mapped[date | None]


class ContactAttempt(Base):
    """A try at getting in touch that did not reach the person (migration 0007).

    "Could not reach" after one try is not an outcome: each attempt is kept
    (when, how, by whom) and the item stays open with its reviewer until they
    close it or the configured number of attempts is reached
    (``review_app.yaml``: ``could_not_reach_attempts``).
    """

    __tablename__ = "contact_attempts"
    __table_args__ = (CheckConstraint(_in("channel", ContactChannel), name="channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    tried_on: Mapped[date]
    channel: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    follow_up_on: Mapped[date | None]
    at: Mapped[datetime] = mapped_column(default=utc_now)


class AuditEntry(Base):
    """Who did what, when, to which item or person, and from where.

    Append-only: database triggers (created by the migration) reject UPDATE
    and DELETE on both SQLite and PostgreSQL, and TRUNCATE on PostgreSQL;
    on SQLite also REPLACE over an existing row and back-dated rows.
    Tamper-evident: ``row_hash`` chains each row to ``prev_hash``, the row
    before's (see :mod:`review_ui.store.audit`). ``actor`` is the username
    (or ``nightly-route``), kept as text so the record stands on its own.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utc_now)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("review_items.id"), index=True)
    person_id: Mapped[str | None] = mapped_column(String(64), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[str | None] = mapped_column(String(200))
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))


class RouteRun(Base):
    """One row per routed night: what the nightly routing did.

    Keyed by the night; running the night again updates this row (and
    ``times_routed``) rather than adding one.
    """

    __tablename__ = "route_runs"

    as_of: Mapped[date] = mapped_column(primary_key=True)
    model_version: Mapped[str] = mapped_column(String(200))
    candidates: Mapped[int]
    new_items: Mapped[int]
    updated_items: Mapped[int]
    held_back_cooldown: Mapped[int]
    over_capacity: Mapped[int]
    merged_items: Mapped[int]
    new_by_locality: Mapped[dict[str, Any]]
    times_routed: Mapped[int] = mapped_column(default=1)
    first_routed_at: Mapped[datetime] = mapped_column(default=utc_now)
    last_routed_at: Mapped[datetime] = mapped_column(default=utc_now)


class CaseFile(Base):
    """What a reviewer needs to see about one surfaced person, as of the latest night.

    Written by the nightly route stage for every person with an open item
    (and kept, unchanged, once the item closes, so earlier reviews can be
    read back). ``content`` is a JSON document built by
    :mod:`review_ui.queue.case_files` and read as
    :class:`review_ui.queue.case_file.CaseFile` (``schema_version``): the names and
    contact details the council's systems hold, the cross-service timeline,
    the household (described, not named) and the match evidence. It is the
    only place the queue holds personal details, and only the web app, behind
    sign-in and audit, reads it.
    """

    __tablename__ = "case_files"

    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    as_of: Mapped[date]
    content: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class WebSession(Base):
    """A signed-in browser session, held on the server so it can be ended.

    The cookie carries a random token (signed); only its SHA-256 is stored
    here (``id``), so a copy of the database does not let anyone sign in. A
    new session is made at every sign-in (no fixation), and the session ends
    after ``idle`` or ``absolute`` time-outs checked on every request.
    """

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    last_seen_at: Mapped[datetime] = mapped_column(default=utc_now)
    ended_at: Mapped[datetime | None]
    source: Mapped[str | None] = mapped_column(String(200))


class CaseFileRead(Base):
    """A case file a user opened in the last minute or so, for the per-user read limit.

    Only the user and the time: which case file is in the audit log. Rows
    older than the limit's window are deleted as the user's next read is counted.
    """

    __tablename__ = "case_file_reads"
    __table_args__ = (Index("ix_case_file_reads_user_id_at", "user_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utc_now)


class SignInAttempt(Base):
    """Every sign-in attempt, for throttling repeated failures (by username and by address)."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        Index("ix_sign_in_attempts_username_at", "username", "at"),
        Index("ix_sign_in_attempts_source_at", "source", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utc_now)
    username: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(200))
    succeeded: Mapped[bool]
