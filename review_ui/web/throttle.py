"""Sign-in throttling that holds under parallel attempts and does not lock out a whole office.

Every attempt is stored (``sign_in_attempts``) *before* the password is
checked, as a failure, in the same write transaction that counts the earlier
failures (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped
advisory lock per username and per address). So forty parallel guesses
cannot all pass the count: each one takes a slot first, and only the first
``max_failures`` get their password checked. A correct password turns its
slot into a success afterwards.

Two limits:

- **Per username**, from anywhere: ``max_failures`` failures within the
  window refuse that username until the oldest leaves the window.
- **Per address**: an address with ``max_failures`` failures within the
  window is *slowed down*, not locked: usernames that failed from it are
  refused there, and any other username may try once every
  ``address_pause`` after the address's latest failure. Behind one proxy or
  NAT, five failures for made-up names therefore do not keep the real staff
  out (their usernames have not failed), while guessing many usernames from
  one place is paced.

Usernames are stored as an HMAC (keyed by the app's secret), not as typed:
whatever someone typed in the username box (sometimes a password) never
sits in the database, and a username of any length is counted in full.
A success does not wipe the count: an attacker who knows one password cannot
use it to reset guessing on others from the same address.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from review_ui.store import SignInAttempt, write_transaction
from review_ui.store.tables import utc_now

#: How long sign-in attempts are kept: far longer than any throttling window, then deleted.
ATTEMPTS_KEPT = timedelta(days=30)


class Refused(enum.Enum):
    """Why an attempt was refused before its password was checked."""

    USERNAME = "username"
    ADDRESS = "address"


@dataclass(frozen=True)
class Admitted:
    """An attempt allowed to check its password: its slot, recorded as a failure until it succeeds."""

    attempt_id: int


class SignInThrottle:
    def __init__(
        self,
        *,
        max_failures: int,
        window: timedelta,
        secret_key: str,
        address_pause: timedelta = timedelta(seconds=5),
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.address_pause = address_pause
        self._key = hashlib.sha256(f"sign-in-throttle:{secret_key}".encode()).digest()

    def subject(self, username: str) -> str:
        """What is stored for a username: a keyed hash of all of it (64 hex characters)."""
        return hmac.new(self._key, username.encode(), hashlib.sha256).hexdigest()

    def admit(
        self, db: Session, username: str, source: str | None, now: datetime | None = None
    ) -> Admitted | Refused:
        """Count and record in one step: refuse, or take a slot (a provisional failure)."""
        subject = self.subject(username)
        with write_transaction(db):
            _lock(db, [f"user:{subject}"] + ([f"address:{source}"] if source else []))
            now = now or utc_now()
            since = now - self.window
            failures = (
                select(func.count())
                .select_from(SignInAttempt)
                .where(SignInAttempt.at >= since, SignInAttempt.succeeded.is_(False))
            )
            if (db.scalar(failures.where(SignInAttempt.username == subject)) or 0) >= self.max_failures:
                return Refused.USERNAME
            if (
                source
                and (db.scalar(failures.where(SignInAttempt.source == source)) or 0) >= self.max_failures
            ):
                failed_here = db.scalar(
                    failures.where(SignInAttempt.source == source, SignInAttempt.username == subject)
                )
                latest = db.scalar(
                    select(func.max(SignInAttempt.at)).where(
                        SignInAttempt.source == source, SignInAttempt.succeeded.is_(False)
                    )
                )
                if failed_here or (latest is not None and now - latest < self.address_pause):
                    return Refused.ADDRESS
            attempt = SignInAttempt(username=subject, source=source, succeeded=False, at=now)
            db.add(attempt)
            db.flush()
            return Admitted(attempt.id)

    def succeeded(self, db: Session, admitted: Admitted) -> None:
        """The password was right: the slot becomes a success (it no longer counts as a failure).

        Attempts older than :data:`ATTEMPTS_KEPT` go in the same step: they are kept only
        for throttling, and each holds the address it came from (personal data)."""
        with write_transaction(db):
            db.execute(
                update(SignInAttempt).where(SignInAttempt.id == admitted.attempt_id).values(succeeded=True)
            )
            db.execute(delete(SignInAttempt).where(SignInAttempt.at < utc_now() - ATTEMPTS_KEPT))


def _lock(db: Session, keys: list[str]) -> None:
    """PostgreSQL: serialise attempts for the same username or address until commit
    (SQLite's ``BEGIN IMMEDIATE`` already serialises every writer)."""
    if db.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(keys):
        db.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 17))"), {"key": key})
