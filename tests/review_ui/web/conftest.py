"""The review app on a real, migrated database (SQLite and PostgreSQL), and signed-in clients.

``web`` builds the app on the ``database_url`` of tests/review_ui/conftest.py
(so every test runs on both databases), fills it with
:func:`tests.support.review_app.build_world`, and ``sign_in(username)``
returns a TestClient signed in through the real sign-in form.

Every page any test here receives is checked by ``every_page_keeps_the_rules``
(autouse, as GOV.UK Notify's ``client_request`` does): one ``<h1>``, a
``<title>`` that starts with it, no id used twice, every form with an action,
no inline style, no script the Content Security Policy would block, and no
raw ``None`` ("Last contact: None"). A test
cannot forget it, and a page that breaks a rule fails every test that opens it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from early_warning.settings import Settings
from review_ui.web import create_app
from tests.support.review_app import PASSWORD, ReviewWorld, build_world

#: "None" on its own or as the value after a colon: a Python None that reached the page
#: (English "None recorded" is fine).
RAW_NONE = re.compile(r"(^|:\s*)None$")


class _PageOutline(HTMLParser):
    """What the page rules look at: headings, the title, ids and forms."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.h1: list[str] = []
        self.title = ""
        self.ids: list[str] = []
        self.forms_without_action = 0
        self._open: str | None = None
        self._text: list[str] = []
        #: Text nodes that are a raw Python ``None`` ("None", "Last contact: None", "Locality: None").
        self.raw_nones: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.append(str(found["id"]))
        if tag == "form" and not found.get("action"):
            self.forms_without_action += 1
        if tag == "h1" or (tag == "title" and not self.title):  # an SVG's titles are not the page's
            self._open, self._text = tag, []

    def handle_endtag(self, tag: str) -> None:
        if tag == self._open:
            text = " ".join("".join(self._text).split())
            if tag == "h1":
                self.h1.append(text)
            else:
                self.title = text
            self._open = None

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if RAW_NONE.search(text):
            self.raw_nones.append(text[:80])
        if self._open:
            self._text.append(data)


@dataclass
class PageProblems:
    problems: list[str] = field(default_factory=list)

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)


def page_problems(html: str) -> list[str]:
    """What is wrong with a whole page (empty when nothing is): the rules every page keeps."""
    outline = _PageOutline()
    outline.feed(html)
    found = PageProblems()
    found.check(len(outline.h1) == 1, f"{len(outline.h1)} <h1> headings, not one: {outline.h1}")
    heading = outline.h1[0] if outline.h1 else ""
    title = outline.title.removeprefix("Error: ")
    found.check(
        bool(heading) and title.startswith(heading),
        f"title {outline.title!r} does not start with the h1 {heading!r}",
    )
    found.check(not outline.raw_nones, f"a raw None on the page: {outline.raw_nones}")
    repeated = sorted({i for i in outline.ids if outline.ids.count(i) > 1})
    found.check(not repeated, f"ids used more than once: {repeated}")
    found.check(
        outline.forms_without_action == 0, f"{outline.forms_without_action} form(s) without an action"
    )
    found.check('style="' not in html and "<style" not in html, "an inline style (the CSP blocks it)")
    scripts = re.findall(r"<script[^>]*>", html)
    found.check(
        all("src=" in tag or "nonce=" in tag for tag in scripts), "a script without a file or the nonce"
    )
    return found.problems


def assert_page_keeps_the_rules(html: str) -> None:
    """One h1 the title starts with, unique ids, forms with actions, no inline style or blocked script."""
    problems = page_problems(html)
    assert not problems, "\n".join(problems)


def _is_whole_page(response: Any) -> bool:
    """An HTML page (not JSON, a redirect or an HTMX fragment, which has no <html>)."""
    return "text/html" in response.headers.get("content-type", "") and "<html" in response.text


@pytest.fixture(autouse=True)
def every_page_keeps_the_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Check every whole page a test client receives here (:func:`page_problems`)."""
    request = TestClient.request

    def checked(client: TestClient, *args: Any, **kwargs: Any) -> Any:
        response = request(client, *args, **kwargs)
        if _is_whole_page(response):
            problems = page_problems(response.text)
            assert not problems, f"{response.request.method} {response.request.url}: " + "; ".join(problems)
        return response

    monkeypatch.setattr(TestClient, "request", checked)


CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    found = CSRF_INPUT.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in_client(app: FastAPI, username: str, password: str = PASSWORD) -> TestClient:
    client = TestClient(app, base_url="http://testserver")
    token = csrf_from(client.get("/sign-in").text)
    response = client.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf_token": token, "next": ""},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


@dataclass
class Web:
    app: FastAPI
    world: ReviewWorld
    settings: Settings
    database_url: str

    def sign_in(self, username: str) -> TestClient:
        return sign_in_client(self.app, username)

    def anonymous(self) -> TestClient:
        return TestClient(self.app, base_url="http://testserver")


def web_settings(home: Path, **overrides: object) -> Settings:
    return Settings(home=home, secret_key="test-secret-key-not-for-production", **overrides)  # type: ignore[arg-type]


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[Web]:
    settings = web_settings(tmp_path)
    app = create_app(settings, database_url=database_url)
    with app.state.session_factory() as db:
        world = build_world(db)
    yield Web(app=app, world=world, settings=settings, database_url=database_url)
    app.state.engine.dispose()


MakeWeb = Callable[..., Web]
