"""Reviewer actions, vocabularies and the append-only audit log, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from early_warning.config import Config
from review_ui.routing import route_night
from review_ui.store import (
    AuditEntry,
    InvalidOutcome,
    ItemNotAvailable,
    NotAllowed,
    Outcome,
    ReviewItem,
    ReviewOutcome,
    Role,
    claim_item,
    claim_next_item,
    create_user,
    reassign_item,
    record_outcome,
    release_item,
    set_user_active,
)

from .conftest import MakeUser, candidates, night


@pytest.fixture
def item_ids(session_factory: sessionmaker[Session], config: Config) -> list[int]:
    """Three new Northgate items (ranked a, b, c) and one in Riverside."""
    route_night(
        session_factory=session_factory,
        as_of=night(0),
        candidates=candidates(
            ("a", 0.9, "Northgate"), ("b", 0.8, "Northgate"), ("c", 0.7, "Northgate"), ("r", 0.5, "Riverside")
        ),
        config=config,
        model_version="m1",
    )
    with session_factory() as session:
        return list(session.scalars(select(ReviewItem.id).order_by(ReviewItem.score.desc())))


def fresh(session: Session, item_id: int) -> ReviewItem:
    item = session.get(ReviewItem, item_id, populate_existing=True)
    assert item is not None
    return item


def test_claim_assigns_a_new_item_and_a_second_claim_is_refused(
    session: Session, item_ids: list[int], make_user: MakeUser
) -> None:
    ann, bob = make_user("ann"), make_user("bob")
    item = claim_item(session=session, item_id=item_ids[0], user=ann, source="10.0.0.1")
    assert (item.status, item.assigned_to_id, item.version) == ("in_review", ann.id, 2)
    assert item.claimed_at is not None
    assert item.claimed_at.tzinfo is not None

    with pytest.raises(ItemNotAvailable, match="in review"):
        claim_item(session=session, item_id=item_ids[0], user=bob)
    assert fresh(session, item_ids[0]).assigned_to_id == ann.id
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "item_claimed")).one()
    assert (entry.actor, entry.item_id, entry.person_id, entry.source) == (
        "ann",
        item_ids[0],
        "a",
        "10.0.0.1",
    )


def test_a_stale_version_cannot_claim(session: Session, item_ids: list[int], make_user: MakeUser) -> None:
    with pytest.raises(ItemNotAvailable):
        claim_item(session=session, item_id=item_ids[0], user=make_user("ann"), expected_version=7)
    assert fresh(session, item_ids[0]).status == "new"


def test_only_active_reviewers_of_the_items_locality_can_claim(
    session: Session, item_ids: list[int], make_user: MakeUser
) -> None:
    with pytest.raises(NotAllowed, match="Riverside"):
        claim_item(session=session, item_id=item_ids[3], user=make_user("ann"))
    with pytest.raises(NotAllowed):
        claim_item(
            session=session, item_id=item_ids[0], user=make_user("ana", role=Role.ANALYST, locality=None)
        )
    make_user("gone")
    gone = set_user_active(session=session, username="gone", active=False, changed_by="admin")
    with pytest.raises(NotAllowed, match="not active"):
        claim_item(session=session, item_id=item_ids[0], user=gone)
    assert fresh(session, item_ids[0]).status == "new"


def test_release_returns_the_item_to_the_queue(
    session: Session, item_ids: list[int], make_user: MakeUser
) -> None:
    ann, bob = make_user("ann"), make_user("bob")
    claim_item(session=session, item_id=item_ids[0], user=ann)
    with pytest.raises(NotAllowed, match="someone else"):
        release_item(session=session, item_id=item_ids[0], user=bob)
    item = release_item(session=session, item_id=item_ids[0], user=ann)
    assert (item.status, item.assigned_to_id, item.claimed_at) == ("new", None, None)
    assert claim_item(session=session, item_id=item_ids[0], user=bob).assigned_to_id == bob.id


@pytest.mark.parametrize("outcome", list(Outcome))
def test_each_of_the_five_outcomes_closes_the_item(
    session: Session, item_ids: list[int], make_user: MakeUser, outcome: Outcome
) -> None:
    ann = make_user("ann")
    claim_item(session=session, item_id=item_ids[0], user=ann)
    review = record_outcome(
        session=session, item_id=item_ids[0], user=ann, outcome=outcome.value, note="Spoke by phone."
    )
    assert (review.outcome, review.note, review.user_id) == (outcome.value, "Spoke by phone.", ann.id)
    item = fresh(session, item_ids[0])
    assert (item.status, item.outcome) == ("closed", outcome.value)
    assert item.closed_at is not None


def test_the_outcome_words_are_exactly_the_five_about_help() -> None:
    assert {o.value for o in Outcome} == {
        "help_offered",
        "already_supported",
        "no_help_needed",
        "could_not_reach",
        "declined",
    }


@pytest.mark.parametrize("word", ["enforcement", "sanction", "referred_to_enforcement", "", "Help_Offered"])
def test_record_outcome_refuses_any_other_word(
    session: Session, item_ids: list[int], make_user: MakeUser, word: str
) -> None:
    ann = make_user("ann")
    claim_item(session=session, item_id=item_ids[0], user=ann)
    with pytest.raises(InvalidOutcome, match="help_offered"):
        record_outcome(session=session, item_id=item_ids[0], user=ann, outcome=word)
    assert fresh(session, item_ids[0]).status == "in_review"
    assert session.scalar(select(func.count()).select_from(ReviewOutcome)) == 0


def test_the_database_itself_refuses_other_outcome_words(engine: Engine, item_ids: list[int]) -> None:
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE review_items SET status = 'closed', outcome = 'enforcement', closed_at = CURRENT_TIMESTAMP"
            )
        )


def test_the_database_allows_one_open_item_per_person(engine: Engine, item_ids: list[int]) -> None:
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO review_items (person_id, locality, status, score, reasons, services_at_surfacing,"
                " services_last_scored, model_version, first_surfaced_on, last_scored_on, version)"
                " VALUES ('a', 'Northgate', 'new', 0.5, '[]', '[]', '[]', 'm', '2026-01-01', '2026-01-01', 1)"
            )
        )


def test_a_closed_item_cannot_be_claimed_released_or_closed_again(
    session: Session, item_ids: list[int], make_user: MakeUser
) -> None:
    ann, lead = make_user("ann"), make_user("lead", role=Role.TEAM_LEAD)
    claim_item(session=session, item_id=item_ids[0], user=ann)
    record_outcome(session=session, item_id=item_ids[0], user=ann, outcome=Outcome.HELP_OFFERED)
    with pytest.raises(ItemNotAvailable, match="closed"):
        claim_item(session=session, item_id=item_ids[0], user=ann)
    with pytest.raises(ItemNotAvailable, match="closed"):
        release_item(session=session, item_id=item_ids[0], user=lead)
    with pytest.raises(ItemNotAvailable, match="closed"):
        record_outcome(session=session, item_id=item_ids[0], user=ann, outcome=Outcome.DECLINED)
    with pytest.raises(ItemNotAvailable, match="closed"):
        reassign_item(session=session, item_id=item_ids[0], user=lead, to_user=ann)
    assert fresh(session, item_ids[0]).outcome == "help_offered"


def test_only_the_assigned_reviewer_records_the_outcome(
    session: Session, item_ids: list[int], make_user: MakeUser
) -> None:
    ann, bob = make_user("ann"), make_user("bob")
    with pytest.raises(ItemNotAvailable, match="new"):
        record_outcome(session=session, item_id=item_ids[0], user=ann, outcome="declined")
    claim_item(session=session, item_id=item_ids[0], user=ann)
    with pytest.raises(NotAllowed, match="someone else"):
        record_outcome(session=session, item_id=item_ids[0], user=bob, outcome="declined")


def test_a_team_lead_reassigns_within_the_team_and_a_caseworker_cannot(
    session: Session, item_ids: list[int], make_user: MakeUser
) -> None:
    ann, bob = make_user("ann"), make_user("bob")
    lead = make_user("lead", role=Role.TEAM_LEAD)
    river = make_user("river", locality="Riverside")
    claim_item(session=session, item_id=item_ids[0], user=ann)
    with pytest.raises(NotAllowed):
        reassign_item(session=session, item_id=item_ids[0], user=ann, to_user=bob)
    with pytest.raises(NotAllowed, match="not in the Northgate team"):
        reassign_item(session=session, item_id=item_ids[0], user=lead, to_user=river)
    item = reassign_item(session=session, item_id=item_ids[0], user=lead, to_user=bob)
    assert (item.status, item.assigned_to_id) == ("in_review", bob.id)
    item = reassign_item(
        session=session, item_id=item_ids[1], user=lead, to_user=ann
    )  # a new one, straight to ann
    assert (item.status, item.assigned_to_id) == ("in_review", ann.id)
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "item_reassigned")).first()
    assert entry is not None
    assert entry.detail == {"from_user_id": ann.id, "to_user_id": bob.id}


def test_claim_next_takes_the_highest_ranked_new_item_of_the_team(
    session: Session, item_ids: list[int], make_user: MakeUser
) -> None:
    ann = make_user("ann")
    picked = [claim_next_item(session=session, user=ann) for _ in range(4)]
    assert [p.id if p else None for p in picked] == [*item_ids[:3], None]


def test_users_need_a_known_role_and_a_team_to_review(session: Session) -> None:
    with pytest.raises(ValueError, match="unknown role"):
        create_user(session=session, username="xavier", display_name="X", role="enforcer", password_hash="h")
    with pytest.raises(ValueError, match="needs a locality"):
        create_user(
            session=session, username="xavier", display_name="X", role="caseworker", password_hash="h"
        )
    admin = create_user(
        session=session, username="adm", display_name="Admin", role="administrator", password_hash="h"
    )
    assert (admin.role, admin.active, admin.locality) == ("administrator", True, None)


def test_the_audit_log_refuses_update_delete_and_truncate(
    engine: Engine, session: Session, item_ids: list[int], make_user: MakeUser
) -> None:
    claim_item(session=session, item_id=item_ids[0], user=make_user("ann"))
    before = [(a.id, a.actor, a.action) for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert len(before) >= 2
    statements = [
        "UPDATE audit_log SET actor = 'someone-else'",
        "UPDATE audit_log SET detail = '{}' WHERE action = 'item_claimed'",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE action = 'item_claimed'",
    ]
    if engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_log CASCADE")  # SQLite has no TRUNCATE
    session.rollback()  # let go of the table before trying to change it
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    session.rollback()
    after = [(a.id, a.actor, a.action) for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert after == before


# --- Issue 17, row 15: items nobody can open -----------------------------------


def test_an_item_with_no_known_address_goes_only_to_a_team_lead(
    session_factory: sessionmaker[Session], session: Session, config: Config, make_user: MakeUser
) -> None:
    """A caseworker given one would get "not found" on it: the item would be stuck."""
    route_night(
        session_factory=session_factory,
        as_of=night(0),
        candidates=candidates(("u", 0.9, "unknown")),
        config=config,
        model_version="m1",
    )
    (item_id,) = session.scalars(select(ReviewItem.id))
    casey = make_user("casey")
    lead = make_user("lead", role=Role.TEAM_LEAD)
    other_lead = make_user("olive", role=Role.TEAM_LEAD, locality="Riverside")
    with pytest.raises(NotAllowed, match="cannot open items with no known address"):
        reassign_item(session=session, item_id=item_id, user=lead, to_user=casey)
    assert fresh(session, item_id).status == "new"
    item = reassign_item(session=session, item_id=item_id, user=lead, to_user=other_lead)
    assert (item.status, item.assigned_to_id) == ("in_review", other_lead.id)


def test_routing_reports_open_items_in_a_locality_nobody_works(
    session_factory: sessionmaker[Session], session: Session, config: Config, make_user: MakeUser
) -> None:
    """A locality renamed in the gazetteer ("Old Town") moves items where no user works."""
    make_user("casey")  # Northgate is staffed
    make_user("gone", locality="Old Town").active = False
    session.commit()
    summary = route_night(
        session_factory=session_factory,
        as_of=night(0),
        candidates=candidates(
            ("a", 0.9, "Northgate"), ("b", 0.8, "Old Town"), ("c", 0.7, "Old Town"), ("u", 0.6, "unknown")
        ),
        config=config,
        model_version="m1",
    )
    assert summary.unstaffed == {"Old Town": 2}
