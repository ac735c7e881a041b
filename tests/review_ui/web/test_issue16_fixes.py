"""Issue 16's fixes on the pages: the API's description behind sign-in and under the CSP,
"Back to the review list" keeping the filters, the chart in the page's font, "an administrator".

Every test runs on SQLite and PostgreSQL (the ``web`` fixture); every page these tests open is
also checked for a raw ``None`` (conftest's page rules).
"""

from __future__ import annotations

import re

from review_ui.web.reports import describe
from tests.review_ui.web.conftest import Web


def test_the_api_description_needs_sign_in(web: Web) -> None:
    anonymous = web.anonymous()
    assert anonymous.get("/api/openapi.json").status_code == 401
    docs = anonymous.get("/api/docs", follow_redirects=False)
    assert docs.status_code == 303
    assert docs.headers["location"].startswith("/sign-in?next=/api/docs")
    assert anonymous.get("/docs/oauth2-redirect").status_code == 404


def test_the_api_page_lists_every_operation_from_the_apps_own_files(web: Web) -> None:
    client = web.sign_in("ada")  # any signed-in role may read it
    document = client.get("/api/openapi.json").json()
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.text
    for path, operations in document["paths"].items():
        for method in operations:
            assert f"<code>{method.upper()} {path}</code>" in html
    # Nothing from elsewhere, and no inline script (the CSP would block it).
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert all(s.startswith(("/", "#", "data:")) and not s.startswith("//") for s in sources), sources
    assert "swagger" not in html.lower()
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_back_to_the_review_list_keeps_the_filters(web: Web) -> None:
    client = web.sign_in("casey")
    listing = client.get("/queue?sort=ward&ward=Central").text
    first = re.search(r'href="/items/(\d+)\?back=([^"]+)"', listing)
    assert first is not None, "the list's links carry the list's address"
    person = client.get(f"/items/{first.group(1)}?back={first.group(2)}").text
    assert '<a href="/queue?ward=Central&amp;sort=ward" class="govuk-back-link">' in person
    # A claim from the person page comes back to it with the list still remembered.
    assert re.search(r'name="return_to" value="/items/\d+\?back=', person)


def test_back_cannot_send_anyone_elsewhere(web: Web) -> None:
    client = web.sign_in("casey")
    item_id = web.world.items["Northgate"][0]
    for target in ("https://example.org/queue", "//example.org/queue", f"/items/{item_id}", "/audit"):
        page = client.get(f"/items/{item_id}", params={"back": target}).text
        assert '<a href="/queue" class="govuk-back-link">' in page


def test_the_chart_uses_the_pages_font(web: Web) -> None:
    item_id = web.world.items["Northgate"][0]
    html = web.sign_in("casey").get(f"/items/{item_id}").text
    svg = re.search(r'<svg class="app-chart"[^>]*>', html)
    assert svg is not None
    assert 'font-family="&#34;Helvetica Neue&#34;, Helvetica, Arial, sans-serif"' in svg.group(0)


def test_an_administrator_is_an_administrator() -> None:
    detail = {"username": "ada2", "role": "administrator"}
    assert describe("user_created", detail) == "Added ada2 as an administrator"
    assert describe("user_created", {"username": "c", "role": "caseworker"}) == "Added c as a caseworker"
    assert describe("user_created", {"username": "a", "role": "analyst"}) == "Added a as an analyst"
