"""Where you are signed in (OWASP ASVS 5.0 7.5.2): a user sees their own open sessions and
ends them, one at a time or everywhere else; never anyone else's; no token on the page;
each view and each ending audited. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from fastapi.testclient import TestClient
from itsdangerous import URLSafeSerializer
from sqlalchemy import select, update

from review_ui.store import WebSession
from review_ui.store.tables import AuditEntry, utc_now
from review_ui.web.sessions import COOKIE_NAME, session_reference
from tests.review_ui.web.conftest import Web, csrf_from

REFERENCE = re.compile(r'name="session" value="([0-9a-f]+)"')


def _audit(web: Web, action: str) -> list[AuditEntry]:
    with web.app.state.session_factory() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def _stored_ids(web: Web) -> list[str]:
    with web.app.state.session_factory() as db:
        return list(db.scalars(select(WebSession.id)))


def test_the_page_lists_only_the_users_open_sessions_with_no_token_or_stored_id(web: Web) -> None:
    laptop = web.sign_in("casey")
    phone = web.sign_in("casey")
    web.sign_in("cora")  # someone else's session never shows
    ended = web.sign_in("casey")
    ended.post("/sign-out", data={"csrf_token": csrf_from(ended.get("/account/password").text)})

    page = phone.get("/account/sessions")
    assert page.status_code == 200
    assert page.text.count('<tr class="govuk-table__row" data-session=') == 2  # laptop and phone
    assert page.text.count("This session") == 1
    assert len(REFERENCE.findall(page.text)) == 1  # one other session to sign out of: the laptop's
    assert "testclient" in page.text  # from where (the test client's address)
    assert "Sign out everywhere else" in page.text
    for secret in [laptop.cookies[COOKIE_NAME], phone.cookies[COOKIE_NAME], *_stored_ids(web)]:
        assert secret not in page.text
    assert [(e.actor, e.detail) for e in _audit(web, "sessions_viewed")] == [("casey", {"open_sessions": 2})]


def test_a_user_signs_out_of_another_of_their_sessions_and_it_ends(web: Web) -> None:
    laptop = web.sign_in("casey")
    phone = web.sign_in("casey")
    page = phone.get("/account/sessions").text
    (laptops,) = REFERENCE.findall(page)
    response = phone.post(
        "/account/sessions/end",
        data={"csrf_token": csrf_from(page), "session": laptops},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/account/sessions?ended=one"
    assert laptop.get("/api/me").status_code == 401
    assert phone.get("/api/me").status_code == 200
    after = phone.get("/account/sessions?ended=one").text
    assert "You have been signed out of that session." in after
    assert "You are not signed in anywhere else." in after
    assert [e.actor for e in _audit(web, "session_ended")] == ["casey"]


def test_a_user_cannot_end_someone_elses_session_or_their_own_current_one_here(web: Web) -> None:
    cora = web.sign_in("cora")
    casey = web.sign_in("casey")
    token = csrf_from(casey.get("/account/sessions").text)
    coras = session_reference(_stored_id(web, cora))
    for reference in [coras, session_reference(_stored_id(web, casey)), "0" * 24, "not a reference"]:
        refused = casey.post("/account/sessions/end", data={"csrf_token": token, "session": reference})
        assert refused.status_code == 404
    assert cora.get("/api/me").status_code == 200
    assert casey.get("/api/me").status_code == 200  # this session ends with "Sign out", not here
    assert not _audit(web, "session_ended")


def test_sign_out_everywhere_else_ends_every_other_session_and_keeps_this_one(web: Web) -> None:
    others = [web.sign_in("casey") for _ in range(3)]
    cora = web.sign_in("cora")
    here = web.sign_in("casey")
    token = csrf_from(here.get("/account/sessions").text)
    response = here.post("/account/sessions/end-others", data={"csrf_token": token}, follow_redirects=False)
    assert response.headers["location"] == "/account/sessions?ended=others"
    assert [client.get("/api/me").status_code for client in others] == [401, 401, 401]
    assert here.get("/api/me").status_code == 200
    assert cora.get("/api/me").status_code == 200
    (entry,) = _audit(web, "session_ended")
    assert entry.detail == {"sessions_ended": 3, "everywhere_else": True}


def test_timed_out_sessions_are_not_listed(web: Web) -> None:
    old = web.sign_in("casey")
    here = web.sign_in("casey")
    with web.app.state.session_factory() as db, db.begin():
        stale = utc_now() - web.app.state.sessions.idle - timedelta(minutes=1)
        db.execute(
            update(WebSession).where(WebSession.id != _stored_id(web, here)).values(last_seen_at=stale)
        )
    assert "You are not signed in anywhere else." in here.get("/account/sessions").text
    assert old.get("/api/me").status_code == 401


def _stored_id(web: Web, client: TestClient) -> str:
    """The id the server stores for a client's session: the SHA-256 of the cookie's token."""
    token = URLSafeSerializer(web.settings.secret_key.get_secret_value(), salt="early-warning-session").loads(
        client.cookies[COOKIE_NAME]
    )
    return hashlib.sha256(token.encode()).hexdigest()
