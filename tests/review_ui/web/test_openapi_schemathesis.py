"""Property-based tests of the JSON API from its own OpenAPI document (Schemathesis).

Schemathesis reads ``/api/openapi.json`` and sends generated requests -
valid and invalid - to every operation, signed in as a team lead (who may
use every API route) with the session's CSRF token. No request may make the
server fail (5xx), and every response must match the document. SQLite only,
and a bounded number of examples per operation, so it stays quick.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from review_ui.web import create_app
from review_ui.web.sessions import COOKIE_NAME
from tests.review_ui.web.conftest import csrf_from, sign_in_client, web_settings
from tests.support.review_app import ReviewWorld, build_world

MAX_EXAMPLES = 25
OPERATIONS = [
    ("GET", "/api/me"),
    ("GET", "/api/items"),
    ("GET", "/api/items/{item_id}"),
    ("POST", "/api/items/{item_id}/outcome"),
]


@pytest.fixture(scope="module")
def api_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, ReviewWorld]]:
    home = tmp_path_factory.mktemp("schemathesis")
    # One team lead sends every generated request: past the default limit on case files a
    # minute the item reads would be 429 (documented, and tested in test_case_file_rate_limit).
    config = home / "config"
    config.mkdir()
    (config / "review_app.yaml").write_text("case_file_reads_per_minute: 10000\n")
    app = create_app(
        web_settings(home, config=config), database_url=f"sqlite:///{home / 'review_queue.sqlite3'}"
    )
    with app.state.session_factory() as db:
        world = build_world(db, items_per_locality=5)
    yield app, world
    app.state.engine.dispose()


@pytest.fixture(scope="module")
def api_app(api_world: tuple[FastAPI, ReviewWorld]) -> FastAPI:
    return api_world[0]


@pytest.fixture(scope="module")
def api_schema(api_app: FastAPI, signed_in_headers: dict[str, str]) -> schemathesis.BaseSchema:
    # The document is for signed-in users only.
    return schemathesis.openapi.from_asgi("/api/openapi.json", api_app, headers=signed_in_headers)


@pytest.fixture(scope="module")
def signed_in_headers(api_app: FastAPI) -> dict[str, str]:
    """A team lead's session cookie and CSRF token, sent with every generated request."""
    client = sign_in_client(api_app, "tess")
    token = csrf_from(client.get("/privacy").text)
    return {"Cookie": f"{COOKIE_NAME}={client.cookies[COOKIE_NAME]}", "X-CSRF-Token": token}


def test_the_document_lists_every_api_operation(api_schema: schemathesis.BaseSchema) -> None:
    paths = api_schema.raw_schema["paths"]
    found = {(method.upper(), path) for path, operations in paths.items() for method in operations}
    assert found == set(OPERATIONS)


#: Every operation with valid input, and those that take input with invalid input too
#: (/api/me takes none, so there is nothing invalid to send it).
RUNS = [
    pytest.param(method, path, mode, id=f"{method} {path} {mode.value}")
    for method, path in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if not (path == "/api/me" and mode == GenerationMode.NEGATIVE)
]


@pytest.mark.parametrize(("method", "path", "mode"), RUNS)
def test_the_api_never_fails_and_matches_its_document(
    api_schema: schemathesis.BaseSchema,
    signed_in_headers: dict[str, str],
    method: str,
    path: str,
    mode: GenerationMode,
) -> None:
    operation = api_schema[path][method]
    excluded = [positive_data_acceptance] if path.endswith("/outcome") else []

    @hypothesis.settings(max_examples=MAX_EXAMPLES, database=None, deadline=None, derandomize=True)
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def check(case: schemathesis.Case) -> None:
        response = case.call_and_validate(headers=signed_in_headers, excluded_checks=excluded)
        assert response.status_code < 500
        assert '"score"' not in response.text
        if excluded and mode == GenerationMode.POSITIVE:
            assert_accepted_or_a_form_rule(response)

    check()


#: The outcome's rules that depend on the day or on the council's settings, which a JSON schema
#: cannot state (the document says them in words): a could_not_reach try needs a channel and
#: a day not in the future, a follow-up date is today or later, strengths come from the
#: configured list. The person page's form has the same rules (forms.work_form).
FORM_RULES = {"channel", "tried_on", "follow_up_on", "strengths"}


def assert_accepted_or_a_form_rule(response: Any) -> None:
    """A schema-valid outcome is accepted, or refused (422) only by one of :data:`FORM_RULES`."""
    if response.status_code != 422:
        assert response.status_code in (200, 401, 403, 404, 409, 429), response.text
        return
    problems = response.json()["detail"]
    assert problems, response.text
    assert {p["loc"][-1] for p in problems} <= FORM_RULES, response.text
    assert all(p["type"] == "value_error" for p in problems), response.text


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_items_the_user_can_see_answer_as_documented(
    api_world: tuple[FastAPI, ReviewWorld],
    api_schema: schemathesis.BaseSchema,
    signed_in_headers: dict[str, str],
    method: str,
) -> None:
    """Real item ids (most generated ids are simply not found): full answers, outcomes and conflicts."""
    _, world = api_world
    visible = world.items["Northgate"] + world.items["unknown"]
    path = "/api/items/{item_id}" + ("/outcome" if method == "POST" else "")
    operation = api_schema[path][method]
    cases = st.sampled_from(visible).flatmap(
        lambda item_id: operation.as_strategy(path_parameters={"item_id": item_id})
    )

    @hypothesis.settings(max_examples=MAX_EXAMPLES, database=None, deadline=None, derandomize=True)
    @hypothesis.given(case=cases)
    def check(case: schemathesis.Case) -> None:
        if method == "GET":
            response = case.call_and_validate(headers=signed_in_headers)
            assert response.status_code == 200, response.text
        else:
            response = case.call_and_validate(
                headers=signed_in_headers, excluded_checks=[positive_data_acceptance]
            )
            assert_accepted_or_a_form_rule(response)
            assert response.status_code in (200, 409, 422), response.text
        assert '"score"' not in response.text

    check()
