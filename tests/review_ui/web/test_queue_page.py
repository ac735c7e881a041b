"""The review list: what a reviewer sees, filters, sort, pages, counts, claim and release.

Every test runs on SQLite and PostgreSQL (the ``web`` fixture).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from review_ui.store import AuditEntry, ReviewItem
from review_ui.web import create_app
from tests.review_ui.web.conftest import Web, assert_page_keeps_the_rules, csrf_from, web_settings
from tests.support.review_app import build_world

ITEM_LINK = re.compile(r'<a class="govuk-link" href="/items/(\d+)(?:\?back=[^"]*)?">Item \d+</a>')


def listed(html: str) -> list[int]:
    """The item ids in the list's rows, top to bottom."""
    return [int(found) for found in ITEM_LINK.findall(html)]


def count(html: str, label: str) -> int:
    found = re.search(rf'app-count__number">(\d+)</span> {label}', html)
    assert found, f"no count for {label!r}"
    return int(found.group(1))


def audit(web: Web, action: str) -> list[AuditEntry]:
    with web.app.state.session_factory() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def item(web: Web, item_id: int) -> ReviewItem:
    with web.app.state.session_factory() as db:
        found = db.get(ReviewItem, item_id)
        assert found is not None
        return found


def claim(client: TestClient, item_id: int, *, htmx: bool = False, return_to: str = "/queue") -> object:
    token = csrf_from(client.get("/queue").text)
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(
        f"/items/{item_id}/claim",
        data={"csrf_token": token, "return_to": return_to},
        headers=headers,
        follow_redirects=False,
    )


def test_a_caseworker_sees_their_own_localitys_list_in_priority_order(web: Web) -> None:
    response = web.sign_in("casey").get("/queue")
    assert response.status_code == 200
    assert_page_keeps_the_rules(response.text)
    assert '<h1 class="govuk-heading-l">Review list</h1>' in response.text
    assert listed(response.text) == web.world.items["Northgate"]
    assert "Missed 2 council tax instalments since 3 May 2026." in response.text
    assert "Council tax" in response.text
    assert "Contact centre" in response.text
    assert "30 June 2026" in response.text
    # A caseworker cannot switch to the "No known address" list, even by the address bar.
    assert "No known address" not in response.text
    other = web.sign_in("casey").get("/queue?locality=unknown")
    assert listed(other.text) == web.world.items["Northgate"]
    riverside = web.sign_in("rivka").get("/queue")
    assert listed(riverside.text) == web.world.items["Riverside"]


def test_the_list_shows_no_names_and_no_scores(web: Web) -> None:
    html = web.sign_in("casey").get("/queue").text
    assert "Jamie Example" not in html
    assert "ZZ1 1ZZ" not in html
    for item_id in web.world.items["Northgate"]:
        score = item(web, item_id).score
        assert str(score) not in html
        assert f"{round(score * 100)}%" not in html
    assert "score" not in html.lower()


def test_a_team_lead_can_switch_to_the_no_known_address_list(web: Web) -> None:
    client = web.sign_in("tess")
    own = client.get("/queue").text
    assert '<a class="moj-sub-navigation__link" href="/queue?locality=unknown">No known address</a>' in own
    assert listed(own) == web.world.items["Northgate"]
    unknown = client.get("/queue?locality=unknown").text
    assert listed(unknown) == web.world.items["unknown"]
    assert '<span class="govuk-caption-l">No known address</span>' in unknown
    # Riverside's team lead cannot open Northgate's list.
    assert listed(web.sign_in("rhys").get("/queue?locality=Northgate").text) == web.world.items["Riverside"]


def test_people_who_do_not_review_cannot_open_the_list(web: Web) -> None:
    assert web.sign_in("ada").get("/queue").status_code == 403
    assert web.sign_in("ann").get("/queue").status_code == 403
    assert web.anonymous().get("/queue", follow_redirects=False).status_code == 303


def test_every_view_of_the_list_is_audited_with_its_filters(web: Web) -> None:
    web.sign_in("tess").get("/queue?locality=unknown&ward=Harbour&sort=ward")
    entry = audit(web, "queue_viewed")[-1]
    assert entry.actor == "tess"
    assert entry.person_id is None
    assert entry.item_id is None
    assert entry.detail["locality"] == "unknown"
    assert entry.detail["filters"] == {
        "status": "open",
        "ward": "Harbour",
        "assigned": "anyone",
        "sort": "ward",
    }


def test_filters_narrow_the_list(web: Web) -> None:
    first, second, third = web.world.items["Northgate"]
    casey = web.sign_in("casey")
    cora = web.sign_in("cora")
    claim(casey, first)
    claim(cora, third)
    assert listed(casey.get("/queue?status=new").text) == [second]
    assert listed(casey.get("/queue?status=in_review").text) == [first, third]
    assert listed(casey.get("/queue?ward=Harbour").text) == [second]
    assert listed(casey.get("/queue?assigned=me").text) == [first]
    assert listed(casey.get("/queue?assigned=unassigned").text) == [second]
    cora_id = web.world.users["cora"].id
    by_cora = casey.get(f"/queue?assigned={cora_id}").text
    assert listed(by_cora) == [third]
    assert f'<option value="{cora_id}" selected>Cora Example</option>' in by_cora
    # Values the form never offers are ignored, not errors.
    assert listed(casey.get("/queue?status=archived&ward=Nowhere&assigned=999&sort=score").text) == [
        first,
        second,
        third,
    ]
    # No one in the list matches: say so.
    assert (
        "No one on this list matches these filters." in casey.get("/queue?ward=Harbour&status=in_review").text
    )


def test_the_list_sorts_by_waiting_time_and_by_ward(web: Web) -> None:
    first, second, third = web.world.items["Northgate"]
    with web.app.state.session_factory() as db:
        waiting = db.get(ReviewItem, third)
        assert waiting is not None
        waiting.first_surfaced_on = date(2026, 5, 1)
        db.commit()
    casey = web.sign_in("casey")
    assert listed(casey.get("/queue").text) == [first, second, third]
    longest = casey.get("/queue?sort=waiting").text
    assert listed(longest) == [third, first, second]
    assert "1 May 2026" in longest
    assert listed(casey.get("/queue?sort=ward").text) == [first, third, second]  # Central, then Harbour


@pytest.fixture
def long_list(database_url: str, tmp_path: Path) -> Iterator[Web]:
    """Twelve items per locality and pages of five."""
    settings = web_settings(tmp_path, page_size=5)
    app = create_app(settings, database_url=database_url)
    with app.state.session_factory() as db:
        world = build_world(db, items_per_locality=12)
    yield Web(app=app, world=world, settings=settings, database_url=database_url)
    app.state.engine.dispose()


def test_the_list_is_shown_a_page_at_a_time(long_list: Web) -> None:
    ids = long_list.world.items["Northgate"]
    casey = long_list.sign_in("casey")
    first = casey.get("/queue").text
    assert listed(first) == ids[:5]
    assert "12 people, showing 1 to 5" in first
    assert 'class="govuk-pagination' in first
    assert 'href="/queue?page=2" rel="next"' in first
    assert 'aria-current="page"' in first
    third = casey.get("/queue?page=3").text
    assert listed(third) == ids[10:]
    assert 'href="/queue?page=2" rel="prev"' in third
    # Page links keep the filters; a page past the end shows the last page.
    central = casey.get("/queue?ward=Central&page=2").text
    assert listed(central) == [i for n, i in enumerate(ids, 1) if n % 2][5:]
    assert "ward=Central&amp;page=1" not in central
    assert 'href="/queue?ward=Central"' in central
    assert listed(casey.get("/queue?page=99").text) == ids[10:]
    assert listed(casey.get("/queue?page=nonsense").text) == ids[:5]


def test_the_counts_say_how_many_are_waiting_in_review_and_with_me(web: Web) -> None:
    first, _, third = web.world.items["Northgate"]
    casey = web.sign_in("casey")
    claim(casey, first)
    claim(web.sign_in("cora"), third)
    html = casey.get("/queue").text
    assert (count(html, "waiting"), count(html, "in review"), count(html, "with you")) == (1, 2, 1)
    # htmx refreshes the counts on their own after a claim or release.
    counts = casey.get("/queue/counts").text
    assert count(counts, "waiting") == 1
    assert "<html" not in counts


def test_claiming_with_a_plain_form_redirects_back_to_the_list(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    casey = web.sign_in("casey")
    response = claim(casey, first, return_to="/queue?ward=Central&notice=released&item=2")
    assert response.status_code == 303
    assert response.headers["location"] == f"/queue?ward=Central&notice=claimed&item={first}"
    claimed = item(web, first)
    assert claimed.status == "in_review"
    assert claimed.assigned_to_id == web.world.users["casey"].id
    assert audit(web, "item_claimed")[-1].item_id == first
    page = casey.get(response.headers["location"]).text
    assert f"You are now reviewing item {first}." in page
    assert 'Release<span class="govuk-visually-hidden"> item' in page


def test_a_form_cannot_send_the_browser_to_another_site(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    response = claim(web.sign_in("casey"), first, return_to="https://evil.example/queue")
    assert response.headers["location"].startswith("/queue?")


def test_claiming_with_htmx_returns_just_the_updated_row(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    response = claim(web.sign_in("casey"), first, htmx=True)
    assert response.status_code == 200
    row = response.text.strip()
    assert row.startswith(f'<tr class="govuk-table__row" id="item-{first}">')
    assert "<html" not in row
    assert "<h1" not in row
    assert "In review" in row
    assert "You" in row
    assert f'hx-post="/items/{first}/release"' in row
    assert response.headers["HX-Trigger"] == "queue-changed"
    assert item(web, first).status == "in_review"


def test_a_second_claim_says_who_has_it_in_the_row_or_in_a_banner(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    claim(web.sign_in("casey"), first)
    cora = web.sign_in("cora")
    row = claim(cora, first, htmx=True)
    assert row.status_code == 200
    assert "govuk-error-message" in row.text
    assert f"Casey Example is already reviewing item {first}." in row.text
    plain = claim(cora, first)
    assert plain.status_code == 303
    assert plain.headers["location"] == f"/queue?notice=claim-failed&item={first}"
    page = cora.get(plain.headers["location"]).text
    assert "govuk-notification-banner" in page
    assert "There is a problem" in page
    assert page.count(f"Casey Example is already reviewing item {first}.") == 2  # the banner and the row
    assert item(web, first).assigned_to_id == web.world.users["casey"].id


def test_releasing_puts_an_item_back_and_only_the_reviewer_or_a_team_lead_can(web: Web) -> None:
    first, second, _ = web.world.items["Northgate"]
    casey = web.sign_in("casey")
    claim(casey, first)
    claim(casey, second)
    token = csrf_from(casey.get("/queue").text)
    released = casey.post(f"/items/{first}/release", data={"csrf_token": token}, follow_redirects=False)
    assert released.headers["location"] == f"/queue?notice=released&item={first}"
    assert item(web, first).status == "new"
    assert item(web, first).assigned_to_id is None
    assert (
        f"Item {first} is back on the list for anyone to claim."
        in casey.get(released.headers["location"]).text
    )

    cora = web.sign_in("cora")
    refused = cora.post(
        f"/items/{second}/release",
        data={"csrf_token": csrf_from(cora.get("/queue").text)},
        headers={"HX-Request": "true"},
    )
    assert "Only they or a team lead can release it." in refused.text
    assert item(web, second).status == "in_review"

    tess = web.sign_in("tess")
    lead = tess.post(
        f"/items/{second}/release",
        data={"csrf_token": csrf_from(tess.get("/queue").text)},
        headers={"HX-Request": "true"},
    )
    assert lead.status_code == 200
    assert f'hx-post="/items/{second}/claim"' in lead.text
    assert item(web, second).status == "new"


def test_claiming_needs_the_forms_token(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    response = web.sign_in("casey").post(f"/items/{first}/claim", data={"csrf_token": "wrong"})
    assert response.status_code == 403
    assert item(web, first).status == "new"


def test_an_item_of_another_locality_cannot_be_claimed_and_the_attempt_is_audited(web: Web) -> None:
    riverside = web.world.items["Riverside"][0]
    response = claim(web.sign_in("casey"), riverside)
    assert response.status_code == 404
    assert item(web, riverside).status == "new"
    refused = audit(web, "item_view_refused")[-1]
    assert refused.actor == "casey"
    assert refused.item_id == riverside


def test_a_team_lead_is_told_of_open_items_in_a_locality_nobody_works(web: Web) -> None:
    """Issue 17 row 15: with Riverside's caseworker and team lead switched off, its open
    items would sit unseen; every team lead's list says so (caseworkers' lists do not)."""
    from review_ui.store.users import set_user_active

    with web.app.state.session_factory() as db:
        for username in ("rivka", "rhys"):
            set_user_active(session=db, username=username, active=False, changed_by="ada")
    warned = web.sign_in("tess").get("/queue").text
    riverside = len(web.world.items["Riverside"])
    assert f"{riverside} open items are in a locality that no active caseworker or team lead works" in warned
    assert f"Riverside ({riverside})" in warned
    assert "no active caseworker or team lead" not in web.sign_in("casey").get("/queue").text
