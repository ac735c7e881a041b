"""People who sign in to the review queue."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from review_ui.store.audit import AuditAction, append_audit
from review_ui.store.engine import write_transaction
from review_ui.store.models import Role, User


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
        ValueError: an unknown role, an empty username, or a caseworker or
            team lead without a locality.
    """
    try:
        role = Role(role)
    except ValueError:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(Role)}") from None
    if not username.strip():
        raise ValueError("a username cannot be empty")
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
    """Switch a user's access on or off (users are never deleted: the audit log refers to them)."""
    with write_transaction(session):
        user = session.scalars(select(User).where(User.username == username)).one_or_none()
        if user is None:
            raise LookupError(f"no user called {username!r}")
        user.active = active
        append_audit(
            session=session,
            actor=changed_by,
            action=AuditAction.USER_ACTIVATED if active else AuditAction.USER_DEACTIVATED,
            detail={"username": username},
            source=source,
        )
    return user
