"""The review app's defences, on SQLite and PostgreSQL.

- CSRF: every state-changing request without the session's token, or with a
  wrong one, is refused (403) and changes nothing; the sign-in form needs
  its own token tied to the browser's cookie.
- Sessions: a new session at every sign-in (a planted or earlier cookie is
  worthless afterwards), HttpOnly and SameSite cookies, idle and absolute
  time-outs, and a deactivated user's session stops working at once.
- Sign-in throttling: after N failures the right password is refused too
  (429), while another user from another address is unaffected.
- Headers: a strict CSP (no inline script or style, no framing), nosniff and
  no-store on pages.
- Escaping: a case file's text is shown as text, never run as script.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from review_ui.store import ItemStatus, ReviewItem, WebSession, set_user_active
from review_ui.store.tables import AuditEntry, utc_now
from review_ui.web import create_app
from review_ui.web.sessions import COOKIE_NAME
from tests.review_ui.web.conftest import Web, csrf_from, web_settings
from tests.support.review_app import PASSWORD, build_world, claim_as

SCRIPT_NAME = "<script>alert(1)</script>"


def sign_in_token(html: str) -> str:
    """The sign-in form's own token (a signed-in page also has the sign-out form's)."""
    return csrf_from(html.split('action="/sign-in"', 1)[1])


def page_token(client: TestClient) -> str:
    """The session's CSRF token, as a page gives it to the browser."""
    return csrf_from(client.get("/accessibility").text)


def session_rows(web: Web) -> list[WebSession]:
    with web.app.state.session_factory() as db:
        return list(db.scalars(select(WebSession).order_by(WebSession.created_at)))


def item_status(web: Web, item_id: int) -> str:
    with web.app.state.session_factory() as db:
        item = db.get(ReviewItem, item_id)
        assert item is not None
        return item.status


# --- CSRF -------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    """A state-changing request, and how to tell it did nothing."""

    name: str
    username: str
    path: Callable[[Web], str]
    #: form fields (or JSON body for the API) besides the token
    body: dict[str, Any]
    json: bool = False
    prepare: Callable[[Web], None] | None = None
    unchanged: Callable[[Web], bool] | None = None


def _northgate(n: int = 0) -> Callable[[Web], int]:
    return lambda web: web.world.items["Northgate"][n]


def _claimed_by_casey(web: Web) -> None:
    with web.app.state.session_factory() as db:
        claim_as(db, _northgate()(web), "casey")


def _still_signed_in(web: Web) -> bool:
    return all(row.ended_at is None for row in session_rows(web))


POSTS = [
    Post("sign-out", "casey", lambda web: "/sign-out", {}, unchanged=_still_signed_in),
    Post(
        "claim",
        "casey",
        lambda web: f"/items/{_northgate()(web)}/claim",
        {},
        unchanged=lambda web: item_status(web, _northgate()(web)) == ItemStatus.NEW,
    ),
    Post(
        "release",
        "casey",
        lambda web: f"/items/{_northgate()(web)}/release",
        {},
        prepare=_claimed_by_casey,
        unchanged=lambda web: item_status(web, _northgate()(web)) == ItemStatus.IN_REVIEW,
    ),
    Post(
        "outcome",
        "casey",
        lambda web: f"/items/{_northgate()(web)}/outcome",
        {"outcome": "help_offered", "note": "Called and offered help."},
        prepare=_claimed_by_casey,
        unchanged=lambda web: item_status(web, _northgate()(web)) == ItemStatus.IN_REVIEW,
    ),
    Post(
        "reassign",
        "tess",
        lambda web: f"/items/{_northgate()(web)}/reassign",
        {"to_user": "__cora__"},
        unchanged=lambda web: item_status(web, _northgate()(web)) == ItemStatus.NEW,
    ),
    Post(
        "add user",
        "ada",
        lambda web: "/users",
        {"username": "newbie", "display_name": "New Analyst", "role": "analyst", "password": PASSWORD},
    ),
    Post("deactivate user", "ada", lambda web: "/users/casey/deactivate", {}),
    Post(
        "API outcome",
        "casey",
        lambda web: f"/api/items/{_northgate()(web)}/outcome",
        {"outcome": "help_offered", "note": "Called and offered help."},
        json=True,
        prepare=_claimed_by_casey,
        unchanged=lambda web: item_status(web, _northgate()(web)) == ItemStatus.IN_REVIEW,
    ),
]


def _body(web: Web, post: Post) -> dict[str, Any]:
    body = dict(post.body)
    if body.get("to_user") == "__cora__":
        body["to_user"] = str(web.world.users["cora"].id)
    return body


def _send(client: TestClient, web: Web, post: Post, token: str | None) -> Any:
    body = _body(web, post)
    if post.json:
        headers = {"X-CSRF-Token": token} if token is not None else {}
        return client.post(post.path(web), json=body, headers=headers, follow_redirects=False)
    if token is not None:
        body["csrf_token"] = token
    return client.post(post.path(web), data=body, follow_redirects=False)


def _audit_actions(web: Web) -> list[str]:
    with web.app.state.session_factory() as db:
        return list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


@pytest.mark.parametrize("post", POSTS, ids=[post.name for post in POSTS])
def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(web: Web, post: Post) -> None:
    if post.prepare:
        post.prepare(web)
    client = web.sign_in(post.username)
    another_sessions_token = page_token(web.sign_in(post.username))
    before = _audit_actions(web)
    for token in (None, "", "not-the-token", another_sessions_token):
        response = _send(client, web, post, token)
        assert response.status_code == 403, (post.name, token, response.status_code, response.text[:300])
    assert _audit_actions(web) == before, "a refused request wrote to the audit log as if it had happened"
    if post.unchanged:
        assert post.unchanged(web)
    # The same request with the session's own token goes through.
    response = _send(client, web, post, page_token(client))
    assert response.status_code in (200, 201, 303), (post.name, response.status_code, response.text[:300])


def test_the_api_refuses_a_token_in_a_form_field_for_a_json_body(web: Web) -> None:
    """JSON requests must carry the header: a cross-site form cannot set it."""
    _claimed_by_casey(web)
    client = web.sign_in("casey")
    item = _northgate()(web)
    response = client.post(
        f"/api/items/{item}/outcome",
        data={"outcome": "help_offered", "csrf_token": page_token(client)},
        follow_redirects=False,
    )
    assert response.status_code in (403, 415, 422)
    assert item_status(web, item) == ItemStatus.IN_REVIEW


def test_sign_in_needs_the_forms_own_token(web: Web) -> None:
    client = web.anonymous()
    form = {"username": "casey", "password": PASSWORD}
    assert client.post("/sign-in", data=form, follow_redirects=False).status_code == 403
    assert (
        client.post("/sign-in", data={**form, "csrf_token": "x"}, follow_redirects=False).status_code == 403
    )
    # A token from another browser (another pre-sign-in cookie) is no good either.
    other = web.anonymous()
    stolen = csrf_from(other.get("/sign-in").text)
    client.get("/sign-in")
    assert (
        client.post("/sign-in", data={**form, "csrf_token": stolen}, follow_redirects=False).status_code
        == 403
    )
    # Without the pre-sign-in cookie at all.
    bare = web.anonymous()
    assert (
        bare.post("/sign-in", data={**form, "csrf_token": stolen}, follow_redirects=False).status_code == 403
    )
    assert client.get("/api/me").status_code == 401


# --- Sessions ---------------------------------------------------------------


def test_a_cookie_planted_before_sign_in_is_not_the_session_after_it(web: Web) -> None:
    attacker = web.sign_in("rivka")
    planted = attacker.cookies[COOKIE_NAME]
    victim = web.anonymous()
    victim.cookies.set(COOKIE_NAME, planted)
    token = sign_in_token(victim.get("/sign-in").text)
    response = victim.post(
        "/sign-in",
        data={"username": "casey", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.cookies[COOKIE_NAME] != planted
    victim.cookies.clear()
    victim.cookies.set(COOKIE_NAME, response.cookies[COOKIE_NAME])
    assert victim.get("/api/me").json()["username"] == "casey"
    # The planted session was ended, and it never became casey's.
    assert attacker.get("/api/me").status_code == 401


def test_every_sign_in_makes_a_new_session_and_ends_the_old_one(web: Web) -> None:
    client = web.sign_in("casey")
    first = client.cookies[COOKIE_NAME]
    token = sign_in_token(client.get("/sign-in").text)
    client.post(
        "/sign-in",
        data={"username": "casey", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    second = client.cookies[COOKIE_NAME]
    assert second != first
    old = web.anonymous()
    old.cookies.set(COOKIE_NAME, first)
    assert old.get("/api/me").status_code == 401
    assert client.get("/api/me").status_code == 200
    rows = session_rows(web)
    assert len(rows) == 2
    assert rows[0].ended_at is not None
    assert rows[1].ended_at is None
    assert rows[0].csrf_token != rows[1].csrf_token


def test_a_tampered_or_made_up_cookie_is_refused(web: Web) -> None:
    real = web.sign_in("casey").cookies[COOKIE_NAME]
    for forged in (real[:-2] + ("AA" if not real.endswith("AA") else "BB"), "x", "a" * 80):
        client = web.anonymous()
        client.cookies.set(COOKIE_NAME, forged)
        assert client.get("/api/me").status_code == 401
        assert client.get("/queue", follow_redirects=False).status_code == 303


def _set_cookie_headers(response: Any) -> list[str]:
    return [value for key, value in response.headers.multi_items() if key.lower() == "set-cookie"]


def test_cookies_are_http_only_and_same_site(web: Web) -> None:
    client = web.anonymous()
    form_page = client.get("/sign-in")
    (pre,) = _set_cookie_headers(form_page)
    assert pre.startswith("ew_sign_in=")
    assert "HttpOnly" in pre
    assert "SameSite=strict" in pre
    response = client.post(
        "/sign-in",
        data={"username": "casey", "password": PASSWORD, "csrf_token": csrf_from(form_page.text)},
        follow_redirects=False,
    )
    session_cookie = next(c for c in _set_cookie_headers(response) if c.startswith(f"{COOKIE_NAME}="))
    assert "HttpOnly" in session_cookie
    assert "SameSite=lax" in session_cookie
    assert "Path=/" in session_cookie
    assert "Secure" not in session_cookie  # cookie_secure is off for localhost


def test_cookies_are_secure_when_the_settings_say_so(database_url: str, tmp_path: Path) -> None:
    app = create_app(web_settings(tmp_path, cookie_secure=True), database_url=database_url)
    try:
        with app.state.session_factory() as db:
            build_world(db, items_per_locality=1)
        client = TestClient(app, base_url="https://testserver")
        form_page = client.get("/sign-in")
        response = client.post(
            "/sign-in",
            data={"username": "casey", "password": PASSWORD, "csrf_token": csrf_from(form_page.text)},
            follow_redirects=False,
        )
        cookies = _set_cookie_headers(form_page) + _set_cookie_headers(response)
        assert cookies
        assert all("Secure" in c for c in cookies if "Max-Age=0" not in c and '=""' not in c)
    finally:
        app.state.engine.dispose()


def _age_session(web: Web, *, idle: timedelta, age: timedelta) -> None:
    now = utc_now()
    with web.app.state.session_factory() as db, db.begin():
        db.execute(update(WebSession).values(last_seen_at=now - idle, created_at=now - age))


def test_a_session_idle_for_longer_than_the_setting_ends(web: Web) -> None:
    client = web.sign_in("casey")
    idle = timedelta(minutes=web.settings.session_idle_minutes)
    _age_session(web, idle=idle - timedelta(minutes=1), age=idle)
    assert client.get("/api/me").status_code == 200  # just inside: still signed in
    _age_session(web, idle=idle + timedelta(minutes=1), age=idle + timedelta(minutes=1))
    assert client.get("/api/me").status_code == 401
    page = client.get("/queue", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/sign-in")
    (row,) = session_rows(web)
    assert row.ended_at is not None
    # Ended means ended: making it look fresh again does not bring it back.
    _age_session(web, idle=timedelta(0), age=timedelta(minutes=1))
    assert client.get("/api/me").status_code == 401


def test_a_session_ends_after_the_absolute_time_out_however_busy(web: Web) -> None:
    client = web.sign_in("casey")
    absolute = timedelta(hours=web.settings.session_absolute_hours)
    _age_session(web, idle=timedelta(0), age=absolute - timedelta(minutes=1))
    assert client.get("/api/me").status_code == 200
    _age_session(web, idle=timedelta(0), age=absolute + timedelta(minutes=1))
    assert client.get("/api/me").status_code == 401


def test_a_page_view_keeps_an_active_session_alive(web: Web) -> None:
    client = web.sign_in("casey")
    idle = timedelta(minutes=web.settings.session_idle_minutes)
    _age_session(web, idle=idle - timedelta(minutes=2), age=idle)
    assert client.get("/api/me").status_code == 200
    (row,) = session_rows(web)
    assert utc_now() - row.last_seen_at < timedelta(minutes=1)


def test_a_deactivated_users_session_stops_working_at_once(web: Web) -> None:
    client = web.sign_in("casey")
    assert client.get("/api/me").status_code == 200
    with web.app.state.session_factory() as db:
        set_user_active(session=db, username="casey", active=False, changed_by="ada")
    assert client.get("/api/me").status_code == 401
    assert client.get("/queue", follow_redirects=False).status_code == 303
    # ... and they cannot sign in again.
    again = web.anonymous()
    assert (
        again.post(
            "/sign-in",
            data={
                "username": "casey",
                "password": PASSWORD,
                "csrf_token": csrf_from(again.get("/sign-in").text),
            },
            follow_redirects=False,
        ).status_code
        == 401
    )


def test_deactivating_through_the_users_page_ends_the_session_at_once(web: Web) -> None:
    casey = web.sign_in("casey")
    admin = web.sign_in("ada")
    response = admin.post(
        "/users/casey/deactivate", data={"csrf_token": page_token(admin)}, follow_redirects=False
    )
    assert response.status_code == 303, response.text[:300]
    assert casey.get("/api/me").status_code == 401
    assert casey.get("/api/items").status_code == 401


# --- Sign-in throttling -------------------------------------------------------


def _attempt(client: TestClient, username: str, password: str) -> Any:
    token = csrf_from(client.get("/sign-in").text)
    return client.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def test_repeated_failures_pause_sign_in_even_with_the_right_password(web: Web) -> None:
    attacker = TestClient(web.app, client=("203.0.113.7", 40000))
    limit = web.settings.sign_in_max_failures
    for _ in range(limit):
        assert _attempt(attacker, "casey", "wrong password, guessing").status_code == 401
    throttled = _attempt(attacker, "casey", PASSWORD)
    assert throttled.status_code == 429
    assert "Too many attempts to sign in" in throttled.text
    assert COOKIE_NAME not in attacker.cookies
    # The real casey, from her own desk, is paused too: the username is throttled.
    desk = TestClient(web.app, client=("198.51.100.20", 40000))
    assert _attempt(desk, "casey", PASSWORD).status_code == 429
    # Another user from another address is unaffected.
    other = TestClient(web.app, client=("198.51.100.21", 40000))
    assert _attempt(other, "cora", PASSWORD).status_code == 303
    # The attacker's address is paused for every username.
    assert _attempt(attacker, "rivka", PASSWORD).status_code == 429
    with web.app.state.session_factory() as db:
        actions = list(db.scalars(select(AuditEntry.action).where(AuditEntry.actor == "casey")))
    assert actions.count("sign_in_failed") == limit
    assert actions.count("sign_in_throttled") == 2


# --- Headers and escaping -------------------------------------------------------

PAGES = [
    ("anonymous", "/sign-in"),
    ("anonymous", "/accessibility"),
    ("casey", "/queue"),
    ("casey", "/items/{northgate}"),
    ("ada", "/audit"),
    ("ada", "/users"),
    ("ann", "/learning"),
    ("casey", "/api/items"),
    ("casey", "/items/999999"),
]


@pytest.mark.parametrize(("username", "path"), PAGES)
def test_pages_send_the_security_headers(web: Web, username: str, path: str) -> None:
    client = web.anonymous() if username == "anonymous" else web.sign_in(username)
    response = client.get(path.format(northgate=web.world.items["Northgate"][0]))
    assert response.status_code in (200, 404)
    headers = response.headers
    csp = headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["style-src"] == "'self'"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"


def test_every_inline_script_carries_the_pages_nonce(web: Web) -> None:
    client = web.sign_in("casey")
    response = client.get("/queue")
    nonce = response.headers["content-security-policy"].split("'nonce-")[1].split("'")[0]
    scripts = response.text.count("<script")
    assert scripts
    assert response.text.count(f'nonce="{nonce}"') == scripts
    # A fresh nonce on every response.
    assert nonce not in client.get("/queue").headers["content-security-policy"]


def test_static_files_may_be_cached_but_still_are_not_sniffed(web: Web) -> None:
    response = web.anonymous().get("/static/council.min.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("cache-control", "")
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.fixture
def web_with_script_name(database_url: str, tmp_path: Path) -> Iterator[Web]:
    settings = web_settings(tmp_path)
    app = create_app(settings, database_url=database_url)
    with app.state.session_factory() as db:
        world = build_world(db, names={"N-1": SCRIPT_NAME})
    yield Web(app=app, world=world, settings=settings, database_url=database_url)
    app.state.engine.dispose()


def test_a_case_file_name_is_shown_as_text_not_run(web_with_script_name: Web) -> None:
    web = web_with_script_name
    client = web.sign_in("casey")
    html = client.get(f"/items/{web.world.items['Northgate'][0]}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert SCRIPT_NAME not in html
    assert "<script>alert" not in html
    api = client.get(f"/api/items/{web.world.items['Northgate'][0]}")
    assert api.headers["content-type"].startswith("application/json")


def test_sign_in_never_redirects_off_site(web: Web) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        client = web.anonymous()
        token = csrf_from(client.get("/sign-in", params={"next": target}).text)
        response = client.post(
            "/sign-in",
            data={"username": "casey", "password": PASSWORD, "csrf_token": token, "next": target},
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/queue", target


# --- Secure cookies and cross-site requests (issue 17, row 12) ---------------


def test_cookies_are_secure_host_prefixed_and_hsts_sent_unless_served_on_loopback_only(
    database_url: str, tmp_path: Path
) -> None:
    """With no ``cookie_secure`` set, an app listening beyond loopback gets the safe cookies."""
    app = create_app(web_settings(tmp_path, host="0.0.0.0"), database_url=database_url)
    try:
        with app.state.session_factory() as db:
            build_world(db, items_per_locality=1)
        client = TestClient(app, base_url="https://testserver")
        form_page = client.get("/sign-in")
        assert form_page.headers["Strict-Transport-Security"] == "max-age=31536000"
        response = client.post(
            "/sign-in",
            data={"username": "casey", "password": PASSWORD, "csrf_token": csrf_from(form_page.text)},
            follow_redirects=False,
        )
        assert response.status_code == 303
        (pre,) = _set_cookie_headers(form_page)
        session_cookie = next(
            c for c in _set_cookie_headers(response) if c.startswith(f"__Host-{COOKIE_NAME}=")
        )
        for cookie in (pre, session_cookie):
            assert cookie.startswith("__Host-")
            assert "Secure" in cookie
            assert "Path=/" in cookie
            assert "Domain" not in cookie
        assert client.get("/api/me").status_code == 200
        # A plain-named cookie (planted by a sub-domain, say) is not this app's session.
        planted = TestClient(app, base_url="https://testserver")
        planted.cookies.set(COOKIE_NAME, client.cookies[f"__Host-{COOKIE_NAME}"])
        assert planted.get("/api/me").status_code == 401
    finally:
        app.state.engine.dispose()


def test_no_hsts_for_the_plain_http_app_on_loopback(web: Web) -> None:
    assert "Strict-Transport-Security" not in web.anonymous().get("/sign-in").headers


def test_a_post_from_another_site_is_refused_even_with_the_right_token(web: Web) -> None:
    client = web.sign_in("casey")
    token = page_token(client)
    for headers in (
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://attacker.example"},
        {"Origin": "null"},
    ):
        response = client.post(
            "/sign-out", data={"csrf_token": token}, headers=headers, follow_redirects=False
        )
        assert response.status_code == 403, headers
        assert client.get("/api/me").status_code == 200, "the session was not ended"
    anonymous = web.anonymous()
    form_page = anonymous.get("/sign-in")
    refused = anonymous.post(
        "/sign-in",
        data={"username": "casey", "password": PASSWORD, "csrf_token": csrf_from(form_page.text)},
        headers={"Sec-Fetch-Site": "cross-site"},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    # The app's own pages (same origin, or a browser that sends only Origin) go through.
    same = client.post(
        "/sign-out",
        data={"csrf_token": token},
        headers={"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert same.status_code == 303
