"""Rendering pages with what every page needs (who is signed in, CSRF token, CSP nonce)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from review_ui.store import Role
from review_ui.web.sessions import SignedIn


def navigation(who: SignedIn | None) -> list[dict[str, str]]:
    """The service navigation for a role: only links to pages the role may open."""
    if who is None:
        return []
    role = who.user.role
    links: list[dict[str, str]] = []
    if role in (Role.CASEWORKER, Role.TEAM_LEAD):
        links.append({"href": "/queue", "text": "Review list"})
    if role in (Role.TEAM_LEAD, Role.ANALYST):
        links.append({"href": "/learning", "text": "Learning"})
    if role == Role.ADMINISTRATOR:
        links.append({"href": "/audit", "text": "Audit log"})
        links.append({"href": "/users", "text": "Users"})
    links.append({"href": "/account/sessions", "text": "Your sessions"})
    return links


def _who(request: Request) -> SignedIn | None:
    """Who is signed in; pages open to everyone (sign-in, statements, errors) look it up here."""
    if hasattr(request.state, "signed_in"):
        found: SignedIn | None = request.state.signed_in
        return found
    from review_ui.web.sessions import session_cookie

    with request.app.state.session_factory() as db:
        found = request.app.state.sessions.find(db, session_cookie(request))
    request.state.signed_in = found
    return found


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    who = _who(request)
    settings = request.app.state.settings
    full: dict[str, Any] = {
        "request": request,
        "who": who,
        "user": who.user if who else None,
        "csrf_token": who.csrf_token if who else "",
        "cspNonce": getattr(request.state, "csp_nonce", ""),
        "council_name": settings.council_name,
        "service_name": settings.service_name,
        "navigation": navigation(who),
        "current_path": request.url.path,
    }
    full.update(context or {})
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, template, full, status_code=status_code
    )
    return response
