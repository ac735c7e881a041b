"""Accounts from the command line: ``early-warning users ...`` and the demo's sign-ins.

Passwords are hashed with argon2 before they reach the database and are
never printed, except the demo's, which are made up for a synthetic borough
and kept in ``<home>/demo/sign-in.txt`` (and the demo's colleagues in each
locality in ``<home>/demo/colleagues.txt``; both owner-only) so a re-run shows
the same ones.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterable
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
        _make_or_renew(url, account, display_name=names[account.username])
    _keep(record, accounts)
    return accounts


def staff_demo_localities(url: str, home: Path, localities: Iterable[str]) -> list[DemoAccount]:
    """A caseworker for each of the demo's ``localities`` that no active reviewer works yet.

    The demo runs before anyone signs in; without this, every locality but the demo
    accounts' own would be one "nobody works" (the team lead's banner and the night's
    summary would list them all), which no staffed council looks like. Made before the
    nights, so the nights' summaries see a staffed council too. Their made-up passwords are
    kept in ``<home>/demo/colleagues.txt`` (owner-only); returns every colleague kept there.
    """
    record = home / "demo" / "colleagues.txt"
    kept = [DemoAccount(**entry) for entry in json.loads(record.read_text())] if record.exists() else []
    with _session(url) as db:
        staffed = set(
            db.scalars(
                select(User.locality).where(
                    User.active.is_(True),
                    User.role.in_([Role.CASEWORKER, Role.TEAM_LEAD]),
                    User.locality.is_not(None),
                )
            )
        )
    made: list[DemoAccount] = []
    for locality in localities:
        if locality in staffed:
            continue
        account = DemoAccount(
            _colleague_username(locality), secrets.token_urlsafe(12), Role.CASEWORKER.value, locality
        )
        _make_or_renew(url, account, display_name=f"{locality} Caseworker")
        made.append(account)
    if made:
        names = {account.username for account in made}
        _keep(record, [a for a in kept if a.username not in names] + made)
    return [a for a in kept if a.username not in {m.username for m in made}] + made


def _colleague_username(locality: str) -> str:
    """``demo-<locality>`` in the characters a username may have (``Upper Moor`` -> ``demo-upper-moor``)."""
    return ("demo-" + re.sub(r"[^a-z0-9]+", "-", locality.lower()).strip("-"))[:64]


def _make_or_renew(url: str, account: DemoAccount, *, display_name: str) -> None:
    """Create the account, or give an existing one of that name this password and locality."""
    with _session(url) as db:
        existing = get_user_by_username(session=db, username=account.username)
        db.rollback()
        if existing is not None:
            existing.password_hash = hash_password(account.password)
            existing.locality = account.locality
            existing.role = account.role
            existing.active = True
            db.add(existing)
            db.commit()
            return
    add_user(
        url,
        username=account.username,
        role=account.role,
        locality=account.locality,
        display_name=display_name,
        password=account.password,
    )


def _keep(record: Path, accounts: list[DemoAccount]) -> None:
    """The demo's made-up sign-ins, owner-only, so a re-run shows the same ones."""
    record.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(record, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump([account.__dict__ for account in accounts], handle, indent=2)
