"""Sign-in, users and sessions after the local security test (issue 17), on both databases.

Each test here failed on the code before the fix it names: throttling raced
by parallel guesses (row 6), one address locking everyone out (row 7),
deactivation not ending sessions (row 9), usernames and passwords (row 10),
and what a failed sign-in writes to the audit log (row 16).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from review_ui.store import SignInAttempt, get_user_by_username, set_user_active
from review_ui.store.tables import AuditEntry, utc_now
from review_ui.web import create_app
from review_ui.web.passwords import hash_password, password_problem
from review_ui.web.sessions import COOKIE_NAME
from tests.review_ui.web.conftest import Web, csrf_from, web_settings
from tests.support.review_app import PASSWORD, build_world


def _attempt(client: TestClient, username: str, password: str) -> Any:
    token = csrf_from(client.get("/sign-in").text)
    return client.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def _audit(web: Web, action: str) -> list[AuditEntry]:
    with web.app.state.session_factory() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def _age_attempts(web: Web, by: timedelta) -> None:
    with web.app.state.session_factory() as db, db.begin():
        db.execute(update(SignInAttempt).values(at=utc_now() - by))


# --- Row 9: deactivation ends sessions in the database ------------------------


def test_switching_a_user_back_on_does_not_revive_their_old_session(web: Web) -> None:
    casey = web.sign_in("casey")
    stolen = dict(casey.cookies)
    with web.app.state.session_factory() as db:
        set_user_active(session=db, username="casey", active=False, changed_by="ada")
        set_user_active(session=db, username="casey", active=True, changed_by="ada")
    replay = web.anonymous()
    replay.cookies.update(stolen)
    assert replay.get("/api/me").status_code == 401
    # The real casey signs in afresh and is fine.
    assert web.sign_in("casey").get("/api/me").status_code == 200


# --- Row 6: counting and recording are one step ------------------------------


def test_parallel_guesses_cannot_race_past_the_limit(web: Web) -> None:
    limit = web.settings.sign_in_max_failures

    def guess(number: int) -> int:
        client = TestClient(web.app, client=("203.0.113.50", 41000 + number))
        return int(_attempt(client, "casey", f"wrong guess number {number}").status_code)

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(guess, range(40)))
    assert codes.count(401) <= limit, codes
    assert codes.count(429) >= 40 - limit
    assert len(_audit(web, "sign_in_failed")) <= limit


# --- Row 7: one address does not lock everybody out ---------------------------


def test_failures_for_made_up_names_from_one_address_do_not_lock_out_the_real_staff(web: Web) -> None:
    office = TestClient(web.app, client=("192.0.2.10", 40000))
    for number in range(web.settings.sign_in_max_failures):
        assert _attempt(office, f"made-up-{number}", "wrong password here").status_code == 401
    # Straight after, the address is slowed down ...
    assert _attempt(office, "casey", PASSWORD).status_code == 429
    # ... and once the pause has passed, a real user from the same address signs in,
    _age_attempts(web, timedelta(minutes=1))
    assert _attempt(office, "casey", PASSWORD).status_code == 303
    # while a username that failed from there stays refused there.
    colleague = TestClient(web.app, client=("192.0.2.10", 40001))
    assert _attempt(colleague, "made-up-0", "wrong password here").status_code == 429


def test_trusted_proxies_name_the_client_and_nobody_else_can(database_url: str, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "review_app.yaml").write_text("trusted_proxies: [192.0.2.1]\n")
    app = create_app(web_settings(tmp_path, config=config), database_url=database_url)
    try:
        with app.state.session_factory() as db:
            build_world(db)
        # Behind a proxy the browser speaks https, and the app's cookies are Secure (row 12).
        proxy = TestClient(app, client=("192.0.2.1", 40000), base_url="https://testserver")
        proxy.headers["X-Forwarded-For"] = "6.6.6.6, 198.51.100.77"
        assert _attempt(proxy, "casey", PASSWORD).status_code == 303
        stranger = TestClient(app, client=("203.0.113.66", 40000), base_url="https://testserver")
        stranger.headers["X-Forwarded-For"] = "198.51.100.99"
        assert _attempt(stranger, "cora", "not the password").status_code == 401
        with app.state.session_factory() as db:
            sources = dict(db.execute(select(AuditEntry.action, AuditEntry.source)).tuples().all())
        assert sources["signed_in"] == "198.51.100.77"
        assert sources["sign_in_failed"] == "203.0.113.66"
    finally:
        app.state.engine.dispose()


# --- Row 10: usernames and passwords ------------------------------------------


def test_a_username_longer_than_the_column_is_still_throttled(web: Web) -> None:
    long_name = "a" * 70
    codes = [  # each from a different address: only the username can be counted
        _attempt(
            TestClient(web.app, client=(f"203.0.113.{70 + n}", 40000)), long_name, "wrong one"
        ).status_code
        for n in range(6)
    ]
    assert codes[-1] == 429, codes


@pytest.mark.parametrize(
    "password",
    ["123456789012", " " * 12, "passwordpassword", "Password2024!", "aaaaaaaaaaaaaaaa", "  short  x  "],
)
def test_weak_passwords_are_refused(password: str) -> None:
    assert password_problem(password) is not None
    with pytest.raises(ValueError, match="password"):
        hash_password(password)


def test_a_good_passphrase_is_accepted() -> None:
    assert password_problem(PASSWORD) is None


def test_the_users_page_refuses_a_weak_password(web: Web) -> None:
    admin = web.sign_in("ada")
    token = csrf_from(admin.get("/users").text)
    response = admin.post(
        "/users",
        data={
            "csrf_token": token,
            "username": "newbie",
            "display_name": "New Bie",
            "role": "analyst",
            "password": "passwordpassword",
        },
    )
    assert response.status_code == 400
    assert "Password is too easy to guess" in response.text


# --- Row 16: what a failed sign-in writes ------------------------------------


def test_a_failed_sign_in_does_not_write_what_was_typed_as_the_username(web: Web) -> None:
    client = web.anonymous()
    typed = "MyS3cret-Passw0rd!"
    assert _attempt(client, typed, "anything at all").status_code == 401
    assert _attempt(client, "casey", "anything at all").status_code == 401
    actors = [entry.actor for entry in _audit(web, "sign_in_failed")]
    assert actors == ["(unknown username)", "casey"]
    with web.app.state.session_factory() as db:
        stored = list(db.scalars(select(SignInAttempt.username)))
        assert get_user_by_username(session=db, username="casey") is not None
    assert typed not in stored
    assert "casey" not in stored
    assert COOKIE_NAME not in client.cookies


# --- Row 10: a way to change a password ---------------------------------------


def test_a_user_changes_their_password_and_other_sessions_end(web: Web) -> None:
    other_device = web.sign_in("casey")
    casey = web.sign_in("casey")
    token = csrf_from(casey.get("/account/password").text)
    new = "plum kettle orbit lantern"

    def change(current: str, new_password: str, confirm: str) -> Any:
        return casey.post(
            "/account/password",
            data={
                "csrf_token": token,
                "current_password": current,
                "new_password": new_password,
                "confirm_password": confirm,
            },
            follow_redirects=False,
        )

    assert "Your current password is not right" in change("not my password", new, new).text
    assert "too easy to guess" in change(PASSWORD, "passwordpassword", "passwordpassword").text
    assert change(PASSWORD, new, new).status_code == 303
    assert casey.get("/api/me").status_code == 200
    assert other_device.get("/api/me").status_code == 401
    assert _attempt(web.anonymous(), "casey", PASSWORD).status_code == 401
    assert _attempt(web.anonymous(), "casey", new).status_code == 303
    assert [entry.actor for entry in _audit(web, "password_changed")] == ["casey"]


# --- Row 11 (part): every list view is audited --------------------------------


def test_the_api_list_and_the_list_counts_are_audited(web: Web) -> None:
    casey = web.sign_in("casey")
    assert casey.get("/api/items").status_code == 200
    assert casey.get("/queue/counts").status_code == 200
    details = [entry.detail for entry in _audit(web, "queue_viewed")]
    assert any(detail.get("via") == "api" for detail in details)
    assert any(detail.get("counts_only") for detail in details)


def test_sign_in_attempts_older_than_thirty_days_are_deleted(web: Web) -> None:
    """Attempts hold the address they came from; they are for throttling, so they do not stay."""
    client = TestClient(web.app, base_url="https://testserver")
    assert _attempt(client, "casey", "wrong password entirely").status_code == 401
    _age_attempts(web, timedelta(days=31))
    assert _attempt(client, "cora", "another wrong password").status_code == 401  # recent: kept
    assert _attempt(client, "casey", PASSWORD).status_code == 303
    with web.app.state.session_factory() as db:
        kept = db.scalars(select(SignInAttempt.username).order_by(SignInAttempt.id)).all()
    assert len(kept) == 2  # cora's failure and casey's success; the 31-day-old failure is gone
