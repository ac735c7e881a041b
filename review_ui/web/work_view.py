"""What changed since the last night, the record of the work, and how often help follows here.

Read-only, for the list and the person page (the routes audit the views):

- **What changed** comes from the item's nightly history (``review_item_history``,
  one row per night with that night's reasons and services): an item first found
  on the latest night is *new*; one scored on the latest night whose reasons or
  services differ from its night before is *changed*, with the change in one line.
- **The record of the work**: this item's attempts to get in touch and its outcome
  (note, strengths, follow-up date, who recorded it and when).
- **How often help follows here**: of the locality's latest reviews (a configured
  number), how many were "help offered" - the learning view's figure, for one
  locality, in words, with small counts suppressed as the learning view does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from early_warning.formatting import uk_date
from early_warning.wording import Wording
from review_ui.store import (
    ContactAttempt,
    ItemHistory,
    ItemStatus,
    Outcome,
    ReviewItem,
    ReviewOutcome,
    RouteRun,
    User,
)
from review_ui.store.work_record import attempts_for
from review_ui.web.reports import shown

CHANNEL_LABELS = {
    "phone": "Phone",
    "text_message": "Text message",
    "email": "Email",
    "letter": "Letter",
    "home_visit": "Home visit",
}


def display_names(db: Session, ids: set[int | None]) -> dict[int, str]:
    """The display names of these users (None ignored), in one query (the list's own, which
    imports this module, has the same)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u.display_name for u in db.scalars(select(User).where(User.id.in_(wanted)))}


# --- What changed since the last night -------------------------------------------


@dataclass(frozen=True)
class Change:
    """Whether an item is new on the latest night, or changed since its night before, and how."""

    new: bool = False
    since: date | None = None
    #: What is new in the reasons and services, each a short phrase.
    what: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return not self.new and bool(self.what)

    @property
    def short_line(self) -> str:
        """:attr:`line` with at most two changes (the list's one line), saying how many more."""
        if not self.changed or self.since is None:
            return ""
        more = len(self.what) - 2
        shown = "; ".join(self.what[:2]) + (f"; and {more} more" if more > 0 else "")
        return f"Since {uk_date(self.since)}: {shown}"

    @property
    def line(self) -> str:
        """'Since 3 July 2026: missed 2 rent payments since 3 May 2026; now also known to Housing repairs'."""
        if not self.changed or self.since is None:
            return ""
        return f"Since {uk_date(self.since)}: " + "; ".join(self.what)


def latest_night(db: Session) -> date | None:
    """The latest night the queue was routed (its items' latest scoring when no night is recorded)."""
    night = db.scalar(select(func.max(RouteRun.as_of)))
    return night or db.scalar(select(func.max(ReviewItem.last_scored_on)))


def _phrase(sentence: str) -> str:
    text = sentence.strip().rstrip(".")
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def describe_change(latest: ItemHistory, before: ItemHistory, wording: Wording) -> tuple[str, ...]:
    """What the latest night says that the night before did not: new reasons, then new services."""
    earlier = set(before.reasons)
    added = [_phrase(reason) for reason in latest.reasons if reason not in earlier]
    services = [s for s in latest.services if s not in set(before.services)]
    if services:
        added.append("now also known to " + ", ".join(wording.service_title(s) for s in services))
    if not added and set(before.reasons) - set(latest.reasons):
        added.append("fewer reasons than before")
    return tuple(added)


def changes_for(db: Session, items: Sequence[ReviewItem], wording: Wording) -> dict[int, Change]:
    """Each item's change since its night before, read in one query (the two latest history rows)."""
    night = latest_night(db)
    found: dict[int, Change] = {item.id: Change() for item in items}
    if night is None or not items:
        return found
    scored = [item for item in items if item.last_scored_on == night]
    for item in scored:
        if item.first_surfaced_on == night:
            found[item.id] = Change(new=True)
    wanted = [item.id for item in scored if item.first_surfaced_on != night]
    if not wanted:
        return found
    position = (
        func.row_number().over(partition_by=ItemHistory.item_id, order_by=ItemHistory.as_of.desc()).label("n")
    )
    ranked = select(ItemHistory.item_id, ItemHistory.as_of, position).where(ItemHistory.item_id.in_(wanted))
    latest_two = ranked.subquery()
    keys = select(latest_two.c.item_id, latest_two.c.as_of).where(latest_two.c.n <= 2)
    rows: dict[int, list[ItemHistory]] = {}
    for row in db.scalars(
        select(ItemHistory)
        .where(ItemHistory.item_id.in_(wanted))
        .where(ItemHistory.as_of.in_(select(keys.subquery().c.as_of)))
        .order_by(ItemHistory.item_id, ItemHistory.as_of.desc())
    ):
        rows.setdefault(row.item_id, []).append(row)
    for item_id, history in rows.items():
        history = history[:2]
        if len(history) == 2 and history[0].as_of == night and history[0].merged_into_item_id is None:
            what = describe_change(history[0], history[1], wording)
            if what:
                found[item_id] = Change(since=history[1].as_of, what=what)
    return found


# --- The record of the work ---------------------------------------------------------


@dataclass(frozen=True)
class AttemptShown:
    tried_on: date
    channel: str
    by: str
    note: str | None
    follow_up_on: date | None


@dataclass(frozen=True)
class OutcomeShown:
    outcome: str
    note: str | None
    by: str
    at: datetime
    strengths: list[str]
    other_strengths: str | None
    follow_up_on: date | None


@dataclass
class WorkRecord:
    attempts: list[AttemptShown] = field(default_factory=list)
    outcome: OutcomeShown | None = None
    max_attempts: int = 3

    @property
    def attempts_left(self) -> int:
        return max(0, self.max_attempts - len(self.attempts))

    @property
    def follow_up_on(self) -> date | None:
        """The latest follow-up date the reviewer gave (on the outcome, or the latest attempt)."""
        if self.outcome is not None and self.outcome.follow_up_on is not None:
            return self.outcome.follow_up_on
        dates = [a.follow_up_on for a in self.attempts if a.follow_up_on is not None]
        return dates[-1] if dates else None


def _shown_attempts(attempts: Iterable[ContactAttempt], names: dict[int, str]) -> list[AttemptShown]:
    return [
        AttemptShown(
            tried_on=a.tried_on,
            channel=CHANNEL_LABELS.get(a.channel, a.channel),
            by=names.get(a.user_id, "Not known"),
            note=a.note,
            follow_up_on=a.follow_up_on,
        )
        for a in attempts
    ]


def work_record(db: Session, item: ReviewItem, *, max_attempts: int) -> WorkRecord:
    """This item's attempts to get in touch and its outcome, with who recorded them."""
    attempts = attempts_for(db, [item.id])[item.id]
    outcome = db.scalars(
        select(ReviewOutcome).where(ReviewOutcome.item_id == item.id).order_by(ReviewOutcome.at.desc())
    ).first()
    people: set[int | None] = {a.user_id for a in attempts}
    if outcome is not None:
        people.add(outcome.user_id)
    names = display_names(db, people)
    shown_outcome = None
    if outcome is not None:
        shown_outcome = OutcomeShown(
            outcome=outcome.outcome,
            note=outcome.note,
            by=names.get(outcome.user_id, "Not known"),
            at=outcome.at,
            strengths=list(outcome.strengths or []),
            other_strengths=outcome.other_strengths,
            follow_up_on=outcome.follow_up_on,
        )
    return WorkRecord(
        attempts=_shown_attempts(attempts, names), outcome=shown_outcome, max_attempts=max_attempts
    )


def attempt_counts(db: Session, item_ids: Iterable[int]) -> dict[int, int]:
    """How many attempts to get in touch each item has (one query)."""
    wanted = list(set(item_ids))
    if not wanted:
        return {}
    query = (
        select(ContactAttempt.item_id, func.count())
        .where(ContactAttempt.item_id.in_(wanted))
        .group_by(ContactAttempt.item_id)
    )
    return {item_id: count for item_id, count in db.execute(query).tuples()}  # noqa: C416 - a Result is not a mapping


# --- How often help follows here ---------------------------------------------------


@dataclass(frozen=True)
class Precision:
    locality: str
    reviewed: int
    helped: int
    minimum: int

    @property
    def enough(self) -> bool:
        return self.reviewed >= self.minimum

    @property
    def sentence(self) -> str:
        """'Of the last 40 people surfaced here and reviewed, 26 were offered help.'"""
        if not self.enough:
            return (
                f"Not enough reviews yet to say how often help follows here: {shown(self.reviewed)} "
                f"so far, and it takes {self.minimum}."
            ).replace(": 0 so far", ": none so far")
        helped = shown(self.helped) if self.helped else "none"
        verb = "was" if self.helped == 1 else "were"
        return f"Of the last {self.reviewed} people surfaced here and reviewed, {helped} {verb} offered help."


def locality_precision(db: Session, locality: str, *, last: int, minimum: int) -> Precision:
    """Of the locality's ``last`` most recently closed items, how many were "help offered".

    Counts items, never people or reviewers; a count of 1 to 4 is shown as "fewer than 5".
    """
    latest = (
        select(ReviewItem.outcome)
        .where(ReviewItem.locality == locality, ReviewItem.status == ItemStatus.CLOSED)
        .order_by(ReviewItem.closed_at.desc(), ReviewItem.id.desc())
        .limit(last)
        .subquery()
    )
    reviewed, helped = db.execute(
        select(func.count(), func.count().filter(latest.c.outcome == Outcome.HELP_OFFERED.value)).select_from(
            latest
        )
    ).one()
    return Precision(locality=locality, reviewed=int(reviewed), helped=int(helped or 0), minimum=minimum)
