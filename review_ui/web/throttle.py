"""Sign-in throttling: too many failures for a username, or from an address, pause sign-in.

Every attempt is stored (``sign_in_attempts``). When a username, or the
address the attempts come from, has had ``max_failures`` failures within the
window, further attempts are refused without checking the password until the
oldest of those failures leaves the window. A success does not wipe the
count: an attacker who knows one password cannot use it to reset guessing on
others from the same address.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from review_ui.store import SignInAttempt, write_transaction
from review_ui.store.models import utc_now


class SignInThrottle:
    def __init__(self, *, max_failures: int, window: timedelta) -> None:
        self.max_failures = max_failures
        self.window = window

    def is_throttled(self, db: Session, username: str, source: str | None) -> bool:
        since = utc_now() - self.window
        who = [SignInAttempt.username == username]
        if source:
            who.append(SignInAttempt.source == source)
        for condition in who:
            failures = db.scalar(
                select(func.count())
                .select_from(SignInAttempt)
                .where(condition, SignInAttempt.at >= since, SignInAttempt.succeeded.is_(False))
            )
            if (failures or 0) >= self.max_failures:
                return True
        return False

    def record(self, db: Session, username: str, source: str | None, *, succeeded: bool) -> None:
        with write_transaction(db):
            db.add(SignInAttempt(username=username[:64], source=source, succeeded=succeeded))

    def forget_before(self, db: Session, days: int = 30) -> None:
        """Drop attempts older than ``days`` (they are only for throttling)."""
        cutoff = utc_now() - timedelta(days=days)
        with write_transaction(db):
            db.query(SignInAttempt).filter(or_(SignInAttempt.at < cutoff)).delete()
