"""Read-only queries behind the audit log and the learning pages.

Nothing here writes, and nothing reads a score: the audit log is read back
as it was written, and the learning figures are counts of items and
outcomes per locality and ISO week, never per person or per member of staff.
Counts from 1 to 4 are suppressed ("fewer than 5") before they reach a page,
and a total or median that could give one of them away is withheld ("not
shown"), so a small locality's figures cannot point at one person.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from early_warning.wording import Wording
from review_ui.store import AuditEntry, ItemStatus, Outcome, ReviewItem, User
from review_ui.store.audit import ACTION_DESCRIPTIONS, AuditAction
from review_ui.web.templating import DEFAULT_WORDING, long_date

# --- The audit log -------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    """What to narrow the audit log to; None means "any"."""

    actor: str | None = None
    action: str | None = None
    item_id: int | None = None
    person_id: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def as_detail(self) -> dict[str, Any]:
        """The filters used, for the audit entry that records this view."""
        values = {
            "actor": self.actor,
            "action": self.action,
            "item_id": self.item_id,
            "person_id": self.person_id,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
        }
        return {key: value for key, value in values.items() if value is not None}


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    description: str
    item_id: int | None
    person_id: str | None
    source: str | None


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    total: int
    page: int
    pages: int
    per_page: int


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _filtered(query: Select[Any], filters: AuditFilters) -> Select[Any]:
    if filters.actor:
        query = query.where(AuditEntry.actor == filters.actor)
    if filters.action:
        query = query.where(AuditEntry.action == filters.action)
    if filters.item_id is not None:
        query = query.where(AuditEntry.item_id == filters.item_id)
    if filters.person_id:
        query = query.where(AuditEntry.person_id == filters.person_id)
    if filters.date_from is not None:
        query = query.where(AuditEntry.at >= _start_of(filters.date_from))
    if filters.date_to is not None:
        query = query.where(AuditEntry.at < _start_of(filters.date_to + timedelta(days=1)))
    return query


def audit_actions(db: Session) -> list[str]:
    """The actions that appear in the log, for the filter's select."""
    return sorted(db.scalars(select(AuditEntry.action).distinct()))


def audit_page(
    db: Session, filters: AuditFilters, *, wording: Wording, page: int = 1, per_page: int = 50
) -> AuditPage:
    """One page of the log, newest first, with each action described in plain English (``wording``)."""
    total = db.scalar(_filtered(select(func.count(AuditEntry.id)), filters)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    query = (
        _filtered(select(AuditEntry), filters)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    entries = list(db.scalars(query))
    user_ids = {
        value
        for entry in entries
        for key in ("from_user_id", "to_user_id", "was_assigned_to_user_id")
        if isinstance(value := (entry.detail or {}).get(key), int)
    }
    usernames: dict[int, str] = {}
    if user_ids:
        query = select(User.id, User.username).where(User.id.in_(user_ids))
        usernames = dict(db.execute(query).tuples().all())
    rows = [
        AuditRow(
            id=entry.id,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            description=describe(entry.action, entry.detail or {}, usernames, wording=wording),
            item_id=entry.item_id,
            person_id=entry.person_id,
            source=entry.source,
        )
        for entry in entries
    ]
    return AuditPage(rows=rows, total=total, page=page, pages=pages, per_page=per_page)


Describer = Callable[[Mapping[str, Any], Mapping[int, str], Wording], str | None]


def _outcome_recorded(detail: Mapping[str, Any], _users: Mapping[int, str], wording: Wording) -> str | None:
    outcome = detail.get("outcome")
    if isinstance(outcome, str):
        return f"Recorded outcome: {wording.outcome_label(outcome).lower()}"
    return None


def _person_viewed(detail: Mapping[str, Any], _users: Mapping[int, str], _wording: Wording) -> str | None:
    return "Opened the person's record through the API" if detail.get("via") == "api" else None


def _item_reassigned(detail: Mapping[str, Any], users: Mapping[int, str], _wording: Wording) -> str | None:
    to = detail.get("to_user_id")
    return f"Reassigned to {users[to]}" if isinstance(to, int) and to in users else None


def _night_of(action: str) -> Describer:
    def describer(detail: Mapping[str, Any], _users: Mapping[int, str], _wording: Wording) -> str | None:
        night = detail.get("as_of")
        return (
            f"{ACTION_DESCRIPTIONS[action]} (night of {long_date(night)})" if isinstance(night, str) else None
        )

    return describer


def _case_files_deleted(
    detail: Mapping[str, Any], _users: Mapping[int, str], _wording: Wording
) -> str | None:
    count = detail.get("deleted")
    if not isinstance(count, int):
        return None
    files = f"{count:,} case file{'s' if count != 1 else ''}"
    return f"Deleted {files} past the retention period ({detail.get('retention_days')} days)"


def _with(key: str, kind: type, sentence: str) -> Describer:
    """A describer that puts ``detail[key]`` (when it is a ``kind``) into ``sentence`` at ``{}``."""

    def describer(detail: Mapping[str, Any], _users: Mapping[int, str], _wording: Wording) -> str | None:
        value = detail.get(key)
        return sentence.format(value) if isinstance(value, kind) else None

    return describer


def _user_created(detail: Mapping[str, Any], _users: Mapping[int, str], _wording: Wording) -> str | None:
    username = detail.get("username")
    if not isinstance(username, str):
        return None
    role = str(detail.get("role") or "user").replace("_", " ")
    place = detail.get("locality")
    article = "an" if role[:1] in "aeiou" else "a"
    return f"Added {username} as {article} {role}" + (f" in {place}" if place else "")


def _access_switched(on: bool) -> Describer:
    def describer(detail: Mapping[str, Any], _users: Mapping[int, str], _wording: Wording) -> str | None:
        username = detail.get("username")
        return f"Switched {username}'s access {'on' if on else 'off'}" if isinstance(username, str) else None

    return describer


#: Actions whose description says more than their name, from what the entry's detail holds;
#: a describer answers None when the detail lacks it, and the action's plain description is used.
DESCRIBERS: dict[str, Describer] = {
    AuditAction.OUTCOME_RECORDED: _outcome_recorded,
    AuditAction.PERSON_VIEWED: _person_viewed,
    AuditAction.ITEM_REASSIGNED: _item_reassigned,
    AuditAction.ITEM_SURFACED: _night_of(AuditAction.ITEM_SURFACED),
    AuditAction.NIGHT_ROUTED: _night_of(AuditAction.NIGHT_ROUTED),
    AuditAction.CASE_FILES_DELETED: _case_files_deleted,
    AuditAction.ITEM_MERGED: _with("merged_into_item_id", int, "Merged into item {} (the same person)"),
    AuditAction.PERSON_ID_CHANGED: _with(
        "previous_person_id", str, "Person reference changed by record linkage (was {})"
    ),
    AuditAction.ITEM_VIEW_REFUSED: _with(
        "requested_item_id", int, "Tried to open item {}, which they cannot see"
    ),
    AuditAction.PAGE_REFUSED: _with("path", str, "Tried to use {}, which their role does not give them"),
    AuditAction.USER_CREATED: _user_created,
    AuditAction.USER_ACTIVATED: _access_switched(True),
    AuditAction.USER_DEACTIVATED: _access_switched(False),
}


def describe(
    action: str,
    detail: Mapping[str, Any],
    usernames: Mapping[int, str] | None = None,
    *,
    wording: Wording = DEFAULT_WORDING,
) -> str:
    """A plain-English description of one audit entry ("Recorded outcome: help offered"),
    outcomes named in ``wording`` (the app's own)."""
    describer = DESCRIBERS.get(action)
    described = describer(detail, usernames or {}, wording) if describer else None
    if described is not None:
        return described
    if action in ACTION_DESCRIPTIONS:
        return ACTION_DESCRIPTIONS[action]
    return action.replace("_", " ").capitalize()


# --- Learning: what happened to the people the list found -------------------------

#: Counts from 1 up to this are shown as "fewer than 5".
SMALL_NUMBER = 4
SUPPRESSED = "fewer than 5"
WEEKS = 12


#: What a week's reviewed count shows when showing it would give away a hidden count.
WITHHELD = "not shown"


def shown(count: int) -> str:
    """A count as it may be shown: 1 to 4 become "fewer than 5"."""
    return SUPPRESSED if 0 < count <= SMALL_NUMBER else f"{count:,}"


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass
class WeekFigures:
    """One locality's figures for one ISO week (Monday to Sunday)."""

    week_start: date
    surfaced: int = 0
    reviewed: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: {outcome.value: 0 for outcome in Outcome})
    days_to_outcome: list[int] = field(default_factory=list)

    @property
    def iso_week(self) -> str:
        year, week, _ = self.week_start.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def label(self) -> str:
        year, week, _ = self.week_start.isocalendar()
        return f"Week {week}, {year}"

    @property
    def help_offered(self) -> int:
        return self.outcomes[Outcome.HELP_OFFERED.value]

    @property
    def hidden_outcomes(self) -> int:
        """How many of this week's outcome counts are shown as "fewer than 5"."""
        return sum(0 < count <= SMALL_NUMBER for count in self.outcomes.values())

    @property
    def reviewed_shown(self) -> str:
        """The reviewed count, withheld whenever one of the week's outcome counts is hidden.

        The reviewed count is the sum of the outcome counts, so beside them it
        gives away the hidden ones: six reviewed, five "help offered" and one
        "fewer than 5" declined means one declined. Withholding it only when
        it would give one away is not enough either - the rule itself then
        tells a reader something (two hidden counts and "not shown" would mean
        both are 1 or both are 4) - so it is withheld whenever any outcome
        count is hidden, which the reader can already see. (This includes
        every week with 1 to 4 reviews.)
        """
        return WITHHELD if self.hidden_outcomes else shown(self.reviewed)

    @property
    def median_days(self) -> str:
        """The median wait, shown only when 5 or more of the week's reviews had the same outcome.

        That many reviews keeps it from describing one person, and whether it
        is shown then depends only on counts the page already shows: "shown
        when 5 or more closed" would tell a reader whether hidden counts add
        up to 5 (four hidden outcomes adding up to fewer than 5 are each 1).
        """
        if not self.days_to_outcome:
            return "none"
        if max(self.outcomes.values()) <= SMALL_NUMBER:
            return WITHHELD
        median = statistics.median(self.days_to_outcome)
        return f"{median:g}"


@dataclass
class LocalityFigures:
    locality: str
    weeks: list[WeekFigures]

    @property
    def surfaced(self) -> int:
        return sum(week.surfaced for week in self.weeks)

    @property
    def reviewed(self) -> int:
        return sum(week.reviewed for week in self.weeks)


@dataclass(frozen=True)
class LearningReport:
    first_week: date
    last_week: date
    localities: list[LocalityFigures]


def latest_activity(db: Session, localities: Sequence[str] | None) -> date | None:
    """The latest day anything was surfaced or closed in these localities (None: all)."""
    where = [] if localities is None else [ReviewItem.locality.in_(localities)]
    surfaced = db.scalar(select(func.max(ReviewItem.first_surfaced_on)).where(*where))
    closed = db.scalar(select(func.max(ReviewItem.closed_at)).where(*where))
    days = [day for day in (surfaced, closed) if day is not None]
    if not days:
        return None
    return max(day.date() if isinstance(day, datetime) else day for day in days)


def learning_report(
    db: Session,
    localities: Sequence[str] | None,
    *,
    ending: date,
    weeks: int = WEEKS,
    later_closures_in_last_week: bool = False,
) -> LearningReport:
    """Per locality and ISO week, the ``weeks`` weeks up to the one containing ``ending``.

    ``localities`` None means every locality with items. Reads only the
    columns it counts: locality, dates, status and outcome - no person and no
    reviewer. With ``later_closures_in_last_week`` (the weeks end with the latest
    night), reviews closed after that week are counted in it: they are reviews of
    that night's list, done since (in the demo, whose night is in the past, all of them).
    """
    last_week = monday_of(ending)
    first_week = last_week - timedelta(weeks=weeks - 1)
    start = _start_of(first_week)
    end = _start_of(last_week + timedelta(days=7))
    closed_in_window = (
        ReviewItem.closed_at >= start
        if later_closures_in_last_week
        else (ReviewItem.closed_at >= start) & (ReviewItem.closed_at < end)
    )
    query = select(
        ReviewItem.locality,
        ReviewItem.first_surfaced_on,
        ReviewItem.status,
        ReviewItem.outcome,
        ReviewItem.closed_at,
    ).where(
        or_(
            ReviewItem.first_surfaced_on.between(first_week, last_week + timedelta(days=6)),
            closed_in_window,
        )
    )
    if localities is not None:
        query = query.where(ReviewItem.locality.in_(localities))
    names = set(localities) if localities is not None else set()
    if localities is None:
        names.update(db.scalars(select(ReviewItem.locality).distinct()))
    figures = {
        name: {
            first_week + timedelta(weeks=n): WeekFigures(first_week + timedelta(weeks=n))
            for n in range(weeks)
        }
        for name in names
    }
    for locality, surfaced_on, status, outcome, closed_at in db.execute(query).tuples():
        by_week = figures.setdefault(
            locality,
            {
                first_week + timedelta(weeks=n): WeekFigures(first_week + timedelta(weeks=n))
                for n in range(weeks)
            },
        )
        # A merged item is the same person as another item: count the person once.
        if status != ItemStatus.MERGED and (week := by_week.get(monday_of(surfaced_on))) is not None:
            week.surfaced += 1
        if status == ItemStatus.CLOSED and closed_at is not None and outcome is not None:
            closed_on = min(closed_at.astimezone(UTC).date(), last_week + timedelta(days=6))
            if (week := by_week.get(monday_of(closed_on))) is not None:
                week.reviewed += 1
                week.outcomes[outcome] = week.outcomes.get(outcome, 0) + 1
                week.days_to_outcome.append(max(0, (closed_on - surfaced_on).days))
    ordered = [
        LocalityFigures(
            locality=name, weeks=sorted(by_week.values(), key=lambda w: w.week_start, reverse=True)
        )
        for name, by_week in sorted(figures.items(), key=lambda pair: (pair[0] == "unknown", pair[0]))
    ]
    return LearningReport(first_week=first_week, last_week=last_week, localities=ordered)
