"""Requests refused before a page can check them: the app's own answer, never the input back.

FastAPI answers a field over its ``max_length`` (or a path that is not a
number) with JSON repeating what was sent: a 50,000-character note came back
as a 50 KB 422, on an HTML form. People get the app's error page naming the
field and its limit; the JSON API keeps its 422 without the input; a method a
page does not take is a 405 that says which methods it does (``Allow``).
"""

from __future__ import annotations

from tests.review_ui.web.conftest import Web, csrf_from
from tests.review_ui.web.test_api import csrf_header
from tests.review_ui.web.test_queue_page import claim, item

#: A note far past any limit, easy to spot if it comes back.
HUGE_NOTE = "NOTEWORD " * 5600  # 50,400 characters


def test_an_overlong_note_gets_the_error_page_naming_the_field_and_its_limit(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    casey = web.sign_in("casey")
    claim(casey, first)
    token = csrf_from(casey.get(f"/items/{first}").text)
    response = casey.post(
        f"/items/{first}/outcome",
        data={"csrf_token": token, "outcome": "help_offered", "note": HUGE_NOTE},
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert '<h1 class="govuk-heading-l">Sorry, there is a problem with what you sent</h1>' in response.text
    assert "What matters to the person, and what happened must be 2,000 characters or fewer" in response.text
    assert "NOTEWORD" not in response.text
    assert len(response.content) < 20_000
    assert item(web, first).outcome is None  # nothing was recorded


def test_a_path_that_is_not_a_number_gets_the_error_page(web: Web) -> None:
    response = web.sign_in("casey").get("/items/not-a-number")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "not-a-number" not in response.text


def test_the_api_refuses_an_overlong_note_without_echoing_it(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    casey = web.sign_in("casey")
    claim(casey, first)
    response = casey.post(
        f"/api/items/{first}/outcome",
        json={"outcome": "help_offered", "note": HUGE_NOTE},
        headers=csrf_header(casey),
    )
    assert response.status_code == 422
    assert "NOTEWORD" not in response.text
    assert len(response.content) < 2_000
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "note"]
    assert error["type"] == "string_too_long"
    assert "2000 characters" in error["msg"]
    assert "input" not in error


def test_a_method_a_page_does_not_take_is_405_with_allow(web: Web) -> None:
    casey = web.sign_in("casey")
    first = web.world.items["Northgate"][0]
    page = casey.put(f"/items/{first}/outcome")
    assert page.status_code == 405
    assert page.headers["allow"] == "POST"
    assert page.headers["content-type"].startswith("text/html")
    api = casey.delete("/api/items")
    assert api.status_code == 405
    assert api.headers["allow"] == "GET"
    assert api.json() == {"detail": "Method Not Allowed"}
