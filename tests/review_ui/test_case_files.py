"""Case files are stored by the nightly routing, in its transaction (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import polars as pl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from early_warning.config import Config
from review_ui.routing import route_night
from review_ui.store import (
    AuditEntry,
    CaseFile,
    ReviewItem,
    claim_item,
    record_outcome,
    upsert_case_files,
    write_transaction,
)
from tests.support.review_app import case_file

from .conftest import MakeUser, candidates, night


def case_files(as_of: date, *people: tuple[str, str | None]) -> pl.DataFrame:
    """A case-files frame for (person_id, ward) pairs, each named after its person and night."""
    return pl.DataFrame(
        {
            "person_id": [p for p, _ in people],
            "ward": [w for _, w in people],
            "content": [json.dumps(case_file(p, name=f"{p} on {as_of}", as_of=as_of)) for p, _ in people],
        },
        schema={"person_id": pl.String, "ward": pl.String, "content": pl.String},
    )


def route(
    factory: sessionmaker[Session], config: Config, offset: int, frame: pl.DataFrame, **kw: Any
) -> None:
    route_night(
        session_factory=factory,
        as_of=night(offset),
        candidates=frame,
        config=config,
        model_version="rules-v1",
        **kw,
    )


def stored(session: Session) -> dict[str, tuple[date, str]]:
    """person_id -> (night, the name in the case file)."""
    session.rollback()
    session.expire_all()
    return {
        f.person_id: (f.as_of, f.content["person"]["names"][0])
        for f in session.scalars(select(CaseFile).order_by(CaseFile.person_id))
    }


def wards(session: Session) -> dict[str, str | None]:
    session.rollback()
    session.expire_all()
    return {i.person_id: i.ward for i in session.scalars(select(ReviewItem).order_by(ReviewItem.id))}


def test_routing_stores_a_case_file_and_ward_for_everyone_it_sends_for_review(
    session_factory: sessionmaker[Session], session: Session, config: Config
) -> None:
    frame = candidates(
        ("a", 0.9, "Riverside"), ("b", 0.8, "Riverside"), ("c", 0.7, "Riverside"), ("d", 0.6, "Northgate")
    )
    files = case_files(night(0), ("a", "Central"), ("b", None), ("c", "Harbour"), ("d", "Harbour"))
    route(session_factory, config, 0, frame, case_files=files)

    # Riverside takes 2: c is over capacity, so it has no item and no case file.
    assert wards(session) == {"a": "Central", "b": None, "d": "Harbour"}
    assert stored(session) == {
        "a": (night(0), f"a on {night(0)}"),
        "b": (night(0), f"b on {night(0)}"),
        "d": (night(0), f"d on {night(0)}"),
    }
    found = session.get(CaseFile, "a")
    assert found is not None
    assert found.content == case_file("a", name=f"a on {night(0)}", as_of=night(0))
    assert session.get(CaseFile, "c") is None


def test_a_second_night_replaces_open_items_case_files_and_leaves_a_closed_ones_alone(
    session_factory: sessionmaker[Session], session: Session, config: Config, make_user: MakeUser
) -> None:
    frame = candidates(("a", 0.9, "Riverside"), ("b", 0.8, "Riverside"))
    route(
        session_factory,
        config,
        -1,
        frame,
        case_files=case_files(night(-1), ("a", "Central"), ("b", "Central")),
    )
    closed = session.scalar(select(ReviewItem).where(ReviewItem.person_id == "b"))
    assert closed is not None
    worker = make_user("cw", locality="Riverside")
    claim_item(session=session, item_id=closed.id, user=worker)
    record_outcome(session=session, item_id=closed.id, user=worker, outcome="help_offered")

    # b is still a candidate, but held back by the cool-down: its case file is what the reviewer saw.
    route(
        session_factory, config, 0, frame, case_files=case_files(night(0), ("a", "Harbour"), ("b", "Harbour"))
    )

    assert stored(session) == {
        "a": (night(0), f"a on {night(0)}"),
        "b": (night(-1), f"b on {night(-1)}"),
    }
    assert wards(session) == {"a": "Harbour", "b": "Central"}


def test_routing_an_older_night_again_keeps_the_newer_case_file(
    session_factory: sessionmaker[Session], session: Session, config: Config
) -> None:
    frame = candidates(("a", 0.9, "Riverside"))
    route(session_factory, config, -1, frame, case_files=case_files(night(-1), ("a", "Old")))
    route(session_factory, config, 0, frame, case_files=case_files(night(0), ("a", "New")))
    route(session_factory, config, -1, frame, case_files=case_files(night(-1), ("a", "Old")))
    assert stored(session) == {"a": (night(0), f"a on {night(0)}")}
    assert wards(session) == {"a": "New"}


def test_without_case_files_routing_leaves_case_files_and_wards_alone(
    session_factory: sessionmaker[Session], session: Session, config: Config
) -> None:
    frame = candidates(("a", 0.9, "Riverside"))
    route(session_factory, config, -1, frame, case_files=case_files(night(-1), ("a", "Central")))
    route(session_factory, config, 0, frame)
    assert stored(session) == {"a": (night(-1), f"a on {night(-1)}")}
    assert wards(session) == {"a": "Central"}


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pl.DataFrame({"person_id": ["a"]}), "missing column"),
        (pl.DataFrame({"person_id": ["a"], "content": ["{not json"]}), "not JSON"),
        (pl.DataFrame({"person_id": ["a"], "content": [json.dumps({"as_of": "1999-01-01"})]}), "not for"),
        (pl.DataFrame({"person_id": ["a"], "content": ["[1, 2]"]}), "not a JSON object"),
        (pl.DataFrame({"person_id": ["a"], "content": [json.dumps({"person": {}})]}), "first at as_of"),
        (
            pl.DataFrame(
                {
                    "person_id": ["a"],
                    "content": [json.dumps({"as_of": night(0).isoformat(), "timeline": "x"})],
                }
            ),
            "not a case file .*first at timeline",
        ),
        (pl.DataFrame({"person_id": ["a", "a"], "content": ["{}", "{}"]}), "more than once"),
    ],
)
def test_malformed_case_files_are_refused_before_anything_is_written(
    session_factory: sessionmaker[Session],
    session: Session,
    config: Config,
    frame: pl.DataFrame,
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        route(session_factory, config, 0, candidates(("a", 0.9, "Riverside")), case_files=frame)
    assert session.scalar(select(func.count()).select_from(ReviewItem)) == 0
    assert stored(session) == {}


def test_upsert_inserts_then_replaces_by_person(session: Session) -> None:
    with write_transaction(session):
        upsert_case_files(
            session=session,
            rows=[
                {"person_id": f"p{n}", "as_of": night(0), "content": {"version": 1, "n": n}}
                for n in range(1200)
            ],
        )
    with write_transaction(session):
        count = upsert_case_files(
            session=session,
            rows=[
                {"person_id": "p7", "as_of": night(1).isoformat(), "content": {"version": 1, "n": "again"}}
            ],
        )
    assert count == 1
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(CaseFile)) == 1200
    found = session.get(CaseFile, "p7")
    assert found is not None
    assert (found.as_of, found.content) == (night(1), {"version": 1, "n": "again"})


def test_the_retention_rule_deletes_case_files_no_open_item_needs_once_they_are_old_enough(
    session_factory: sessionmaker[Session], session: Session, config: Config, make_user: MakeUser
) -> None:
    keep_for = 30
    config = config.model_copy(
        update={"routing": config.routing.model_copy(update={"case_file_retention_days": keep_for})}
    )
    frame = candidates(("a", 0.9, "Riverside"), ("b", 0.8, "Riverside"))
    start = -(keep_for + 10)
    route(
        session_factory, config, start, frame, case_files=case_files(night(start), ("a", None), ("b", None))
    )
    # b's review closes; a's stays open (and a is a candidate again every night).
    closed = session.scalar(select(ReviewItem).where(ReviewItem.person_id == "b"))
    assert closed is not None
    worker = make_user("cw", locality="Riverside")
    claim_item(session=session, item_id=closed.id, user=worker)
    record_outcome(session=session, item_id=closed.id, user=worker, outcome="help_offered")
    # An old file of a person with no item at all (an id linkage has since retired).
    with write_transaction(session):
        upsert_case_files(
            session=session, rows=[{"person_id": "retired", "as_of": night(start), "content": {}}]
        )

    only_a = candidates(("a", 0.9, "Riverside"))
    # Exactly the retention period after b's file was written: still kept.
    route(
        session_factory,
        config,
        start + keep_for,
        only_a,
        case_files=case_files(night(start + keep_for), ("a", None)),
    )
    assert set(stored_nights(session)) == {"a", "b", "retired"}
    # Later, b's and the retired id's files go; a's is as old, but a's item is still open.
    summary = route_night(
        session_factory=session_factory,
        as_of=night(start + 2 * keep_for + 5),
        candidates=only_a,
        config=config,
        model_version="rules-v1",
    )
    assert summary.case_files_deleted == 2
    assert stored_nights(session) == {"a": night(start + keep_for)}
    deleted = session.scalars(select(AuditEntry).where(AuditEntry.action == "case_files_deleted")).all()
    assert [entry.detail for entry in deleted] == [
        {"as_of": night(start + 2 * keep_for + 5).isoformat(), "deleted": 2, "retention_days": keep_for}
    ]
    assert deleted[0].person_id is None  # the log does not name whose details went
    # The closed item, its outcome and its reasons are kept; only the personal details went.
    session.expire_all()
    kept = session.get(ReviewItem, closed.id)
    assert kept is not None
    assert (kept.status, kept.outcome) == ("closed", "help_offered")


def stored_nights(session: Session) -> dict[str, date]:
    """person_id -> the night their case file was last written."""
    session.rollback()
    session.expire_all()
    return {f.person_id: f.as_of for f in session.scalars(select(CaseFile).order_by(CaseFile.person_id))}
