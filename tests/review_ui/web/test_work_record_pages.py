"""The record of the work, what changed and the precision sentence, on the list and person page.

Real app, real database (SQLite and PostgreSQL), the real forms posted without JavaScript.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from early_warning.cli import main
from review_ui.store import AuditEntry, ContactAttempt, ItemHistory, ReviewItem, ReviewOutcome
from review_ui.web import create_app
from tests.review_ui.web.conftest import Web, csrf_from, web_settings
from tests.review_ui.web.test_queue_page import claim, item
from tests.support.review_app import AS_OF, build_world


def post_outcome(client, item_id: int, **form: str | list[str]):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get(f"/items/{item_id}").text)
    return client.post(
        f"/items/{item_id}/outcome", data={"csrf_token": token, **form}, follow_redirects=False
    )


def test_could_not_reach_records_an_attempt_and_keeps_the_item_open(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    casey = web.sign_in("casey")
    claim(casey, first)
    page = casey.get(f"/items/{first}").text
    assert "If you could not reach them" in page
    assert "This is attempt 1 of 3." in page
    missing = post_outcome(casey, first, outcome="could_not_reach")
    assert missing.status_code == 400
    assert "Select how you tried to get in touch" in missing.text
    response = post_outcome(
        casey, first, outcome="could_not_reach", channel="phone", attempt_note="Rang twice, no answer"
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/items/{first}?notice=attempt-recorded&item={first}"
    assert item(web, first).status == "in_review"
    shown = casey.get(response.headers["location"]).text
    assert f"Try 1 to get in touch recorded for item {first}. The item stays with you." in shown
    assert "The work on this item" in shown
    assert "Tries to get in touch (1 of 3)" in shown
    assert "Rang twice, no answer" in shown
    assert "Casey Example" in shown
    assert "This is attempt 2 of 3." in shown
    # The list says so too.
    assert "1 try to get in touch" in casey.get("/queue").text
    # The reviewer closes it after the second try.
    closed = post_outcome(casey, first, outcome="could_not_reach", channel="letter", close_now="yes")
    assert closed.status_code == 303
    assert closed.headers["location"].startswith("/queue?notice=recorded")
    assert (item(web, first).status, item(web, first).outcome) == ("closed", "could_not_reach")
    with web.app.state.session_factory() as db:
        attempts = db.scalars(select(ContactAttempt.channel).where(ContactAttempt.item_id == first)).all()
        actions = db.scalars(select(AuditEntry.action).where(AuditEntry.item_id == first)).all()
    assert attempts == ["phone", "letter"]
    assert actions.count("attempt_recorded") == 2
    assert actions.count("outcome_recorded") == 1


def test_the_configured_number_of_attempts_closes_the_item(database_url: str, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "review_app.yaml").write_text("could_not_reach_attempts: 1\n")
    settings = web_settings(tmp_path, config=config)
    app = create_app(settings, database_url=database_url)
    with app.state.session_factory() as db:
        world = build_world(db)
    web = Web(app=app, world=world, settings=settings, database_url=database_url)
    first = web.world.items["Northgate"][0]
    casey = web.sign_in("casey")
    claim(casey, first)
    assert "This is attempt 1 of 1." in casey.get(f"/items/{first}").text
    response = post_outcome(casey, first, outcome="could_not_reach", channel="email")
    assert response.headers["location"].startswith("/queue?notice=recorded")
    assert item(web, first).status == "closed"
    app.state.engine.dispose()


def test_strengths_and_a_follow_up_are_recorded_and_shown_on_the_closed_item(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    casey = web.sign_in("casey")
    claim(casey, first)
    page = casey.get(f"/items/{first}").text
    assert 'name="strengths" type="checkbox" value="Engages with services"' in page
    follow_up = AS_OF + timedelta(days=400)
    bad = post_outcome(
        casey,
        first,
        outcome="help_offered",
        strengths=["Not on the list"],
        **{"follow_up-day": "31", "follow_up-month": "2", "follow_up-year": "2030"},
    )
    assert bad.status_code == 400
    assert "Select strengths from the list" in bad.text
    assert "The follow-up date must be a real date" in bad.text
    response = post_outcome(
        casey,
        first,
        outcome="help_offered",
        note="Wants help with the rent arrears",
        strengths=["Engages with services", "In work or training"],
        other_strengths="Volunteers at the food bank",
        **{
            "follow_up-day": str(follow_up.day),
            "follow_up-month": str(follow_up.month),
            "follow_up-year": str(follow_up.year),
        },
    )
    assert response.status_code == 303
    with web.app.state.session_factory() as db:
        review = db.scalars(select(ReviewOutcome).where(ReviewOutcome.item_id == first)).one()
    assert review.strengths == ["Engages with services", "In work or training"]
    assert review.follow_up_on == follow_up
    closed = casey.get(f"/items/{first}").text
    assert "Engages with services; In work or training; Volunteers at the food bank" in closed
    assert "Wants help with the rent arrears" in closed
    assert "Recorded by" in closed
    assert "Casey Example" in closed


def test_closed_and_done_by_me_views(web: Web) -> None:
    first, second = web.world.items["Northgate"][:2]
    casey, cora = web.sign_in("casey"), web.sign_in("cora")
    claim(casey, first)
    post_outcome(casey, first, outcome="no_help_needed")
    claim(cora, second)
    post_outcome(cora, second, outcome="already_supported")

    def listed(html: str) -> list[int]:
        return [int(i) for i in re.findall(r'href="/items/(\d+)(?:\?[^"]*)?">Item', html)]

    assert first not in listed(casey.get("/queue").text)
    everyone = casey.get("/queue?status=closed").text
    assert set(listed(everyone)) == {first, second}
    assert "Most recently closed first." in everyone
    assert "No help needed" in everyone
    assert "Already supported" in everyone
    mine = casey.get("/queue?status=done_by_me").text
    assert listed(mine) == [first]
    assert listed(cora.get("/queue?status=done_by_me").text) == [second]
    assert (
        "You have not closed any items on this list yet."
        in web.sign_in("tess").get("/queue?status=done_by_me").text
    )
    # No claim button on a closed item.
    assert f'action="/items/{first}/claim"' not in everyone


def test_new_and_changed_tags_on_the_list_and_the_change_on_the_person_page(web: Web) -> None:
    first, second = web.world.items["Northgate"][:2]
    before = AS_OF - timedelta(days=1)
    with web.app.state.session_factory() as db:
        db.execute(update(ReviewItem).where(ReviewItem.id == first).values(first_surfaced_on=before))
        for night, reasons, services in (
            (before, ["Missed 1 rent payment since 3 May 2026."], ["council_tax"]),
            (
                AS_OF,
                ["Missed 2 rent payments since 3 May 2026.", "Rent arrears up £290."],
                ["council_tax", "benefits"],
            ),
        ):
            db.add(
                ItemHistory(
                    item_id=first,
                    as_of=night,
                    person_id="N-1",
                    locality="Northgate",
                    score=0.5,
                    rank=1,
                    reasons=reasons,
                    services=services,
                    model_version="m",
                )
            )
        db.commit()
    casey = web.sign_in("casey")
    html = casey.get("/queue").text
    row = html[html.index(f'id="item-{first}"') :]
    row = row[: row.index("</tr>")]
    assert "Changed" in row
    # The list's one line: at most two changes, and how many more.
    assert (
        "Since 29 June 2026: missed 2 rent payments since 3 May 2026; rent arrears up £290; and 1 more" in row
    )
    other = html[html.index(f'id="item-{second}"') :]
    assert (
        'govuk-tag--green app-change-tag">New<span class="govuk-visually-hidden"> since last night'
        in other[: other.index("</tr>")]
    )
    person = casey.get(f"/items/{first}").text
    assert (
        "Since 29 June 2026: missed 2 rent payments since 3 May 2026; rent arrears up £290; "
        "now also known to Benefits" in person
    )


def test_the_precision_sentence_on_the_list_and_person_page(web: Web) -> None:
    casey = web.sign_in("casey")
    listing = casey.get("/queue").text
    assert (
        "Not enough reviews yet to say how often help follows here: none so far, and it takes 20." in listing
    )
    first = web.world.items["Northgate"][0]
    assert "Not enough reviews yet" in casey.get(f"/items/{first}").text


def test_config_check_refuses_a_bad_work_record_setting(tmp_path: Path) -> None:
    (tmp_path / "review_app.yaml").write_text("could_not_reach_attempts: 0\nprecision_minimum_reviews: 2\n")
    assert main(["config-check", "--config", str(tmp_path)]) == 2


def test_the_learning_weeks_count_back_from_the_night_not_todays_clock(web: Web) -> None:
    """The demo's night is 30 June 2026; outcomes recorded today still show, in that night's week."""
    from datetime import UTC, datetime

    from review_ui.store import RouteRun

    with web.app.state.session_factory() as db:
        db.add(
            RouteRun(
                as_of=AS_OF,
                model_version="m",
                candidates=3,
                new_items=3,
                updated_items=0,
                held_back_cooldown=0,
                over_capacity=0,
                merged_items=0,
                new_by_locality={"Northgate": 3},
            )
        )
        for n in range(5):
            db.add(
                ReviewItem(
                    person_id=f"L-{n}",
                    locality="Northgate",
                    status="closed",
                    score=0.5,
                    rank=n + 1,
                    reasons=["A reason."],
                    services_at_surfacing=["council_tax"],
                    services_last_scored=["council_tax"],
                    model_version="m",
                    first_surfaced_on=AS_OF,
                    last_scored_on=AS_OF,
                    outcome="help_offered",
                    closed_at=datetime.now(UTC),  # today's clock, months after the night
                )
            )
        db.commit()
    page = web.sign_in("tess").get("/learning").text
    weeks = re.findall(r"Week (\d+), (\d{4})", page)
    assert weeks[0] == ("27", "2026")  # the week of 30 June 2026 comes first, not December's
    first_row = page[page.index("Week 27, 2026") :]
    first_row = first_row[: first_row.index("</tr>")]
    assert re.findall(r">\s*(\d+)\s*<", first_row)[:3] == ["8", "5", "5"]
