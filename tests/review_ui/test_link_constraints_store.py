"""Link constraints in the queue: add, undo, audit, and the night's one read-only view of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from features.linkage.constraints import CONSTRAINT_SCHEMA
from review_ui.store import AuditEntry, Role
from review_ui.store.link_constraints import (
    CONSTRAINT_COLUMNS,
    MAX_REASON_LENGTH,
    ConstraintError,
    RecordKey,
    active_not_same_person_records,
    add_not_same_person,
    add_same_person,
    list_constraints,
    read_link_constraints,
    undo_constraint,
)

from .conftest import MakeUser

CT = RecordKey("council_tax", "CT-1")
CC = RecordKey("contact_centre", "CC-1")
HB = RecordKey("housing_benefit", "HB-7")


def _audit(session: Session) -> list[tuple[str, str, dict[str, object]]]:
    session.rollback()
    rows = session.scalars(
        select(AuditEntry).where(AuditEntry.action.startswith("link_constraint")).order_by(AuditEntry.id)
    )
    return [(e.actor, e.action, e.detail) for e in rows]


def test_the_nights_frame_matches_what_linkage_reads() -> None:
    assert CONSTRAINT_COLUMNS == CONSTRAINT_SCHEMA


def test_a_caseworker_marks_a_record_not_this_person_and_it_is_audited(
    session: Session, make_user: MakeUser, database_url: str
) -> None:
    casey = make_user("casey")
    row = add_not_same_person(
        session=session,
        user=casey,
        person_id="P1",
        record=CT,
        other_records=[CC, HB, CT],
        reason="  Different   date of birth on the tenancy ",
        source="127.0.0.1",
    )
    assert row.reason == "Different date of birth on the tenancy"
    assert row.other_records == [["contact_centre", "CC-1"], ["housing_benefit", "HB-7"]]
    assert row.created_by == "casey"
    assert row.is_active
    assert _audit(session) == [
        ("casey", "link_constraint_added_not_same_person", {"constraint_id": row.id, "kind": "not_same_person", "other_records": 2})
    ]  # fmt: skip
    assert active_not_same_person_records(session=session, person_id="P1") == {CT}
    frame = read_link_constraints(database_url)
    assert frame.rows() == [
        (row.id, "not_same_person", "council_tax", "CT-1", "contact_centre", "CC-1"),
        (row.id, "not_same_person", "council_tax", "CT-1", "housing_benefit", "HB-7"),
    ]


def test_the_data_team_undoes_a_constraint_with_a_reason_and_the_night_no_longer_reads_it(
    session: Session, make_user: MakeUser, database_url: str
) -> None:
    casey, ann = make_user("casey"), make_user("ann", role=Role.ANALYST, locality=None)
    row = add_not_same_person(
        session=session, user=casey, person_id="P1", record=CT, other_records=[CC], reason="x"
    )
    with pytest.raises(PermissionError):
        undo_constraint(session=session, user=casey, constraint_id=row.id, reason="no")
    undone = undo_constraint(session=session, user=ann, constraint_id=row.id, reason="Checked: same person")
    assert (undone.undone_by, undone.undo_reason, undone.is_active) == ("ann", "Checked: same person", False)
    assert read_link_constraints(database_url).is_empty()
    assert active_not_same_person_records(session=session, person_id="P1") == set()
    assert [r.id for r in list_constraints(session=session, active=False)] == [row.id]
    assert list_constraints(session=session, active=True) == []
    with pytest.raises(ConstraintError, match="already been undone"):
        undo_constraint(session=session, user=ann, constraint_id=row.id, reason="again")
    assert [a[1] for a in _audit(session)] == [
        "link_constraint_added_not_same_person",
        "link_constraint_undone",
    ]


def test_only_the_data_team_asserts_two_records_are_the_same_person(
    session: Session, make_user: MakeUser, database_url: str
) -> None:
    tess, ann = make_user("tess", role=Role.TEAM_LEAD), make_user("ann", role=Role.ANALYST, locality=None)
    with pytest.raises(PermissionError):
        add_same_person(session=session, user=tess, record_a=CT, record_b=HB, reason="Same NI number")
    row = add_same_person(session=session, user=ann, record_a=CT, record_b=HB, reason="Same NI number")
    assert read_link_constraints(database_url).rows() == [
        (row.id, "same_person", "council_tax", "CT-1", "housing_benefit", "HB-7")
    ]
    assert _audit(session)[-1][:2] == ("ann", "link_constraint_added_same_person")


@pytest.mark.parametrize(
    ("reason", "message"),
    [("", "Enter a reason"), ("   ", "Enter a reason"), ("x" * (MAX_REASON_LENGTH + 1), "200")],
)
def test_a_missing_or_long_reason_is_refused_and_nothing_is_written(
    session: Session, make_user: MakeUser, reason: str, message: str
) -> None:
    casey = make_user("casey")
    with pytest.raises(ConstraintError, match=message):
        add_not_same_person(
            session=session, user=casey, person_id="P1", record=CT, other_records=[CC], reason=reason
        )
    assert list_constraints(session=session) == []
    assert _audit(session) == []


def test_bad_records_are_refused(session: Session, make_user: MakeUser) -> None:
    ann = make_user("ann", role=Role.ANALYST, locality=None)
    with pytest.raises(ConstraintError, match="two different"):
        add_same_person(session=session, user=ann, record_a=CT, record_b=CT, reason="r")
    with pytest.raises(ConstraintError, match="source system"):
        add_same_person(session=session, user=ann, record_a=CT, record_b=RecordKey(" ", "1"), reason="r")
    with pytest.raises(ConstraintError, match="no other records"):
        add_not_same_person(
            session=session, user=ann, person_id="P1", record=CT, other_records=[CT], reason="r"
        )


def test_a_deactivated_account_cannot_add(session: Session, make_user: MakeUser) -> None:
    casey = make_user("casey")
    casey.active = False
    session.commit()
    with pytest.raises(PermissionError, match="not active"):
        add_not_same_person(
            session=session, user=casey, person_id="P1", record=CT, other_records=[CC], reason="r"
        )


def test_a_queue_that_does_not_exist_yet_has_no_constraints(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'none.sqlite3'}"
    assert read_link_constraints(url).is_empty()
    assert not (tmp_path / "none.sqlite3").exists()
