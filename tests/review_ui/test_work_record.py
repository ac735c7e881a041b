"""The record of the work and what changed since the last night, on SQLite and PostgreSQL.

Real nights routed into a real queue (``route_night``), real reviewer actions;
no stand-ins.
"""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from early_warning.config import Config, load_wording
from review_ui.routing import route_night
from review_ui.store import (
    AuditEntry,
    ContactAttempt,
    ItemNotAvailable,
    NotAllowed,
    ReviewItem,
    ReviewOutcome,
    claim_item,
    record_outcome,
)
from review_ui.store.training_outcomes import read_review_outcomes
from review_ui.store.work_record import InvalidChannel, record_attempt
from review_ui.web.work_view import changes_for, locality_precision, work_record

from .conftest import MakeUser, candidates, night

WORDING = load_wording()


def _night(rows: list[tuple[str, float, list[str], list[str]]]) -> pl.DataFrame:
    frame = candidates(
        *[(person, score, "Northgate", services) for person, score, _reasons, services in rows]
    )
    return frame.with_columns(pl.Series("reasons", [reasons for _p, _s, reasons, _v in rows]))


@pytest.fixture
def two_nights(session_factory: sessionmaker[Session], config: Config) -> dict[str, int]:
    """Night one finds a and b; night two finds a with a new reason and service, b unchanged, c new."""
    first = [
        ("a", 0.9, ["Missed 1 rent payment since 3 May."], ["housing_rent"]),
        ("b", 0.8, ["Contacted 3 services in the last 90 days."], ["council_tax"]),
    ]
    second = [
        (
            "a",
            0.9,
            ["Missed 2 rent payments since 3 May.", "Rent arrears rose by £290."],
            ["housing_rent", "benefits"],
        ),
        ("b", 0.8, ["Contacted 3 services in the last 90 days."], ["council_tax"]),
        ("c", 0.7, ["Contacted 4 services in the last 90 days."], ["council_tax"]),
    ]
    for offset, rows in ((-1, first), (0, second)):
        route_night(
            session_factory=session_factory,
            as_of=night(offset),
            candidates=_night(rows),
            config=config,
            model_version="m1",
        )
    with session_factory() as session:
        return {i.person_id: i.id for i in session.scalars(select(ReviewItem))}


def test_new_and_changed_since_the_last_night_come_from_the_nightly_history(
    session: Session, two_nights: dict[str, int]
) -> None:
    items = list(session.scalars(select(ReviewItem).order_by(ReviewItem.person_id)))
    changes = changes_for(session, items, WORDING)
    a, b, c = (changes[two_nights[p]] for p in "abc")
    assert c.new
    assert not c.changed
    assert not b.new
    assert not b.changed
    assert b.line == ""
    assert a.changed
    assert not a.new
    assert a.since == night(-1)
    assert a.line.startswith("Since ")
    assert "missed 2 rent payments since 3 May" in a.line
    assert "rent arrears rose by £290" in a.line
    assert a.line.endswith("; now also known to Benefits")


def test_could_not_reach_keeps_the_item_open_until_the_configured_attempts(
    session: Session, two_nights: dict[str, int], make_user: MakeUser
) -> None:
    casey, other = make_user("casey"), make_user("other")
    item_id = two_nights["a"]
    claim_item(session=session, item_id=item_id, user=casey)
    with pytest.raises(InvalidChannel):
        record_attempt(
            session=session, item_id=item_id, user=casey, tried_on=night(0), channel="pigeon", max_attempts=2
        )
    with pytest.raises(NotAllowed):
        record_attempt(
            session=session, item_id=item_id, user=other, tried_on=night(0), channel="phone", max_attempts=2
        )
    first = record_attempt(
        session=session,
        item_id=item_id,
        user=casey,
        tried_on=night(-1),
        channel="phone",
        note="No answer",
        follow_up_on=night(3),
        max_attempts=2,
    )
    assert (first.number, first.closed_with) == (1, None)
    item = session.get(ReviewItem, item_id, populate_existing=True)
    assert item is not None
    assert item.status == "in_review"
    assert item.assigned_to_id == casey.id
    second = record_attempt(
        session=session, item_id=item_id, user=casey, tried_on=night(0), channel="letter", max_attempts=2
    )
    assert second.number == 2
    assert second.closed_with is not None
    item = session.get(ReviewItem, item_id, populate_existing=True)
    assert item is not None
    assert (item.status, item.outcome) == ("closed", "could_not_reach")
    with pytest.raises(ItemNotAvailable):
        record_attempt(
            session=session, item_id=item_id, user=casey, tried_on=night(0), channel="phone", max_attempts=2
        )
    attempts = list(session.scalars(select(ContactAttempt).where(ContactAttempt.item_id == item_id)))
    assert [(a.channel, a.tried_on, a.note) for a in attempts] == [
        ("phone", night(-1), "No answer"),
        ("letter", night(0), None),
    ]
    actions = [
        (e.action, e.detail)
        for e in session.scalars(
            select(AuditEntry).where(AuditEntry.item_id == item_id).order_by(AuditEntry.id)
        )
    ]
    assert (
        "attempt_recorded",
        {
            "channel": "phone",
            "attempt": 1,
            "tried_on": night(-1).isoformat(),
            "follow_up_on": night(3).isoformat(),
        },
    ) in actions
    assert actions[-1] == ("outcome_recorded", {"outcome": "could_not_reach"})
    assert "No answer" not in str(actions)  # the note's words are never in the audit log
    record = work_record(session, item, max_attempts=2)
    assert [a.channel for a in record.attempts] == ["Phone", "Letter"]
    assert record.outcome is not None
    assert record.outcome.by == "Casey"


def test_the_reviewer_can_close_after_one_attempt(
    session: Session, two_nights: dict[str, int], make_user: MakeUser
) -> None:
    casey = make_user("casey")
    item_id = two_nights["b"]
    claim_item(session=session, item_id=item_id, user=casey)
    done = record_attempt(
        session=session,
        item_id=item_id,
        user=casey,
        tried_on=night(0),
        channel="home_visit",
        max_attempts=3,
        close=True,
    )
    assert done.number == 1
    assert done.closed_with is not None
    assert done.closed_with.note == "Closed after 1 attempt to get in touch."


def test_strengths_and_a_follow_up_date_are_kept_beside_the_outcome_and_training_still_reads_outcomes(
    session: Session, two_nights: dict[str, int], make_user: MakeUser, database_url: str
) -> None:
    casey = make_user("casey")
    item_id = two_nights["c"]
    claim_item(session=session, item_id=item_id, user=casey)
    record_outcome(
        session=session,
        item_id=item_id,
        user=casey,
        outcome="help_offered",
        note="Wants help with the rent",
        strengths=["Engages with services"],
        other_strengths="Volunteers at the food bank",
        follow_up_on=night(14),
    )
    review = session.scalars(select(ReviewOutcome).where(ReviewOutcome.item_id == item_id)).one()
    assert review.strengths == ["Engages with services"]
    assert review.other_strengths == "Volunteers at the food bank"
    assert review.follow_up_on == night(14)
    audit = session.scalars(
        select(AuditEntry).where(AuditEntry.item_id == item_id, AuditEntry.action == "outcome_recorded")
    ).one()
    assert audit.detail == {"outcome": "help_offered", "strengths": 2, "follow_up_on": night(14).isoformat()}
    session.commit()
    outcomes = read_review_outcomes(database_url)
    assert outcomes.columns == ["person_id", "surfaced_on", "reviewed_on", "outcome"]
    assert outcomes.filter(pl.col("person_id") == "c")["outcome"].to_list() == ["help_offered"]


def test_precision_in_words_needs_the_configured_minimum(
    session: Session, two_nights: dict[str, int], make_user: MakeUser
) -> None:
    casey = make_user("casey")
    before = locality_precision(session, "Northgate", last=40, minimum=2)
    assert not before.enough
    assert before.sentence.startswith("Not enough reviews yet")
    for person, outcome in (("a", "help_offered"), ("b", "no_help_needed"), ("c", "help_offered")):
        claim_item(session=session, item_id=two_nights[person], user=casey)
        record_outcome(session=session, item_id=two_nights[person], user=casey, outcome=outcome)
    after = locality_precision(session, "Northgate", last=40, minimum=2)
    assert (after.reviewed, after.helped) == (3, 2)
    # Counts from 1 to 4 are "fewer than 5", as on the learning page.
    assert (
        after.sentence == "Of the last 3 people surfaced here and reviewed, fewer than 5 were offered help."
    )
    latest_two = locality_precision(session, "Northgate", last=2, minimum=2)
    assert latest_two.reviewed == 2
    assert locality_precision(session, "Riverside", last=40, minimum=2).reviewed == 0


def test_a_night_routed_again_does_not_make_an_item_changed(
    session_factory: sessionmaker[Session], config: Config, two_nights: dict[str, int]
) -> None:
    rows = [("b", 0.8, ["Contacted 3 services in the last 90 days."], ["council_tax"])]
    route_night(
        session_factory=session_factory,
        as_of=night(0),
        candidates=_night(rows),
        config=config,
        model_version="m1",
    )
    with session_factory() as session:
        item = session.get(ReviewItem, two_nights["b"])
        assert item is not None
        assert not changes_for(session, [item], WORDING)[item.id].changed
