"""Accounts from the command line: ``early-warning users ...`` and the demo's sign-ins.

Passwords are hashed with argon2 before they reach the database and are
never printed, except the demo's, which are made up for a synthetic borough
and kept in ``<home>/demo/sign-in.txt`` (owner-only) so a re-run shows the
same ones.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from review_ui.store import (
    OPEN_STATUSES,
    ReviewItem,
    Role,
    User,
    create_user,
    get_user_by_username,
    make_engine,
    make_session_factory,
)
from review_ui.web.passwords import hash_password

CLI_ACTOR = "command-line"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    locality: str


def _session(url: str) -> Session:
    from review_ui.migrations import upgrade_to_head

    upgrade_to_head(url)
    return make_session_factory(make_engine(url))()


def add_user(
    url: str, *, username: str, role: str, locality: str | None, display_name: str | None, password: str
) -> User:
    """Create an account; raises ValueError with a plain message (taken, bad role, short password)."""
    with _session(url) as db:
        if get_user_by_username(session=db, username=username) is not None:
            raise ValueError(f"there is already a user called {username!r}")
        db.rollback()
        return create_user(
            session=db,
            username=username,
            display_name=display_name or username,
            role=role,
            locality=locality,
            password_hash=hash_password(password),
            created_by=CLI_ACTOR,
        )


def list_users(url: str) -> list[User]:
    with _session(url) as db:
        return list(db.scalars(select(User).order_by(User.role, User.locality, User.username)))


def busiest_locality(db: Session) -> str | None:
    """The locality with most open items (excluding the unknown list), for the demo's accounts."""
    row = db.execute(
        select(ReviewItem.locality, func.count())
        .where(ReviewItem.status.in_(OPEN_STATUSES), ReviewItem.locality != "unknown")
        .group_by(ReviewItem.locality)
        .order_by(func.count().desc(), ReviewItem.locality)
        .limit(1)
    ).first()
    return None if row is None else str(row[0])


def ensure_demo_accounts(url: str, home: Path) -> list[DemoAccount]:
    """A caseworker and a team lead for the busiest locality (made once; details kept under home)."""
    record = home / "demo" / "sign-in.txt"
    if record.exists():
        saved = [DemoAccount(**entry) for entry in json.loads(record.read_text())]
        with _session(url) as db:
            if all(get_user_by_username(session=db, username=a.username) for a in saved):
                return saved
    with _session(url) as db:
        locality = busiest_locality(db) or "unknown"
    accounts = [
        DemoAccount("demo-caseworker", secrets.token_urlsafe(12), Role.CASEWORKER.value, locality),
        DemoAccount("demo-team-lead", secrets.token_urlsafe(12), Role.TEAM_LEAD.value, locality),
    ]
    names = {"demo-caseworker": "Demo Caseworker", "demo-team-lead": "Demo Team Lead"}
    for account in accounts:
        with _session(url) as db:
            existing = get_user_by_username(session=db, username=account.username)
            db.rollback()
            if existing is not None:
                existing.password_hash = hash_password(account.password)
                existing.locality = account.locality
                existing.active = True
                db.add(existing)
                db.commit()
                continue
        add_user(
            url,
            username=account.username,
            role=account.role,
            locality=account.locality,
            display_name=names[account.username],
            password=account.password,
        )
    record.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(record, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump([account.__dict__ for account in accounts], handle, indent=2)
    return accounts
