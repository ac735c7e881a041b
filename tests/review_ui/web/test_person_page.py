"""The person page: what it shows, who may see it, recording an outcome and reassigning.

Every test runs on SQLite and PostgreSQL (the ``web`` fixture).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from early_warning.config import load_wording
from review_ui.store import CaseFile, ReviewOutcome
from review_ui.web import create_app
from tests.review_ui.web.conftest import Web, assert_page_keeps_the_rules, csrf_from, web_settings
from tests.review_ui.web.test_queue_page import audit, claim, item
from tests.support.review_app import AS_OF, build_world, review_item


def record(client: TestClient, item_id: int, **form: str) -> object:
    token = csrf_from(client.get(f"/items/{item_id}").text)
    return client.post(
        f"/items/{item_id}/outcome", data={"csrf_token": token, **form}, follow_redirects=False
    )


def test_the_person_page_shows_why_who_contacts_household_and_evidence(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    response = web.sign_in("casey").get(f"/items/{first}")
    assert response.status_code == 200
    html = response.text
    assert_page_keeps_the_rules(html)
    assert f'<h1 class="govuk-heading-l">Item {first}</h1>' in html
    assert f"<title>Item {first} –" in html  # no name in the title (it shows in browser history)
    for heading in (
        "Why this person is here",
        "Key facts",
        "Contact with council services",
        "Who else is involved",
        "Household",
        "Why the records were joined",
        "Earlier reviews",
    ):
        assert re.search(f'<h2 class="govuk-heading-m"[^>]*>{heading}</h2>', html), heading
    # Why: the reasons and the dates.
    assert '<li id="reason-2">Contacted 3 council services in the last 90 days.' in html
    assert "First found on 30 June 2026. Last checked on 30 June 2026." in html
    # Who: names and contact details from the case file.
    for detail in ("Jamie Example", "40 to 49", "12 Example Street, ZZ1 1ZZ", "07700 900123", "CT-N-1"):
        assert detail in html
    # The timeline, newest first, with services, dates and amounts (never a zero amount).
    rows = re.findall(
        r'<tr class="govuk-table__row app-timeline__row[^"]*" id="entry-\d+"[^>]*>\s*<td[^>]*>.*?</td>\s*<td class="govuk-table__cell">\s*([^<]+?)\s*<',
        html,
        re.S,
    )
    assert rows == [
        "Missed a council tax instalment",
        "Enquiry to the contact centre",
        "Missed a rent payment",
    ]
    assert '<time datetime="2026-06-20">20 June 2026</time>' in html
    assert "(Council tax, £120.50)" in html
    assert "Housing rent" in html
    assert "£0.00" not in html
    # The chart: an SVG with a description, and the same figures as a table.
    svg = re.search(r"<svg class=\"app-chart\"[^>]*>", html)
    assert svg
    assert 'role="img"' in svg.group(0)
    assert (
        'aria-label="Bar chart of contacts per month by service, July 2025 to June 2026. 3 contacts in all'
        in html
    )
    assert "Show the figures as a table" in html
    assert "Contacts per month by service" in html
    # The household, described and not named, and not their services unless opened.
    assert "Adult aged 30 to 39" in html
    assert "known to Housing rent" not in html
    assert f'href="/items/{first}/household"' in html
    # Why the records were joined: in words, with no weight or percentage.
    assert "Council tax CT-N-1 and Contact centre CC-N-1" in html
    assert "+7.2" not in html
    assert "%</p>" not in html
    # Nothing to act on but the claim.
    assert f'action="/items/{first}/claim"' in html
    assert "/outcome" not in html
    assert "/reassign" not in html


def test_every_view_of_a_person_is_audited(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    web.sign_in("casey").get(f"/items/{first}")
    entry = audit(web, "person_viewed")[-1]
    assert (entry.actor, entry.item_id, entry.person_id) == ("casey", first, "N-1")
    assert entry.source == "testclient"


def test_a_person_without_a_case_file_yet_says_so(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    with web.app.state.session_factory() as db:
        db.execute(delete(CaseFile).where(CaseFile.person_id == "N-1"))
        db.commit()
    html = web.sign_in("casey").get(f"/items/{first}").text
    assert "The details for this person have not been prepared yet." in html
    assert "Missed 2 council tax instalments since 3 May 2026." in html
    assert "Jamie Example" not in html


def test_a_closed_review_whose_case_file_was_deleted_says_it_is_no_longer_kept(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    casey = web.sign_in("casey")
    claim(casey, first)
    assert record(casey, first, outcome="declined").status_code == 303  # type: ignore[attr-defined]
    with web.app.state.session_factory() as db:
        db.execute(delete(CaseFile).where(CaseFile.person_id == "N-1"))  # as the retention rule does
        db.commit()
    html = casey.get(f"/items/{first}").text
    assert "The details for this person are no longer kept." in html
    assert "not been prepared yet" not in html
    assert "Missed 2 council tax instalments since 3 May 2026." in html  # the reasons stay
    assert "Jamie Example" not in html


def test_an_item_of_another_locality_is_not_found_and_the_attempt_is_audited(web: Web) -> None:
    riverside = web.world.items["Riverside"][0]
    response = web.sign_in("casey").get(f"/items/{riverside}")
    assert response.status_code == 404
    assert "Jamie Example" not in response.text
    refused = audit(web, "item_view_refused")[-1]
    assert refused.actor == "casey"
    assert refused.item_id == riverside
    assert web.sign_in("casey").get("/items/99999999999").status_code == 404
    assert audit(web, "item_view_refused")[-1].detail == {"requested_item_id": 99999999999}
    # A team lead sees the "No known address" list's items; a caseworker does not.
    unknown = web.world.items["unknown"][0]
    assert web.sign_in("tess").get(f"/items/{unknown}").status_code == 200
    assert web.sign_in("casey").get(f"/items/{unknown}").status_code == 404
    assert web.sign_in("ada").get(f"/items/{unknown}").status_code == 403


def test_the_outcome_form_offers_the_five_outcomes_to_the_reviewer_only(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    casey = web.sign_in("casey")
    claim(casey, first)
    html = casey.get(f"/items/{first}").text
    assert f'action="/items/{first}/outcome"' in html
    for label in ("Help offered", "Already supported", "No help needed", "Could not reach", "Declined"):
        assert re.search(
            rf'<label class="govuk-label govuk-radios__label" for="outcome(-\d)?">\s*{label}', html
        )
    assert html.count('class="govuk-hint govuk-radios__hint"') == 5
    assert "What matters to the person, and what happened" in html
    assert f'action="/items/{first}/release"' in html
    assert f'action="/items/{first}/outcome"' not in web.sign_in("cora").get(f"/items/{first}").text


def test_an_outcome_must_be_chosen_and_the_note_kept_short(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    casey = web.sign_in("casey")
    claim(casey, first)
    missing = record(casey, first, note="They asked for a call back on Monday")
    assert missing.status_code == 400
    assert "govuk-error-summary" in missing.text
    assert '<a href="#outcome">Select what happened</a>' in missing.text
    assert '<p id="outcome-error" class="govuk-error-message">' in missing.text
    assert "<title>Error: Item" in missing.text
    assert "They asked for a call back on Monday</textarea>" in missing.text  # what they wrote is kept
    too_long = record(casey, first, outcome="help_offered", note="x" * 2001)
    assert too_long.status_code == 400
    assert "2,000 characters or fewer" in too_long.text
    assert 'value="help_offered" checked' in too_long.text
    assert item(web, first).status == "in_review"


def test_recording_an_outcome_closes_the_item_with_the_note(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    casey = web.sign_in("casey")
    claim(casey, first)
    response = record(
        casey, first, outcome="help_offered", note="  Wants help with a council tax payment plan. "
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/queue?notice=recorded&item={first}"
    closed = item(web, first)
    assert closed.status == "closed"
    assert closed.outcome == "help_offered"
    with web.app.state.session_factory() as db:
        review = db.scalars(select(ReviewOutcome).where(ReviewOutcome.item_id == first)).one()
    assert review.note == "Wants help with a council tax payment plan."
    assert review.user_id == web.world.users["casey"].id
    page = casey.get(response.headers["location"]).text
    assert "govuk-notification-banner--success" in page
    assert f"Outcome recorded for item {first}" in page
    assert first not in [int(i) for i in re.findall(r'href="/items/(\d+)(?:\?[^"]*)?"', page)]


def test_an_outcome_cannot_be_recorded_without_claiming_first(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    casey = web.sign_in("casey")
    response = record(casey, first, outcome="declined")
    assert response.status_code == 303
    assert (
        f"No one is reviewing item {first} at the moment. Claim it first."
        in casey.get(response.headers["location"]).text
    )
    assert item(web, first).status == "new"


def test_earlier_reviews_of_the_same_person_are_shown(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    casey = web.sign_in("casey")
    claim(casey, first)
    record(casey, first, outcome="no_help_needed", note="Rang twice; managing with family's help")
    with web.app.state.session_factory() as db:
        again = review_item(
            "N-1",
            "Northgate",
            surfaced_on=date(2026, 9, 30),
            services=("housing_rent",),
            ward="Central",
            reasons=["Missed 3 rent payments since 1 August 2026."],
        )
        db.add(again)
        db.commit()
        again_id = again.id
    html = casey.get(f"/items/{again_id}").text
    assert f"Item {first}" in html
    assert "No help needed" in html
    assert "Rang twice; managing with family&#39;s help" in html
    assert "Casey Example" in html
    closed = casey.get(f"/items/{first}").text
    assert "Closed" in closed
    assert "No help needed" in closed
    assert "/outcome" not in closed
    assert f'action="/items/{first}/claim"' not in closed


def test_a_team_lead_can_give_an_item_to_someone_in_the_team(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    tess = web.sign_in("tess")
    page = tess.get(f"/items/{first}").text
    assert f'action="/items/{first}/reassign"' in page
    cora_id = web.world.users["cora"].id
    assert f'<option value="{cora_id}">Cora Example</option>' in page
    assert "Rivka" not in page
    response = tess.post(
        f"/items/{first}/reassign",
        data={"csrf_token": csrf_from(page), "to_user": str(cora_id)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert item(web, first).assigned_to_id == cora_id
    assert item(web, first).status == "in_review"
    assert f"Item {first} is now with Cora Example." in tess.get(response.headers["location"]).text
    assert audit(web, "item_reassigned")[-1].item_id == first
    # Nobody chosen, or someone from another team: an error, not a change.
    rivka_id = web.world.users["rivka"].id
    wrong = tess.post(
        f"/items/{first}/reassign", data={"csrf_token": csrf_from(page), "to_user": str(rivka_id)}
    )
    assert wrong.status_code == 400
    assert '<a href="#to_user">Select who should review this item</a>' in wrong.text
    assert item(web, first).assigned_to_id == cora_id


def test_a_caseworker_cannot_reassign(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    casey = web.sign_in("casey")
    page = casey.get(f"/items/{first}").text
    assert "/reassign" not in page
    response = casey.post(
        f"/items/{first}/reassign",
        data={"csrf_token": csrf_from(page), "to_user": str(web.world.users["cora"].id)},
    )
    assert response.status_code == 403
    assert item(web, first).status == "new"


def test_no_score_appears_on_the_person_page(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    casey = web.sign_in("casey")
    claim(casey, first)
    html = casey.get(f"/items/{first}").text
    score = item(web, first).score
    assert str(score) not in html
    assert f"{round(score * 100)}%" not in html
    assert "score" not in html.lower()


@pytest.fixture
def odd_names(database_url: str, tmp_path: Path) -> Iterator[Web]:
    settings = web_settings(tmp_path)
    app = create_app(settings, database_url=database_url)
    with app.state.session_factory() as db:
        world = build_world(db, names={"N-1": "<script>alert(1)</script>"})
    yield Web(app=app, world=world, settings=settings, database_url=database_url)
    app.state.engine.dispose()


def test_names_from_the_case_file_are_shown_as_text_not_run(odd_names: Web) -> None:
    first = odd_names.world.items["Northgate"][0]
    html = odd_names.sign_in("casey").get(f"/items/{first}").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_chart_counts_contacts_per_month_by_service() -> None:
    from review_ui.queue.case_file import TimelineEntry
    from review_ui.web.contact_chart import contact_chart

    timeline = [
        {"date": "2026-06-20", "service": "council_tax"},
        {"date": "2026-06-02", "service": "council_tax"},
        {"date": "2026-05-31", "service": "benefits"},
        {"date": "2025-06-30", "service": "benefits"},  # more than 12 months before: left out
        {"date": "2026-07-01", "service": "benefits"},  # after the night: left out
        {"date": "not a date", "service": "benefits"},
    ]
    chart = contact_chart(
        [TimelineEntry.model_validate(entry) for entry in timeline], as_of=AS_OF, wording=load_wording()
    )
    assert [s.label for s in chart.series] == ["Benefits", "Council tax"]
    assert chart.rows[0].month == date(2025, 7, 1)
    assert chart.rows[-1].month == date(2026, 6, 1)
    assert chart.rows[-1].counts == [0, 2]
    assert chart.rows[-2].counts == [1, 0]
    assert chart.total == 3
    assert "Busiest month: June 2026, with 2." in chart.description
    tallest = max(chart.bars, key=lambda bar: bar.height)
    assert tallest.y + tallest.height == chart.plot_bottom
