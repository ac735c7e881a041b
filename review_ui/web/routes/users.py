"""Users, for administrators: who can sign in, in which role and locality.

Users are added and switched off or on, never deleted (the audit log refers
to them). Every change goes through :mod:`review_ui.store.users`, which
writes it to the audit log with the administrator's username and address.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from review_ui.store import ReviewItem, Role, User, create_user, get_user_by_username, set_user_active
from review_ui.store.tables import UNKNOWN_LOCALITY
from review_ui.store.users import username_problem
from review_ui.web.deps import Administrator, Db, NotFound, Posted, client_source
from review_ui.web.passwords import MIN_PASSWORD_LENGTH, hash_password, password_problem
from review_ui.web.render import render
from review_ui.web.templating import ROLE_LABELS

router = APIRouter(include_in_schema=False)

LOCALITY_ROLES = (Role.CASEWORKER, Role.TEAM_LEAD)


@functools.lru_cache(maxsize=4)
def _configured_localities(config_dir: Path | None) -> tuple[str, ...]:
    """The localities in the council's configuration (none if it cannot be read: the queue's own still show)."""
    from early_warning.config import ConfigError, load_config

    try:
        return tuple(load_config(config_dir).localities.localities)
    except (ConfigError, OSError):
        return ()


def _localities(request: Request, db: Session) -> list[str]:
    known = set(_configured_localities(request.app.state.settings.config))
    known.update(db.scalars(select(ReviewItem.locality).distinct()))
    known.update(name for name in db.scalars(select(User.locality).distinct()) if name)
    known.discard(UNKNOWN_LOCALITY)
    return sorted(known)


def _users_page(
    request: Request,
    db: Session,
    *,
    status_code: int = 200,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    users = list(db.scalars(select(User).order_by(User.active.desc(), User.username)))
    errors = errors or {}
    return render(
        request,
        "users.html",
        {
            "title": "Users",
            "error_title_prefix": bool(errors),
            "users": users,
            "form": form or {},
            "field_errors": errors,
            "errors": [{"text": text, "href": f"#{field}"} for field, text in errors.items()],
            "roles": ROLE_LABELS,
            "localities": _localities(request, db),
            "unknown_locality": UNKNOWN_LOCALITY,
            "notice": notice,
            "min_password": MIN_PASSWORD_LENGTH,
        },
        status_code=status_code,
    )


@router.get("/users")
def list_users(request: Request, db: Db, _who: Administrator, added: str = "", changed: str = "") -> Response:
    notice = None
    if added and get_user_by_username(session=db, username=added[:64]) is not None:
        notice = f"{added[:64]} has been added. Give them their password in person or by phone, not by email."
    elif changed and (user := get_user_by_username(session=db, username=changed[:64])) is not None:
        notice = f"{user.username} can {'now' if user.active else 'no longer'} sign in."
    return _users_page(request, db, notice=notice)


def _validate(
    db: Session, username: str, display_name: str, role: str, locality: str, password: str
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if problem := username_problem(username):
        errors["username"] = problem
    elif get_user_by_username(session=db, username=username) is not None:
        errors["username"] = "There is already a user with that username"
    if not display_name:
        errors["display_name"] = "Enter the person's name"
    elif len(display_name) > 200:
        errors["display_name"] = "Name must be 200 characters or fewer"
    if role not in ROLE_LABELS:
        errors["role"] = "Select a role"
    elif role in LOCALITY_ROLES:
        if not locality:
            errors["locality"] = f"Select the {ROLE_LABELS[role].lower()}'s locality"
        elif locality == UNKNOWN_LOCALITY and role != Role.TEAM_LEAD:
            errors["locality"] = "Only a team lead can work the list of people with no known address"
        elif len(locality) > 100:
            errors["locality"] = "Locality must be 100 characters or fewer"
    if problem := password_problem(password, username=username):
        errors["password"] = problem
    return errors


def _printable(value: str) -> str:
    return "".join(character for character in value if character.isprintable()).strip()


@router.post("/users")
def add_user(
    request: Request,
    db: Db,
    who: Administrator,
    _posted: Posted,
    username: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    locality: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    username, display_name, role, locality = (
        _printable(value) for value in (username, display_name, role, locality)
    )
    errors = _validate(db, username, display_name, role, locality, password)
    form = {"username": username, "display_name": display_name, "role": role, "locality": locality}
    if errors:
        return _users_page(request, db, status_code=400, form=form, errors=errors)
    create_user(
        session=db,
        username=username,
        display_name=display_name,
        role=role,
        locality=locality if role in LOCALITY_ROLES else None,
        password_hash=hash_password(password),
        created_by=who.user.username,
        source=client_source(request),
    )
    return RedirectResponse(f"/users?added={username}", status_code=303)


def _set_active(request: Request, db: Session, who: Administrator, username: str, active: bool) -> Response:
    user = get_user_by_username(session=db, username=username[:64])
    if user is None:
        raise NotFound
    if user.id == who.user.id and not active:
        return _users_page(
            request,
            db,
            status_code=400,
            errors={f"user-{user.username}": "You cannot switch off your own access"},
        )
    db.commit()
    set_user_active(
        session=db,
        username=user.username,
        active=active,
        changed_by=who.user.username,
        source=client_source(request),
    )
    return RedirectResponse(f"/users?changed={user.username}", status_code=303)


@router.post("/users/{username}/deactivate")
def deactivate(request: Request, db: Db, who: Administrator, _posted: Posted, username: str) -> Response:
    return _set_active(request, db, who, username, active=False)


@router.post("/users/{username}/activate")
def activate(request: Request, db: Db, who: Administrator, _posted: Posted, username: str) -> Response:
    return _set_active(request, db, who, username, active=True)
