"""The nightly routing stage: the scored cohort becomes review items.

The review queue is the only place scores go. Routing never acts on anyone
and never decides anything about an item: it creates new items, refreshes
the score and reasons of open ones, and (when linkage merged two people)
folds duplicate items together. Only a reviewer closes an item.

Rules, per night (``as_of``); each is written once, in :mod:`review_ui.queue.plan`,
and this module does the reads and writes around them:

* Candidates are ranked within their locality by score, highest first; ties
  are broken by ``person_id`` so the order is the same every time.
* A person with an open item (new or in review) gets that item's score, rank
  and reasons refreshed, plus a history row; this uses no capacity.
* A person whose last item was closed less than ``cooldown_days`` before the
  night is held back, unless their score rose by at least
  ``resurface_if_score_rises_by`` since it closed, or (if enabled) a service
  they had not been in touch with then has appeared since.
* Everyone else gets a new item, until the locality has had
  ``config.capacity_of(locality)`` new items that night; the rest are
  counted as over capacity.
* Linkage lineage is followed first: items of people whose ids were merged
  (or renamed) move to the new id, and two open items of one person become
  one (see :mod:`review_ui.lineage`).
* When the night's case files are given, every person with an open item
  after routing gets theirs replaced (and the item's ward set from it). A
  closed item's case file is left as it was, so earlier reviews can be read
  back; case files of people routing sent nowhere are not stored.

The whole night is one transaction: if anything fails, the queue is exactly
as it was. Running a night again gives the same queue: items first surfaced
that night count against that night's capacity, and history is keyed by
(item, night).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from pydantic import ValidationError
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from early_warning.config import Config
from review_ui.lineage import SOURCE, follow_lineage, upsert_history
from review_ui.queue.case_file import read_case_file
from review_ui.queue.plan import CLOSED_SCHEMA, already_held, lineage_moves, recently_closed, route_plan
from review_ui.store.audit import NIGHTLY_ACTOR, AuditAction, append_audit
from review_ui.store.case_files import delete_expired_case_files, upsert_case_files
from review_ui.store.engine import is_sqlite, make_session_factory, write_transaction
from review_ui.store.tables import (
    OPEN_STATUSES,
    UNKNOWN_LOCALITY,
    ItemHistory,
    ItemStatus,
    ReviewItem,
    Role,
    RouteRun,
    User,
    utc_now,
)

#: The council's clock: a closing time becomes a date in this zone for the cool-down.
COUNCIL_TIME_ZONE = ZoneInfo("Europe/London")
_ADVISORY_LOCK_KEY = 0x45575F524F555445  # one routing run at a time on PostgreSQL

_CANDIDATE_COLUMNS: dict[str, pl.DataType] = {
    "person_id": pl.String(),
    "score": pl.Float64(),
    "locality": pl.String(),
    "reasons": pl.List(pl.String),
    "services": pl.List(pl.String),
}
CANDIDATE_SCHEMA = pl.Schema(_CANDIDATE_COLUMNS)
_SURFACED_COLUMNS: dict[str, pl.DataType] = {
    "person_id": pl.String(),
    "rank": pl.Int64(),
    "score": pl.Float64(),
    "locality": pl.String(),
    "reasons": pl.List(pl.String),
}
SURFACED_SCHEMA = pl.Schema(_SURFACED_COLUMNS)

SessionFactory = Callable[[], Session]


@dataclass(frozen=True)
class RouteSummary:
    """What one night's routing did. The same night routed again gives the same summary."""

    as_of: date
    model_version: str
    candidates: int
    new_by_locality: dict[str, int] = field(default_factory=dict)
    updated: int = 0
    held_back_cooldown: int = 0
    over_capacity: int = 0
    merged: int = 0
    #: Case files deleted by the retention rule tonight. Not compared: a re-run
    #: finds nothing left to delete, and is still the same night.
    case_files_deleted: int = field(default=0, compare=False)
    #: Open items per locality that no active caseworker or team lead works (a
    #: locality renamed in the gazetteer, or a team not set up yet): nobody would see
    #: them. Not compared: it changes with the users, not the night.
    unstaffed: dict[str, int] = field(default_factory=dict, compare=False)

    @property
    def new_items(self) -> int:
        return sum(self.new_by_locality.values())


def route_night(
    *,
    as_of: date,
    candidates: pl.DataFrame,
    config: Config,
    model_version: str,
    lineage: pl.DataFrame | None = None,
    case_files: pl.DataFrame | None = None,
    session_factory: SessionFactory | None = None,
    engine: Engine | None = None,
) -> RouteSummary:
    """Route one night's scored cohort into the review queue, in one transaction.

    Args:
        as_of: the night.
        candidates: person_id, score (0-1), locality, reasons (list of
            sentences), services (list of services they have been in contact with).
        config: capacities per locality and the cool-down rules.
        model_version: the model that scored the night (kept on every history row).
        lineage: person_id, previous_person_id, change (new/same/merged/split)
            from linkage, or None when ids did not change.
        case_files: person_id, ward (nullable), content (the case file as a
            JSON string, see ``review_ui.queue.case_files``), or None to leave case
            files and wards alone.
        session_factory / engine: where the queue is (give one).

    Raises:
        ValueError: candidates, lineage or case files are malformed (nothing is written).
    """
    frame = _checked_candidates(candidates)
    files = _checked_case_files(case_files, as_of)
    moves = lineage_moves(lineage)
    factory = _factory(session_factory, engine)
    with factory() as session, write_transaction(session):
        if not is_sqlite(session):
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
        _lock_open_items(session)
        follow_lineage(session, moves, as_of, model_version)
        plan = _plan(session, frame, as_of, config)
        if files is not None:
            plan = plan.join(files.wards, on="person_id", how="left", maintain_order="left")
        _write_plan(session, plan, as_of, model_version)
        if files is not None:
            _write_case_files(session, files, as_of)
        deleted = _apply_retention(session, as_of, config.routing.case_file_retention_days)
        summary = replace(
            _summarise(session, as_of, model_version, frame.height, plan), case_files_deleted=deleted
        )
        _record_run(session, summary)
    return summary


def surfaced_frame(
    *,
    as_of: date,
    session_factory: SessionFactory | None = None,
    engine: Engine | None = None,
) -> pl.DataFrame:
    """Who was routed to review that night, in order: person_id, rank, score, locality, reasons.

    Read from the night's history rows, sorted by locality then rank, so the
    flow can write ``surfaced.parquet`` the same way every time.
    """
    factory = _factory(session_factory, engine)
    query = (
        select(
            ItemHistory.person_id,
            ItemHistory.rank,
            ItemHistory.score,
            ItemHistory.locality,
            ItemHistory.reasons,
        )
        .where(ItemHistory.as_of == as_of, ItemHistory.merged_into_item_id.is_(None))
        .order_by(ItemHistory.locality, ItemHistory.rank, ItemHistory.person_id)
    )
    with factory() as session:
        rows = [tuple(row) for row in session.execute(query)]
    return pl.DataFrame(rows, schema=SURFACED_SCHEMA, orient="row")


def persons_already_in_queue(
    *,
    as_of: date,
    config: Config,
    session_factory: SessionFactory | None = None,
    engine: Engine | None = None,
) -> set[str]:
    """People routing will not count as fresh tonight: an open item, or closed within the cool-down.

    The score stage gives routing these people (to refresh their items or
    check the resurface rules) plus each locality's best-ranked others up to
    its capacity, so a locality's places can always be filled without
    writing reasons for the whole cohort.
    """
    factory = _factory(session_factory, engine)
    with factory() as session:
        closed = recently_closed(_closed_items(session), as_of, config.routing.cooldown_days)
        return already_held(_open_people(session), closed)


# --- inputs -----------------------------------------------------------------


def _factory(session_factory: SessionFactory | None, engine: Engine | None) -> SessionFactory:
    if (session_factory is None) == (engine is None):
        raise ValueError("give exactly one of session_factory or engine")
    if session_factory is not None:
        return session_factory
    assert engine is not None
    factory: sessionmaker[Session] = make_session_factory(engine)
    return factory


def _checked_candidates(candidates: pl.DataFrame) -> pl.DataFrame:
    missing = [name for name in CANDIDATE_SCHEMA if name not in candidates.columns]
    if missing:
        raise ValueError(f"candidates are missing column(s): {', '.join(missing)}")
    try:
        frame = candidates.select(
            pl.col(name).cast(dtype, strict=True) for name, dtype in CANDIDATE_SCHEMA.items()
        )
    except pl.exceptions.PolarsError as exc:
        raise ValueError(f"candidates have a column of the wrong type: {exc}") from None
    for name in ("person_id", "score", "locality"):
        if frame[name].null_count():
            raise ValueError(f"candidates: {name} is empty on {frame[name].null_count()} row(s)")
    if frame["person_id"].is_duplicated().any():
        dupes = frame.filter(pl.col("person_id").is_duplicated())["person_id"].unique().sort().head(5)
        raise ValueError(f"candidates: a person appears more than once (e.g. {', '.join(dupes)})")
    if frame.filter((pl.col("score") < 0) | (pl.col("score") > 1) | pl.col("score").is_nan()).height:
        raise ValueError("candidates: every score must be between 0 and 1")
    return frame.with_columns(
        pl.col("reasons").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        pl.col("services").fill_null(pl.lit([], dtype=pl.List(pl.String))),
    )


@dataclass(frozen=True)
class _CaseFiles:
    """The night's case files, parsed before the transaction starts."""

    #: person_id, ward, has_case_file (True): joined onto the plan.
    wards: pl.DataFrame
    #: person_id -> the case file document.
    content: dict[str, dict[str, Any]]


def _error_place(exc: ValidationError) -> str:
    """Where the first problem is (field names only: never a value, which may be personal data)."""
    location = exc.errors()[0].get("loc", ())
    return ".".join(str(part) for part in location) or "the top level"


def _checked_case_files(case_files: pl.DataFrame | None, as_of: date) -> _CaseFiles | None:
    """The night's case files, each read through :class:`~review_ui.queue.case_file.CaseFile`
    (the shape the person page and the API read), before the transaction starts: a
    document they could not show is refused here, with nothing written."""
    if case_files is None:
        return None
    missing = [name for name in ("person_id", "content") if name not in case_files.columns]
    if missing:
        raise ValueError(f"case files are missing column(s): {', '.join(missing)}")
    ward = pl.col("ward") if "ward" in case_files.columns else pl.lit(None)
    try:
        frame = case_files.select(
            pl.col("person_id").cast(pl.String, strict=True),
            ward.cast(pl.String, strict=True).alias("ward"),
            pl.col("content").cast(pl.String, strict=True),
        )
    except pl.exceptions.PolarsError as exc:
        raise ValueError(f"case files have a column of the wrong type: {exc}") from None
    if frame["person_id"].null_count() or frame["content"].null_count():
        raise ValueError("case files: person_id and content must not be empty")
    if frame["person_id"].is_duplicated().any():
        raise ValueError("case files: a person appears more than once")
    content: dict[str, dict[str, Any]] = {}
    for person_id, text_ in frame.select("person_id", "content").iter_rows():
        try:
            document = json.loads(text_)
        except json.JSONDecodeError as exc:
            raise ValueError(f"case files: the case file of {person_id} is not JSON ({exc.msg})") from None
        if not isinstance(document, dict):
            raise ValueError(f"case files: the case file of {person_id} is not a JSON object")
        try:
            typed = read_case_file(document)
        except ValidationError as exc:
            raise ValueError(
                f"case files: the case file of {person_id} is not a case file "
                f"({exc.error_count()} problem(s), first at {_error_place(exc)})"
            ) from None
        if typed.as_of != as_of:
            raise ValueError(f"case files: the case file of {person_id} is not for {as_of.isoformat()}")
        content[person_id] = document
    wards = frame.select("person_id", "ward", pl.lit(True).alias("has_case_file"))
    return _CaseFiles(wards=wards, content=content)


# --- locks, the plan ---------------------------------------------------------


def _lock_open_items(session: Session) -> list[ReviewItem]:
    """Load every open item; on PostgreSQL lock them (in id order) until the night commits.

    Reviewers' conditional updates then wait for routing instead of racing
    it, and routing's own updates can never find a stale version.
    """
    query = select(ReviewItem).where(ReviewItem.status.in_(OPEN_STATUSES)).order_by(ReviewItem.id)
    if not is_sqlite(session):
        query = query.with_for_update()
    return list(session.scalars(query))


def _plan(session: Session, frame: pl.DataFrame, as_of: date, config: Config) -> pl.DataFrame:
    """Decide, for every candidate, what happens tonight (:func:`review_ui.queue.plan.route_plan`
    on three reads of the queue)."""
    new_tonight = dict(
        session.execute(
            select(ReviewItem.locality, func.count())
            .where(ReviewItem.first_surfaced_on == as_of, ReviewItem.status != ItemStatus.MERGED)
            .group_by(ReviewItem.locality)
        )
        .tuples()
        .all()
    )
    return route_plan(
        frame,
        open_people=_open_people(session),
        closed_recently=recently_closed(_closed_items(session), as_of, config.routing.cooldown_days),
        new_tonight=new_tonight,
        config=config,
    )


def _open_people(session: Session) -> list[str]:
    """The people with an open item (new or in review)."""
    return list(session.scalars(select(ReviewItem.person_id).where(ReviewItem.status.in_(OPEN_STATUSES))))


def _closed_items(session: Session) -> pl.DataFrame:
    """Every closed item as :data:`review_ui.queue.plan.CLOSED_SCHEMA`, its closing time
    as a date on the council's clock (the cool-down counts council days)."""
    query = select(
        ReviewItem.person_id, ReviewItem.closed_at, ReviewItem.score, ReviewItem.services_last_scored
    ).where(ReviewItem.status == ItemStatus.CLOSED)
    rows = [
        (person_id, closed_at.astimezone(COUNCIL_TIME_ZONE).date(), score, list(services))
        for person_id, closed_at, score, services in session.execute(query)
    ]
    return pl.DataFrame(rows, schema=CLOSED_SCHEMA, orient="row")


# --- writes -----------------------------------------------------------------


def _write_plan(session: Session, plan: pl.DataFrame, as_of: date, model_version: str) -> None:
    routed = plan.filter(pl.col("routed"))
    open_items = {
        item.person_id: item
        for item in session.scalars(select(ReviewItem).where(ReviewItem.status.in_(OPEN_STATUSES)))
    }
    history = {
        row.item_id: row for row in session.scalars(select(ItemHistory).where(ItemHistory.as_of == as_of))
    }
    for row in routed.iter_rows(named=True):
        item = open_items.get(row["person_id"])
        if item is None:
            item = _create_item(session, row, as_of, model_version)
        elif item.last_scored_on <= as_of:
            # An older night routed again later must not overwrite a newer score.
            item.score = row["score"]
            item.rank = row["rank"]
            item.reasons = list(row["reasons"])
            item.services_last_scored = list(row["services"])
            item.locality = row["locality"]
            item.last_scored_on = as_of
            item.model_version = model_version
            if row.get("has_case_file"):
                item.ward = row["ward"]
        upsert_history(
            session,
            item,
            as_of,
            history.get(item.id),
            person_id=row["person_id"],
            locality=row["locality"],
            score=row["score"],
            rank=row["rank"],
            reasons=list(row["reasons"]),
            services=list(row["services"]),
            model_version=model_version,
            merged_into_item_id=None,
        )
    session.flush()


def _write_case_files(session: Session, files: _CaseFiles, as_of: date) -> None:
    """Replace the case file of everyone given one who has an open item after tonight's routing."""
    open_people = set(
        session.scalars(select(ReviewItem.person_id).where(ReviewItem.status.in_(OPEN_STATUSES)))
    )
    upsert_case_files(
        session=session,
        rows=(
            {"person_id": person_id, "as_of": as_of, "content": document}
            for person_id, document in sorted(files.content.items())
            if person_id in open_people
        ),
    )


def _apply_retention(session: Session, as_of: date, retention_days: int) -> int:
    """Delete case files past the retention rule, and say how many in the audit log (no one is named)."""
    deleted = delete_expired_case_files(session=session, as_of=as_of, retention_days=retention_days)
    if deleted:
        append_audit(
            session=session,
            actor=NIGHTLY_ACTOR,
            action=AuditAction.CASE_FILES_DELETED,
            detail={"as_of": as_of.isoformat(), "deleted": deleted, "retention_days": retention_days},
            source=SOURCE,
        )
    return deleted


def _create_item(session: Session, row: dict[str, Any], as_of: date, model_version: str) -> ReviewItem:
    item = ReviewItem(
        person_id=row["person_id"],
        locality=row["locality"],
        ward=row.get("ward"),
        status=ItemStatus.NEW,
        score=row["score"],
        rank=row["rank"],
        reasons=list(row["reasons"]),
        services_at_surfacing=list(row["services"]),
        services_last_scored=list(row["services"]),
        model_version=model_version,
        first_surfaced_on=as_of,
        last_scored_on=as_of,
    )
    session.add(item)
    session.flush()
    append_audit(
        session=session,
        actor=NIGHTLY_ACTOR,
        action=AuditAction.ITEM_SURFACED,
        item_id=item.id,
        person_id=item.person_id,
        detail={"as_of": as_of.isoformat(), "locality": item.locality, "rank": item.rank},
        source=SOURCE,
    )
    return item


def _summarise(
    session: Session, as_of: date, model_version: str, candidates: int, plan: pl.DataFrame
) -> RouteSummary:
    """Counts read back from the night's state, so a re-run reports the same numbers."""
    new_by_locality = dict(
        session.execute(
            select(ReviewItem.locality, func.count())
            .where(ReviewItem.first_surfaced_on == as_of, ReviewItem.status != ItemStatus.MERGED)
            .group_by(ReviewItem.locality)
            .order_by(ReviewItem.locality)
        )
        .tuples()
        .all()
    )
    night = (
        select(func.count()).select_from(ItemHistory).join(ReviewItem, ReviewItem.id == ItemHistory.item_id)
    )
    updated = session.scalar(
        night.where(
            ItemHistory.as_of == as_of,
            ItemHistory.merged_into_item_id.is_(None),
            ReviewItem.first_surfaced_on < as_of,
        )
    )
    merged = session.scalar(
        select(func.count())
        .select_from(ItemHistory)
        .where(ItemHistory.as_of == as_of, ItemHistory.merged_into_item_id.is_not(None))
    )
    return RouteSummary(
        as_of=as_of,
        model_version=model_version,
        unstaffed=unstaffed_localities(session),
        candidates=candidates,
        new_by_locality={str(k): int(v) for k, v in new_by_locality.items()},
        updated=int(updated or 0),
        held_back_cooldown=int(plan["held_back"].sum()),
        over_capacity=int(plan["over_capacity"].sum()),
        merged=int(merged or 0),
    )


def unstaffed_localities(session: Session) -> dict[str, int]:
    """Open items per locality no active reviewer works ("unknown" is the team leads')."""
    staffed = select(User.locality).where(
        User.active.is_(True),
        User.role.in_([Role.CASEWORKER, Role.TEAM_LEAD]),
        User.locality.is_not(None),
    )
    rows = session.execute(
        select(ReviewItem.locality, func.count())
        .where(
            ReviewItem.status.in_(OPEN_STATUSES),
            ReviewItem.locality != UNKNOWN_LOCALITY,
            ReviewItem.locality.not_in(staffed),
        )
        .group_by(ReviewItem.locality)
        .order_by(ReviewItem.locality)
    )
    return {str(locality): int(count) for locality, count in rows.tuples()}


def _record_run(session: Session, summary: RouteSummary) -> None:
    now = utc_now()
    counts = {
        "model_version": summary.model_version,
        "candidates": summary.candidates,
        "new_items": summary.new_items,
        "updated_items": summary.updated,
        "held_back_cooldown": summary.held_back_cooldown,
        "over_capacity": summary.over_capacity,
        "merged_items": summary.merged,
        "new_by_locality": dict(summary.new_by_locality),
    }
    run = session.get(RouteRun, summary.as_of)
    if run is None:
        session.add(RouteRun(as_of=summary.as_of, first_routed_at=now, last_routed_at=now, **counts))
    else:
        for name, value in counts.items():
            setattr(run, name, value)
        run.times_routed += 1
        run.last_routed_at = now
    append_audit(
        session=session,
        actor=NIGHTLY_ACTOR,
        action=AuditAction.NIGHT_ROUTED,
        detail={"as_of": summary.as_of.isoformat(), **counts},
        source=SOURCE,
    )
