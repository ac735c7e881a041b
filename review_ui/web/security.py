"""Security headers and CSRF checks for every response and state-changing request.

Headers: a strict Content Security Policy (scripts only from this app, plus
one nonce'd inline line that tells GOV.UK Frontend JavaScript is on; no
inline styles; the page cannot be framed), no MIME sniffing, no referrer, and
``Cache-Control: no-store`` on everything but the static files, so a shared
computer's back button or cache does not show a person's details.

CSRF: each session has a random token; every POST must send it back, in the
form field ``csrf_token`` or the ``X-CSRF-Token`` header (htmx and the JSON
API use the header). The sign-in form, which has no session yet, is protected
the same way by a short-lived token in its own cookie. As well as the token,
a POST the browser says came from another site (``Sec-Fetch-Site``, or an
``Origin`` that is not this app's host when the browser sends no
``Sec-Fetch-Site``) is refused (:func:`cross_site`).

Cookies are ``Secure``, named with the ``__Host-`` prefix (so no other site
or sub-domain can plant or read them) and sent with HSTS whenever
:func:`cookies_secure` says so: always, except for an app listening on a
loopback address with no trusted proxy in front, which only this machine can
reach over plain http (the demo, the tests); ``cookie_secure`` overrides.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from fastapi import Request, Response

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
#: Browsers keep to HTTPS for a year after seeing this.
HSTS = "max-age=31536000"
#: ``Sec-Fetch-Site`` values of requests this app's own pages make (``none``: typed or bookmarked).
SAME_ORIGIN_FETCHES = frozenset({"same-origin", "none"})


def _loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cookies_secure(request: Request) -> bool:
    """Whether this app's cookies are ``Secure`` (with ``__Host-`` names and HSTS).

    ``cookie_secure`` when set; otherwise on unless the app listens on loopback with no
    trusted proxy. Off only there because a browser on this machine reaching
    http://127.0.0.1 would otherwise get cookies it cannot send back, and nobody else can
    see that traffic; anywhere else plain http would expose the session to the network.
    """
    state = request.app.state
    setting: bool | None = state.settings.cookie_secure
    if setting is not None:
        return setting
    return not (_loopback(state.settings.host) and not getattr(state, "trusted_proxies", []))


def cookie_name(request: Request, name: str) -> str:
    """A cookie's name: ``__Host-`` first when cookies are secure (Path=/, no Domain)."""
    return f"__Host-{name}" if cookies_secure(request) else name


def cross_site(request: Request) -> bool:
    """True when the browser says the request came from another site (another origin).

    ``Sec-Fetch-Site`` is set by the browser itself and cannot be forged by a page;
    older browsers send only ``Origin``, compared with the ``Host`` the request was
    sent to (a TLS proxy must pass the browser's ``Host`` on). Requests with neither
    (the command line, scripts) rest on the CSRF token alone.
    """
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site.lower() not in SAME_ORIGIN_FETCHES
    origin = request.headers.get("origin")
    if origin is None:
        return False
    host = request.headers.get("host", "")
    return origin == "null" or urlsplit(origin).netloc.lower() != host.lower()


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
    if cookies_secure(request):
        headers["Strict-Transport-Security"] = HSTS
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
