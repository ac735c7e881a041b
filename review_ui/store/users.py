"""People who sign in to the review queue."""

from __future__ import annotations

import re

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from review_ui.store.audit import AuditAction, append_audit
from review_ui.store.engine import write_transaction
from review_ui.store.tables import Role, User, WebSession, utc_now

#: The one rule for usernames, on the command line, the users page and at sign-in.
USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
USERNAME_RULE = (
    "Username must be 2 to 64 characters: lower-case letters, numbers, full stops, hyphens"
    " and underscores, starting with a letter or number"
)


def username_problem(username: str) -> str | None:
    """What is wrong with a new username (None when it is fine): one rule for the CLI and the web."""
    if not username:
        return "Enter a username"
    if not USERNAME_PATTERN.fullmatch(username):
        return USERNAME_RULE
    return None


def create_user(
    *,
    session: Session,
    username: str,
    display_name: str,
    role: Role | str,
    password_hash: str,
    locality: str | None = None,
    active: bool = True,
    created_by: str = "system",
    source: str | None = None,
) -> User:
    """Add a user and commit. ``password_hash`` is already hashed (argon2, by the web app).

    Raises:
        ValueError: an unknown role, a username that breaks :data:`USERNAME_PATTERN`,
            or a caseworker or team lead without a locality.
    """
    try:
        role = Role(role)
    except ValueError:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(Role)}") from None
    if (problem := username_problem(username)) is not None:
        raise ValueError(problem)
    if role in (Role.CASEWORKER, Role.TEAM_LEAD) and not locality:
        raise ValueError(f"a {role.value} needs a locality")
    with write_transaction(session):
        user = User(
            username=username,
            display_name=display_name,
            role=role.value,
            locality=locality,
            password_hash=password_hash,
            active=active,
        )
        session.add(user)
        session.flush()
        append_audit(
            session=session,
            actor=created_by,
            action=AuditAction.USER_CREATED,
            detail={"username": username, "role": role.value, "locality": locality},
            source=source,
        )
    return user


def get_user_by_username(*, session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def set_user_active(
    *, session: Session, username: str, active: bool, changed_by: str, source: str | None = None
) -> User:
    """Switch a user's access on or off (users are never deleted: the audit log refers to them).

    Switching off also ends every session the user has, in the database: a
    cookie from before must not work again when the account is switched back on.
    """
    with write_transaction(session):
        user = session.scalars(select(User).where(User.username == username)).one_or_none()
        if user is None:
            raise LookupError(f"no user called {username!r}")
        user.active = active
        if not active:
            end_sessions(session=session, user_id=user.id)
        append_audit(
            session=session,
            actor=changed_by,
            action=AuditAction.USER_ACTIVATED if active else AuditAction.USER_DEACTIVATED,
            detail={"username": username},
            source=source,
        )
    return user


def end_sessions(*, session: Session, user_id: int, keep: str | None = None) -> None:
    """End every open session of a user (except ``keep``, the one making a change), in the
    caller's write transaction."""
    condition = [WebSession.user_id == user_id, WebSession.ended_at.is_(None)]
    if keep is not None:
        condition.append(WebSession.id != keep)
    session.execute(update(WebSession).where(*condition).values(ended_at=utc_now()))
