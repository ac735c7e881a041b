"""The one read-only way from the queue to training: person id, dates, outcome word; never the note."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from early_warning.config import Config
from review_ui.routing import route_night
from review_ui.store import ReviewItem, claim_item, record_outcome
from review_ui.store.training_outcomes import COLUMNS, read_only_engine, read_review_outcomes

from .conftest import MakeUser, candidates, night


def _closed(
    factory: sessionmaker[Session], session: Session, config: Config, make_user: MakeUser
) -> dict[str, str]:
    route_night(
        session_factory=factory,
        as_of=night(-3),
        candidates=candidates(("a", 0.9, "Northgate"), ("b", 0.8, "Northgate"), ("c", 0.7, "Northgate")),
        config=config,
        model_version="rules-v1",
    )
    worker = make_user("worker")
    words = {"a": "help_offered", "b": "could_not_reach"}
    for item in session.scalars(select(ReviewItem).order_by(ReviewItem.person_id)):
        if item.person_id in words:
            claim_item(session=session, item_id=item.id, user=worker)
            record_outcome(
                session=session,
                item_id=item.id,
                user=worker,
                outcome=words[item.person_id],
                note="Lives with her sister; worried about the boiler",
            )
    return words


def test_training_reads_each_review_as_person_dates_and_outcome_only(
    database_url: str,
    session_factory: sessionmaker[Session],
    session: Session,
    config: Config,
    make_user: MakeUser,
) -> None:
    words = _closed(session_factory, session, config, make_user)
    outcomes = read_review_outcomes(database_url)
    assert outcomes.schema == COLUMNS  # no note, no reviewer, no name
    assert dict(zip(outcomes["person_id"], outcomes["outcome"], strict=True)) == words
    assert set(outcomes["surfaced_on"]) == {night(-3)}
    assert set(outcomes["reviewed_on"]) == {night(-3)}  # the last night the item was on the list
    assert "boiler" not in repr(outcomes.to_dicts())


def test_the_training_connection_cannot_write(database_url: str, session: Session) -> None:
    session.commit()
    engine = read_only_engine(database_url)
    try:
        with pytest.raises(DBAPIError), engine.begin() as connection:
            connection.execute(text("DELETE FROM review_items"))
    finally:
        engine.dispose()


def test_no_queue_yet_means_no_outcomes(tmp_path: Path) -> None:
    outcomes = read_review_outcomes(f"sqlite:///{tmp_path / 'none.sqlite3'}")
    assert outcomes.is_empty()
    assert outcomes.schema == COLUMNS
    assert not (tmp_path / "none.sqlite3").exists()
