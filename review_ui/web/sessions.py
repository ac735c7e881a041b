"""Server-side sign-in sessions with idle and absolute time-outs.

The browser holds a random 256-bit token, signed with the app's secret key
(so a tampered cookie is refused before the database is asked) in an
HttpOnly, SameSite=Lax cookie. The database holds only the token's SHA-256,
with the session's CSRF token and its times. A new session is made at every
sign-in, so a token planted before sign-in is worthless (no fixation), and
signing out ends the session on the server, not just in the browser.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from review_ui.store import User, WebSession, write_transaction
from review_ui.store.tables import utc_now
from review_ui.web.security import cookie_name

#: The session cookie's name (``__Host-ew_session`` when cookies are secure).
COOKIE_NAME = "ew_session"
#: last_seen_at is written at most this often, so reading pages stays read-only.
TOUCH_EVERY = timedelta(seconds=60)


def session_cookie(request: Request) -> str | None:
    """The session cookie the request brought, under the name this app's mode uses only
    (a plain ``ew_session`` planted beside a ``__Host-`` one is ignored)."""
    return request.cookies.get(cookie_name(request, COOKIE_NAME))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_reference(session_id: str) -> str:
    """A name for a session that a page can show and a form send back: a hash of the stored
    id (itself a hash of the token), so neither the token nor the id leaves the server."""
    return hashlib.sha256(f"session-reference:{session_id}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class OpenSession:
    """One of a user's sessions that could still be used, as their sessions page lists it."""

    reference: str
    created_at: datetime
    last_seen_at: datetime
    source: str | None
    current: bool


@dataclass(frozen=True)
class SignedIn:
    """The user behind a request, with their session's CSRF token."""

    user: User
    session_id: str
    csrf_token: str


class SessionStore:
    """Starts, finds and ends sessions; time-outs come from the settings."""

    def __init__(self, secret_key: str, *, idle: timedelta, absolute: timedelta) -> None:
        self._signer = URLSafeSerializer(secret_key, salt="early-warning-session")
        self._key = hashlib.sha256(f"sign-in-form:{secret_key}".encode()).digest()
        self.idle = idle
        self.absolute = absolute

    def sign_in_form_token(self, browser_token: str) -> str:
        """The token the sign-in form must send back: tied to the browser's pre-sign-in cookie."""
        return hmac.new(self._key, browser_token.encode(), hashlib.sha256).hexdigest()

    def start(self, db: Session, user: User, source: str | None) -> str:
        """A new session for ``user``; returns the cookie value."""
        token = secrets.token_urlsafe(32)
        with write_transaction(db):
            db.add(
                WebSession(
                    id=_digest(token),
                    user_id=user.id,
                    csrf_token=secrets.token_urlsafe(32),
                    source=source,
                )
            )
        return self._signer.dumps(token)

    def _token(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            token = self._signer.loads(cookie)
        except BadSignature:
            return None
        return token if isinstance(token, str) else None

    def find(self, db: Session, cookie: str | None, now: datetime | None = None) -> SignedIn | None:
        """The signed-in user for a cookie, or None (no cookie, bad signature, ended or timed out)."""
        token = self._token(cookie)
        if token is None:
            return None
        now = now or utc_now()
        row = db.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)
            .where(WebSession.id == _digest(token), WebSession.ended_at.is_(None))
        ).one_or_none()
        if row is None:
            return None
        web_session, user = row
        if not user.active:
            return None
        if now - web_session.last_seen_at > self.idle or now - web_session.created_at > self.absolute:
            self._end(db, web_session.id, now)
            return None
        if now - web_session.last_seen_at > TOUCH_EVERY:
            with write_transaction(db):
                db.execute(update(WebSession).where(WebSession.id == web_session.id).values(last_seen_at=now))
        return SignedIn(user=user, session_id=web_session.id, csrf_token=web_session.csrf_token)

    def open_sessions(
        self, db: Session, user_id: int, current: str, now: datetime | None = None
    ) -> list[OpenSession]:
        """The user's sessions that are neither ended nor timed out, newest first;
        ``current`` (the id of the session asking) is marked."""
        now = now or utc_now()
        rows = db.scalars(
            select(WebSession)
            .where(
                WebSession.user_id == user_id,
                WebSession.ended_at.is_(None),
                WebSession.last_seen_at >= now - self.idle,
                WebSession.created_at >= now - self.absolute,
            )
            .order_by(WebSession.last_seen_at.desc(), WebSession.created_at.desc())
        )
        return [
            OpenSession(
                reference=session_reference(row.id),
                created_at=row.created_at,
                last_seen_at=row.last_seen_at,
                source=row.source,
                current=row.id == current,
            )
            for row in rows
        ]

    def end_one(self, db: Session, user_id: int, reference: str) -> bool:
        """End the user's own open session named by ``reference`` (:func:`session_reference`);
        False when the user has no such open session (another user's, or already ended)."""
        ids = db.scalars(
            select(WebSession.id).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
        ).all()
        found = next((i for i in ids if hmac.compare_digest(session_reference(i), reference)), None)
        if found is None:
            return False
        self._end(db, found, utc_now())
        return True

    def end(self, db: Session, cookie: str | None) -> None:
        token = self._token(cookie)
        if token is not None:
            self._end(db, _digest(token), utc_now())

    def _end(self, db: Session, session_id: str, now: datetime) -> None:
        with write_transaction(db):
            db.execute(
                update(WebSession)
                .where(WebSession.id == session_id, WebSession.ended_at.is_(None))
                .values(ended_at=now)
            )
