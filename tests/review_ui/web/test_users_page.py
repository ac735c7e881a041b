"""The users page: administrators add users and switch access off and on; every change is audited."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from review_ui.store import AuditEntry, User
from tests.review_ui.web.conftest import Web, csrf_from, sign_in_client

NEW_PASSWORD = "a long enough password"


def add_form(client: TestClient, **fields: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf_from(client.get("/users").text),
        "username": "nadia",
        "display_name": "Nadia Example",
        "role": "caseworker",
        "locality": "Riverside",
        "password": NEW_PASSWORD,
    }
    form.update(fields)
    return form


def audit(web: Web, action: str) -> list[AuditEntry]:
    with web.app.state.session_factory() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_only_administrators_manage_users(web: Web) -> None:
    for username in ("casey", "tess", "ann"):
        client = web.sign_in(username)
        assert client.get("/users").status_code == 403
        token = csrf_from(client.get("/privacy").text)
        assert client.post("/users", data={"csrf_token": token, "username": "x"}).status_code == 403
        assert client.post("/users/cora/deactivate", data={"csrf_token": token}).status_code == 403
    with web.app.state.session_factory() as db:
        assert db.scalars(select(User).where(User.username == "cora")).one().active


def test_the_list_shows_every_user(web: Web) -> None:
    page = web.sign_in("ada").get("/users").text
    for username in ("casey", "cora", "rivka", "tess", "rhys", "ada", "ann"):
        assert f">{username}</th>" in page
    assert "Team lead" in page
    assert "Analyst" in page
    assert "Administrator" in page
    assert "This is you" in page
    assert 'action="/users/casey/deactivate"' in page
    assert 'action="/users/ada/deactivate"' not in page
    assert '<option value="Eastfield">Eastfield</option>' in page  # from the council's configuration


def test_an_administrator_adds_a_user_who_can_then_sign_in(web: Web) -> None:
    client = web.sign_in("ada")
    response = client.post("/users", data=add_form(client), follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/users?added=nadia"
    assert "nadia has been added" in client.get(response.headers["location"]).text
    [entry] = audit(web, "user_created")[-1:]
    assert (entry.actor, entry.source) == ("ada", "testclient")
    assert entry.detail == {"username": "nadia", "role": "caseworker", "locality": "Riverside"}
    nadia = sign_in_client(web.app, "nadia", NEW_PASSWORD)
    assert nadia.get("/api/me").json() == {"username": "nadia", "role": "caseworker", "locality": "Riverside"}


def test_an_analyst_is_added_without_a_locality(web: Web) -> None:
    client = web.sign_in("ada")
    form = add_form(client, username="andy", role="analyst", locality="Riverside")
    assert client.post("/users", data=form, follow_redirects=False).status_code == 303
    with web.app.state.session_factory() as db:
        assert db.scalars(select(User).where(User.username == "andy")).one().locality is None


BAD_USERS: list[tuple[dict[str, str], str, str]] = [
    ({"username": ""}, "username", "Enter a username"),
    ({"username": "Casey Two"}, "username", "Username must be 2 to 64 characters"),
    ({"username": "casey"}, "username", "There is already a user with that username"),
    ({"display_name": " "}, "display_name", "Enter the person&#39;s name"),
    ({"role": "superuser"}, "role", "Select a role"),
    ({"locality": ""}, "locality", "Select the caseworker&#39;s locality"),
    ({"role": "team_lead", "locality": ""}, "locality", "Select the team lead&#39;s locality"),
    (
        {"locality": "unknown"},
        "locality",
        "Only a team lead can work the list of people with no known address",
    ),
    ({"password": "short"}, "password", "Password must be at least 15 characters"),
]


def test_invalid_input_shows_gov_uk_errors_and_adds_no_one(web: Web) -> None:
    client = web.sign_in("ada")
    for fields, field, message in BAD_USERS:
        response = client.post("/users", data=add_form(client, **fields))
        assert response.status_code == 400, fields
        assert "<title>Error: Users" in response.text
        assert "There is a problem" in response.text
        assert f'<a href="#{field}">{message}' in response.text
        assert f'id="{field}-error"' in response.text
        assert NEW_PASSWORD not in response.text  # a password is never sent back
        assert audit(web, "user_created")[-1].detail["username"] == "ann"  # the last of the world's users


def test_a_team_lead_can_have_the_unknown_list(web: Web) -> None:
    client = web.sign_in("ada")
    form = add_form(client, username="ursula", role="team_lead", locality="unknown")
    assert client.post("/users", data=form, follow_redirects=False).status_code == 303


def test_adding_a_user_needs_the_csrf_token(web: Web) -> None:
    client = web.sign_in("ada")
    form = add_form(client)
    form["csrf_token"] = "forged"
    assert client.post("/users", data=form).status_code == 403
    del form["csrf_token"]
    assert client.post("/users", data=form).status_code == 403
    with web.app.state.session_factory() as db:
        assert db.scalars(select(User).where(User.username == "nadia")).one_or_none() is None


def test_switching_access_off_ends_sessions_and_on_restores_it(web: Web) -> None:
    cora = web.sign_in("cora")
    assert cora.get("/api/me").status_code == 200
    admin = web.sign_in("ada")
    token = csrf_from(admin.get("/users").text)
    off = admin.post("/users/cora/deactivate", data={"csrf_token": token}, follow_redirects=False)
    assert (off.status_code, off.headers["location"]) == (303, "/users?changed=cora")
    assert "cora can no longer sign in" in admin.get("/users?changed=cora").text
    assert cora.get("/api/me").status_code == 401
    assert 'action="/users/cora/activate"' in admin.get("/users").text
    on = admin.post("/users/cora/activate", data={"csrf_token": token}, follow_redirects=False)
    assert on.status_code == 303
    assert web.sign_in("cora").get("/api/me").status_code == 200
    assert [(e.actor, e.detail) for e in audit(web, "user_deactivated")] == [("ada", {"username": "cora"})]
    assert [(e.actor, e.source) for e in audit(web, "user_activated")] == [("ada", "testclient")]


def test_an_administrator_cannot_switch_off_their_own_access(web: Web) -> None:
    client = web.sign_in("ada")
    token = csrf_from(client.get("/users").text)
    response = client.post("/users/ada/deactivate", data={"csrf_token": token})
    assert response.status_code == 400
    assert "You cannot switch off your own access" in response.text
    assert client.get("/api/me").status_code == 200
    assert client.post("/users/nobody/deactivate", data={"csrf_token": token}).status_code == 404
    assert client.post("/users/cora/deactivate", data={}).status_code == 403
