"""Security headers and CSRF checks for every response and state-changing request.

Headers: a strict Content Security Policy (scripts only from this app, plus
one nonce'd inline line that tells GOV.UK Frontend JavaScript is on; no
inline styles; the page cannot be framed), no MIME sniffing, no referrer, and
``Cache-Control: no-store`` on everything but the static files, so a shared
computer's back button or cache does not show a person's details.

CSRF: each session has a random token; every POST must send it back, in the
form field ``csrf_token`` or the ``X-CSRF-Token`` header (htmx and the JSON
API use the header). The sign-in form, which has no session yet, is protected
the same way by a short-lived token in its own cookie.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from fastapi import Request, Response

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def content_security_policy(nonce: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Middleware: a CSP nonce for the page, then the security headers on the response."""
    nonce = secrets.token_urlsafe(16)
    request.state.csp_nonce = nonce
    response = await call_next(request)
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy(nonce)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    path = request.url.path
    if not (path.startswith("/static/") or path.startswith("/assets/")):
        headers["Cache-Control"] = "no-store"
    return response


async def submitted_csrf_token(request: Request) -> str:
    """The CSRF token a request sent: the header, else the form field."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


def tokens_match(expected: str, submitted: str) -> bool:
    return bool(expected) and bool(submitted) and secrets.compare_digest(expected, submitted)
