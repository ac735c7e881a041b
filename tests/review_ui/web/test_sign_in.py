"""Signing in and out through the real form, on both databases."""

from __future__ import annotations

from tests.review_ui.web.conftest import Web, csrf_from


def test_a_caseworker_signs_in_and_lands_on_their_list(web: Web) -> None:
    client = web.sign_in("casey")
    assert client.get("/api/me").json() == {
        "username": "casey",
        "role": "caseworker",
        "locality": "Northgate",
    }
    start = client.get("/", follow_redirects=False)
    assert start.headers["location"] == "/queue"


def test_a_wrong_password_says_the_same_as_an_unknown_user(web: Web) -> None:
    client = web.anonymous()
    token = csrf_from(client.get("/sign-in").text)
    wrong = client.post(
        "/sign-in", data={"username": "casey", "password": "not it at all", "csrf_token": token}
    )
    unknown = client.post(
        "/sign-in", data={"username": "nobody", "password": "not it at all", "csrf_token": token}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert "Enter a correct username and password" in wrong.text
    assert "Enter a correct username and password" in unknown.text
    assert client.get("/api/me").status_code == 401


def test_signing_out_ends_the_session_on_the_server(web: Web) -> None:
    client = web.sign_in("casey")
    stolen = dict(client.cookies)
    token = csrf_from(client.get("/accessibility").text)
    assert client.post("/sign-out", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    replay = web.anonymous()
    replay.cookies.update(stolen)
    assert replay.get("/api/me").status_code == 401
