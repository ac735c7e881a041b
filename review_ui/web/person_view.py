"""What the person page shows, read from the queue database.

Everything a reviewer needs to decide whether to offer help: the item and
its history, the case file (who the person is, their contacts as a timeline
and a monthly chart, the household, why the records were joined) and the
same person's earlier reviews. Nothing here writes (the route audits the
view), and nothing here reads or shows a score.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from early_warning.wording import Wording
from review_ui.queue.case_file import CaseFile, Household, SourceRecord, read_case_file, read_household
from review_ui.store import CaseFile as StoredCaseFile
from review_ui.store import ItemHistory, ItemStatus, ReviewItem, ReviewOutcome, Role, User
from review_ui.store.link_constraints import RecordKey, active_not_same_person_records
from review_ui.web.contact_chart import ContactChart, contact_chart
from review_ui.web.person_sections import (
    Coverage,
    Involvement,
    TimelineView,
    age_band,
    coverage,
    involvement,
    match_evidence,
    timeline_view,
)
from review_ui.web.queue_view import display_names, reviewers_for


@dataclass(frozen=True)
class EarlierReview:
    """A closed or merged item of the same person, and what its reviewer recorded."""

    item_id: int
    status: str
    outcome: str | None
    note: str | None
    by: str | None
    at: Any
    merged_into_id: int | None


@dataclass
class PersonPage:
    item: ReviewItem
    case_file: CaseFile | None
    assigned_to_name: str | None
    history: list[ItemHistory]
    earlier: list[EarlierReview]
    chart: ContactChart | None
    reviewers: list[tuple[int, str]]
    mine: bool
    records: list[SourceRecord] = field(default_factory=list)
    #: Each joining pair: its records, a sentence and a confidence in words.
    evidence: list[dict[str, Any]] = field(default_factory=list)
    #: The timeline as shown, and each reason's link to the entries behind it.
    timeline: TimelineView | None = None
    #: service -> its involvement with the person, open first.
    involvement: dict[str, list[Involvement]] = field(default_factory=dict)
    coverage: list[Coverage] = field(default_factory=list)
    age_band: str | None = None
    #: Records someone has marked "not this person" (kept apart from the next night on).
    marked: set[RecordKey] = field(default_factory=set)

    def record_keys(self) -> list[RecordKey]:
        """The case file's records as (source, reference), in the order the page lists them."""
        return [record_key(r) for r in self.records if record_key(r).source and record_key(r).record]

    def can_mark(self, key: RecordKey) -> bool:
        """A record can be marked "not this person" while it and another record are not marked yet."""
        unmarked = [k for k in self.record_keys() if k not in self.marked]
        return len(unmarked) >= 2 and key in unmarked


def record_key(record: SourceRecord) -> RecordKey:
    return RecordKey(record.source or "", record.source_person_id or "")


def _earlier_reviews(db: Session, item: ReviewItem) -> list[EarlierReview]:
    # The same person's items, or items merged into this one, as a union of two index reads:
    # written as one OR, SQLite's planner scanned the whole table for the merged side
    # whenever few items are merged (19 ms of a 30 ms person page at 100,000 items).
    related = union(
        select(ReviewItem.id).where(ReviewItem.person_id == item.person_id),
        select(ReviewItem.id).where(ReviewItem.merged_into_id == item.id),
    )
    query = (
        select(ReviewItem)
        .where(
            ReviewItem.id != item.id,
            ReviewItem.status.in_([ItemStatus.CLOSED, ItemStatus.MERGED]),
            ReviewItem.id.in_(related),
        )
        .order_by(ReviewItem.first_surfaced_on.desc(), ReviewItem.id.desc())
    )
    earlier = list(db.scalars(query))
    outcomes: dict[int, ReviewOutcome] = {}
    if earlier:
        rows = db.scalars(
            select(ReviewOutcome)
            .where(ReviewOutcome.item_id.in_([e.id for e in earlier]))
            .order_by(ReviewOutcome.at)
        )
        outcomes = {row.item_id: row for row in rows}
    names = display_names(db, {o.user_id for o in outcomes.values()})
    reviews = []
    for other in earlier:
        outcome = outcomes.get(other.id)
        reviews.append(
            EarlierReview(
                item_id=other.id,
                status=other.status,
                outcome=outcome.outcome if outcome else other.outcome,
                note=outcome.note if outcome else None,
                by=names.get(outcome.user_id) if outcome else None,
                at=outcome.at if outcome else other.closed_at,
                merged_into_id=other.merged_into_id,
            )
        )
    return reviews


def household_of(db: Session, item: ReviewItem) -> Household | None:
    """The household section of the item's case file (None when there is no case file), read
    without building the rest of the person page: the household page shows nothing else."""
    found = db.get(StoredCaseFile, item.person_id)
    if found is None or not isinstance(found.content, dict):
        return None
    return read_household(found.content)


def person_page(
    db: Session,
    *,
    item: ReviewItem,
    viewer: User,
    wording: Wording,
    show_all: bool = False,
    open_days: dict[str, dict[str, int]] | None = None,
) -> PersonPage:
    """Everything the person page shows for an item the viewer may see, in the app's ``wording``.

    ``show_all`` lists every timeline entry (the default folds routine ones); ``open_days`` is
    review_app.yaml's ``involvement_open_days``.
    """
    found = db.get(StoredCaseFile, item.person_id)
    stored = found.content if found is not None and isinstance(found.content, dict) else None
    case_file = read_case_file(stored) if stored is not None else None
    history = list(
        db.scalars(
            select(ItemHistory).where(ItemHistory.item_id == item.id).order_by(ItemHistory.as_of.desc())
        )
    )
    chart = None
    timeline = None
    evidence: list[dict[str, Any]] = []
    records: list[SourceRecord] = []
    involved: dict[str, list[Involvement]] = {}
    held: list[Coverage] = []
    if case_file is not None:
        chart = contact_chart(case_file.timeline, as_of=case_file.as_of, wording=wording)
        records = list(case_file.records)
        timeline = timeline_view(case_file, list(item.reasons or []), wording, show_all=show_all)
        evidence = match_evidence(list(case_file.evidence), wording)
        involved = involvement(case_file, open_days or {}, wording)
        held = coverage(case_file, wording)
    reviewers: list[tuple[int, str]] = []
    if viewer.role == Role.TEAM_LEAD and item.is_open:
        reviewers = [(u.id, u.display_name) for u in reviewers_for(db, locality=item.locality, viewer=viewer)]
    return PersonPage(
        item=item,
        case_file=case_file,
        assigned_to_name=display_names(db, {item.assigned_to_id}).get(item.assigned_to_id or 0),
        history=history,
        earlier=_earlier_reviews(db, item),
        chart=chart,
        reviewers=reviewers,
        mine=item.assigned_to_id is not None and item.assigned_to_id == viewer.id,
        records=records,
        evidence=evidence,
        timeline=timeline,
        involvement=involved,
        coverage=held,
        age_band=age_band(case_file.person.age, wording) if case_file is not None else None,
        marked=active_not_same_person_records(session=db, person_id=item.person_id) if records else set(),
    )
