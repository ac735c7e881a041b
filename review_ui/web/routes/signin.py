"""Signing in and out, the start page, and the service's fixed pages.

Failed sign-ins say the same thing whether the username exists or not, and
take the same time (see :mod:`review_ui.web.passwords`). Repeated failures
are throttled (:mod:`review_ui.web.throttle`). Every sign-in, failure and
sign-out is written to the audit log; a failure for a username that is no
account's is written as ``(unknown username)``, never as what was typed.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from review_ui.store import Role, User, append_audit, get_user_by_username, write_transaction
from review_ui.store.audit import AuditAction
from review_ui.web.deps import CsrfFailed, Db, Posted, client_source
from review_ui.web.passwords import verify_password
from review_ui.web.render import render
from review_ui.web.security import cookie_name, cookies_secure, cross_site, tokens_match
from review_ui.web.sessions import COOKIE_NAME, session_cookie
from review_ui.web.throttle import Admitted, SignInThrottle

router = APIRouter(include_in_schema=False)

SIGN_IN_COOKIE = "ew_sign_in"
FAILED = "Enter a correct username and password"
THROTTLED = "Too many attempts to sign in. Wait 15 minutes, then try again, or ask your team lead."
#: The audit's actor for a failed sign-in whose username is no account's.
UNKNOWN_USERNAME = "(unknown username)"

START_PAGES = {
    Role.CASEWORKER: "/queue",
    Role.TEAM_LEAD: "/queue",
    Role.ANALYST: "/learning",
    Role.ADMINISTRATOR: "/audit",
}


def _safe_next(target: str | None) -> str | None:
    """Only paths on this site (no `//host`, no scheme), so sign-in cannot redirect elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def _sign_in_page(
    request: Request,
    *,
    status_code: int = 200,
    username: str = "",
    next_path: str = "",
    errors: list[dict[str, str]] | None = None,
    field_errors: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    browser_token = request.cookies.get(cookie_name(request, SIGN_IN_COOKIE)) or secrets.token_urlsafe(32)
    settings = request.app.state.settings
    response = render(
        request,
        "sign_in.html",
        {
            "title": "Sign in",
            "error_title_prefix": bool(errors),
            "sign_in_token": request.app.state.sessions.sign_in_form_token(browser_token),
            "username": username,
            "next": next_path,
            "errors": errors or [],
            "field_errors": field_errors or {},
            "notice": notice,
            "oidc_enabled": settings.oidc_enabled,
            "oidc_button_text": settings.oidc_button_text,
        },
        status_code=status_code,
    )
    response.set_cookie(
        cookie_name(request, SIGN_IN_COOKIE),
        browser_token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=cookies_secure(request),
        path="/",
    )
    return response


@router.get("/")
def start(request: Request, db: Db) -> Response:
    found = request.app.state.sessions.find(db, session_cookie(request))
    if found is None:
        return RedirectResponse("/sign-in", status_code=303)
    return RedirectResponse(START_PAGES.get(Role(found.user.role), "/sign-in"), status_code=303)


@router.get("/sign-in")
def sign_in_form(request: Request, next: str | None = None, signed_out: bool = False) -> Response:
    notice = "You have signed out." if signed_out else None
    return _sign_in_page(request, next_path=_safe_next(next) or "", notice=notice)


@router.post("/sign-in")
def sign_in(
    request: Request,
    db: Db,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    sessions = request.app.state.sessions
    browser_token = request.cookies.get(cookie_name(request, SIGN_IN_COOKIE), "")
    if (
        cross_site(request)
        or not browser_token
        or not tokens_match(sessions.sign_in_form_token(browser_token), csrf_token)
    ):
        raise CsrfFailed
    username = username.strip()
    field_errors: dict[str, str] = {}
    if not username:
        field_errors["username"] = "Enter your username"
    if not password:
        field_errors["password"] = "Enter your password"
    if field_errors:
        errors = [{"text": text, "href": f"#{field}"} for field, text in field_errors.items()]
        return _sign_in_page(
            request,
            status_code=400,
            username=username,
            next_path=next,
            errors=errors,
            field_errors=field_errors,
        )
    source = client_source(request)
    throttle: SignInThrottle = request.app.state.throttle
    user = get_user_by_username(session=db, username=username)
    db.commit()
    # The audit names only real accounts: what was typed for an unknown one
    # (sometimes a password in the wrong box) is not written down.
    actor = user.username if user is not None else UNKNOWN_USERNAME
    admitted = throttle.admit(db, username, source)
    if not isinstance(admitted, Admitted):
        with write_transaction(db):
            append_audit(session=db, actor=actor, action=AuditAction.SIGN_IN_THROTTLED, source=source)
        errors = [{"text": THROTTLED, "href": "#username"}]
        return _sign_in_page(request, status_code=429, username=username, next_path=next, errors=errors)
    ok = verify_password(user.password_hash if user else None, password) and user is not None and user.active
    if not ok or user is None:
        with write_transaction(db):
            append_audit(session=db, actor=actor, action=AuditAction.SIGN_IN_FAILED, source=source)
        errors = [{"text": FAILED, "href": "#username"}]
        return _sign_in_page(
            request,
            status_code=401,
            username=username,
            next_path=next,
            errors=errors,
            field_errors={"username": FAILED},
        )
    throttle.succeeded(db, admitted)
    response = signed_in_response(request, db, user, source=source, target=_safe_next(next))
    response.delete_cookie(
        cookie_name(request, SIGN_IN_COOKIE), path="/", secure=cookies_secure(request), httponly=True
    )
    return response


def signed_in_response(
    request: Request,
    db: Session,
    user: User,
    *,
    source: str | None,
    target: str | None = None,
    detail: dict[str, str] | None = None,
) -> Response:
    """After any kind of sign-in: a new session (never the one the browser brought), audited, and a redirect."""
    sessions = request.app.state.sessions
    sessions.end(db, session_cookie(request))
    cookie = sessions.start(db, user, source)
    with write_transaction(db):
        append_audit(
            session=db, actor=user.username, action=AuditAction.SIGNED_IN, detail=detail, source=source
        )
    response = RedirectResponse(target or START_PAGES.get(Role(user.role), "/"), status_code=303)
    secure = cookies_secure(request)
    name = cookie_name(request, COOKIE_NAME)
    response.set_cookie(name, cookie, httponly=True, samesite="lax", secure=secure, path="/")
    return response


@router.post("/sign-out")
def sign_out(request: Request, db: Db, who: Posted) -> Response:
    request.app.state.sessions.end(db, session_cookie(request))
    with write_transaction(db):
        append_audit(
            session=db, actor=who.user.username, action=AuditAction.SIGNED_OUT, source=client_source(request)
        )
    response = RedirectResponse("/sign-in?signed_out=true", status_code=303)
    response.delete_cookie(
        cookie_name(request, COOKIE_NAME), path="/", secure=cookies_secure(request), httponly=True
    )
    return response


@router.get("/accessibility")
def accessibility(request: Request) -> Response:
    return render(request, "accessibility.html", {"title": "Accessibility statement"})


@router.get("/privacy")
def privacy(request: Request) -> Response:
    """Lawful basis, retention, the data protection contact and the DPIA, all from configuration."""
    routing = request.app.state.routing
    return render(
        request,
        "privacy.html",
        {
            "title": "How this service uses personal data",
            "privacy": request.app.state.review_app.privacy,
            "case_file_days": routing.case_file_retention_days,
            "identifiers_days": routing.identifiers_retention_days,
        },
    )
