"""The review app on a real, migrated database (SQLite and PostgreSQL), and signed-in clients.

``web`` builds the app on the ``database_url`` of tests/review_ui/conftest.py
(so every test runs on both databases), fills it with
:func:`tests.support.review_app.build_world`, and ``sign_in(username)``
returns a TestClient signed in through the real sign-in form.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from early_warning.settings import Settings
from review_ui.web import create_app
from tests.support.review_app import PASSWORD, ReviewWorld, build_world

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
