"""The JSON API records the work as the person page's form does (issue 16).

"Could not reach" is a try to get in touch, not an outcome: through the form it keeps the item
open with its reviewer until they close it or the configured number of tries is reached. The
API used to close the item at once; these tests post the same things through both and compare.
Real app, real database (SQLite and PostgreSQL).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from review_ui.store import AuditEntry, ContactAttempt, ReviewItem, ReviewOutcome
from review_ui.web import create_app
from review_ui.web.routes.person import today
from tests.review_ui.web.conftest import Web, web_settings
from tests.review_ui.web.test_api import csrf_header
from tests.review_ui.web.test_queue_page import claim
from tests.review_ui.web.test_work_record_pages import post_outcome
from tests.support.review_app import build_world


def _state(web: Web, item_id: int) -> tuple[str, str | None, list[str], int]:
    """The item's status and outcome, its tries' channels, and how many outcomes were recorded."""
    with web.app.state.session_factory() as db:
        item = db.get(ReviewItem, item_id)
        assert item is not None
        channels = list(
            db.scalars(
                select(ContactAttempt.channel)
                .where(ContactAttempt.item_id == item_id)
                .order_by(ContactAttempt.id)
            )
        )
        outcomes = len(db.scalars(select(ReviewOutcome).where(ReviewOutcome.item_id == item_id)).all())
        return item.status, item.outcome, channels, outcomes


def _api(web: Web, username: str, item_id: int, body: dict[str, Any]) -> Any:
    client = web.sign_in(username)
    return client.post(f"/api/items/{item_id}/outcome", json=body, headers=csrf_header(client))


def test_could_not_reach_through_the_api_keeps_the_item_open_as_the_form_does(web: Web) -> None:
    by_form, by_api = web.world.items["Northgate"][0], web.world.items["Northgate"][1]
    casey = web.sign_in("casey")
    claim(casey, by_form)
    # The form: one try by phone keeps the item with casey.
    post_outcome(casey, by_form, outcome="could_not_reach", channel="phone", attempt_note="No answer")
    # The API, on a new item: claimed for casey, one try by phone, the item still open.
    response = _api(
        web, "casey", by_api, {"outcome": "could_not_reach", "channel": "phone", "attempt_note": "No answer"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["item_id"], body["status"], body["outcome"]) == (by_api, "in_review", "could_not_reach")
    assert (body["attempts"], body["max_attempts"]) == (1, 3)
    assert _state(web, by_api) == _state(web, by_form) == ("in_review", None, ["phone"], 0)
    with web.app.state.session_factory() as db:
        tried = db.scalars(select(ContactAttempt).where(ContactAttempt.item_id == by_api)).one()
        assert (tried.tried_on, tried.note) == (today(), "No answer")
    # The API's read of the item says it is still open.
    detail = web.sign_in("casey").get(f"/api/items/{by_api}").json()
    assert (detail["status"], detail["outcome"], detail["assigned_to"]) == ("in_review", None, "casey")

    # A second try that says "close it now": both close with "could not reach".
    post_outcome(casey, by_form, outcome="could_not_reach", channel="letter", close_now="yes")
    closed = _api(web, "casey", by_api, {"outcome": "could_not_reach", "channel": "letter", "close": True})
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["attempts"]) == ("closed", 2)
    expected = ("closed", "could_not_reach", ["phone", "letter"], 1)
    assert _state(web, by_api) == _state(web, by_form) == expected
    with web.app.state.session_factory() as db:
        actions = db.scalars(select(AuditEntry.action).where(AuditEntry.item_id == by_api)).all()
    assert actions.count("attempt_recorded") == 2
    assert actions.count("outcome_recorded") == 1


def test_the_api_refuses_a_try_the_form_would_refuse_and_changes_nothing(web: Web) -> None:
    item_id = web.world.items["Northgate"][0]
    future = (today() + timedelta(days=1)).isoformat()
    refused = [
        ({"outcome": "could_not_reach"}, "channel", "Select how you tried to get in touch"),
        (
            {"outcome": "could_not_reach", "channel": "phone", "tried_on": future},
            "tried_on",
            "The date you tried must be today or in the past",
        ),
        (
            {"outcome": "help_offered", "follow_up_on": "2020-01-01"},
            "follow_up_on",
            "The follow-up date must be today or in the future",
        ),
        (
            {"outcome": "help_offered", "strengths": ["Owns a yacht"]},
            "strengths",
            "Select strengths from the list",
        ),
    ]
    for body, field, message in refused:
        response = _api(web, "casey", item_id, body)
        assert response.status_code == 422, body
        assert {"loc": ["body", field], "msg": message, "type": "value_error"} in response.json()["detail"]
    for body in (
        {"outcome": "could_not_reach", "channel": "pigeon"},
        {"outcome": "help_offered", "close": "x"},
    ):
        assert _api(web, "casey", item_id, body).status_code == 422, body
    assert _state(web, item_id) == ("new", None, [], 0)


def test_the_configured_number_of_tries_closes_the_item_through_the_api(
    database_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "review_app.yaml").write_text("could_not_reach_attempts: 2\n")
    settings = web_settings(tmp_path, config=config)
    app = create_app(settings, database_url=database_url)
    with app.state.session_factory() as db:
        world = build_world(db)
    web = Web(app=app, world=world, settings=settings, database_url=database_url)
    item_id = world.items["Northgate"][0]
    try:
        first = _api(web, "casey", item_id, {"outcome": "could_not_reach", "channel": "email"}).json()
        assert (first["status"], first["attempts"], first["max_attempts"]) == ("in_review", 1, 2)
        second = _api(web, "casey", item_id, {"outcome": "could_not_reach", "channel": "home_visit"}).json()
        assert (second["status"], second["attempts"]) == ("closed", 2)
        assert _state(web, item_id) == ("closed", "could_not_reach", ["email", "home_visit"], 1)
    finally:
        app.state.engine.dispose()


def test_strengths_and_a_follow_up_date_through_the_api_are_kept_beside_the_outcome(web: Web) -> None:
    item_id = web.world.items["Northgate"][0]
    follow_up = today() + timedelta(days=14)
    response = _api(
        web,
        "casey",
        item_id,
        {
            "outcome": "help_offered",
            "note": "Booked a benefits check.",
            "strengths": ["Engages with services"],
            "other_strengths": "Cares for her mother",
            "follow_up_on": follow_up.isoformat(),
        },
    )
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["attempts"]) == ("closed", 0)
    with web.app.state.session_factory() as db:
        review = db.scalars(select(ReviewOutcome).where(ReviewOutcome.item_id == item_id)).one()
        assert review.note == "Booked a benefits check."
        assert review.strengths == ["Engages with services"]
        assert review.other_strengths == "Cares for her mother"
        assert review.follow_up_on == follow_up
