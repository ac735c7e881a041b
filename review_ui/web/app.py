"""The review app's FastAPI application, built from the settings.

``create_app()`` wires the pieces: the queue database (migrated to the
latest schema), server-side sessions, sign-in throttling, security headers,
the static files built from npm by ``make assets``, and the routes. Errors
become GOV.UK-style pages for people and JSON for the API.
"""

from __future__ import annotations

import importlib
import logging
import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from early_warning.config import RoutingFile, load_file, load_wording
from early_warning.paths import resolve_home
from early_warning.settings import Settings, get_settings
from review_ui.migrations import upgrade_to_head
from review_ui.store import make_engine, make_session_factory, queue_database_url
from review_ui.store.audit import verify_audit_chain
from review_ui.store.audit_owner import audit_log_unprotected
from review_ui.web.case_file_reads import CaseFileReadLimit
from review_ui.web.client_address import load_review_app_settings
from review_ui.web.deps import CsrfFailed, Forbidden, NotFound, SignInRequired, TooManyCaseFileReads
from review_ui.web.forms import refused_request_message, without_input
from review_ui.web.render import render
from review_ui.web.security import security_headers
from review_ui.web.sessions import SessionStore
from review_ui.web.templating import make_templates
from review_ui.web.throttle import SignInThrottle

log = logging.getLogger(__name__)

#: Where ``make assets`` puts the compiled GOV.UK/MOJ styles, images and scripts.
ASSETS_DIR = Path(__file__).resolve().parents[1] / "frontend" / "dist"
SECRET_FILE = "web_secret_key"


def _secret_key(settings: Settings) -> str:
    """The configured key, else one made once and kept under the home folder (mode 0600)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = resolve_home(settings.home) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


#: How many of the latest audit entries ``serve`` checks at start-up (``audit verify`` checks all).
AUDIT_TAIL_CHECKED = 1000


def _check_audit_tail(engine: Engine) -> None:
    """Refuse to start on an audit log whose latest entries were altered (say which, and what to run)."""
    with make_session_factory(engine)() as db:
        check = verify_audit_chain(db, tail=AUDIT_TAIL_CHECKED)
    if not check.intact:
        engine.dispose()
        raise RuntimeError(
            f"the audit log has been altered: entry {check.broken_id} fails ({check.reason}); "
            "run `early-warning audit verify` and keep a copy of the database as it is"
        )


#: Pages under /api/ that people read (a redirect to sign in, and error pages, not JSON).
API_PAGES = frozenset({"/api/docs"})


def _warn_if_audit_log_unprotected(engine: Engine) -> None:
    """On PostgreSQL, say at start-up when the app's own role could switch the audit log's
    triggers off (``early-warning audit protect`` not run): the app still starts."""
    if audit_log_unprotected(engine):
        log.warning(
            "the app's database role owns audit_log, so it could switch its triggers off: "
            "ask a DBA to run `early-warning audit protect` once (docs/security.md)"
        )


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") and request.url.path not in API_PAGES


def create_app(settings: Settings | None = None, *, database_url: str | None = None) -> FastAPI:
    """The review app for ``settings`` (default: the environment) and the queue at ``database_url``."""
    settings = settings or get_settings()
    if not (ASSETS_DIR / "council.min.css").exists():
        raise RuntimeError(
            f"the review app's front-end files are not built ({ASSETS_DIR} is missing): run `make assets`"
        )
    url = database_url or settings.database_url or queue_database_url(settings.home)
    upgrade_to_head(url)
    engine = make_engine(url)
    _check_audit_tail(engine)
    _warn_if_audit_log_unprotected(engine)

    app = FastAPI(
        title=f"{settings.service_name} API",
        summary="Read a locality's review list and record outcomes, with the review app's sign-in and roles.",
        version="1",
        # Served by routes.api_docs behind sign-in, from the app's own page (no CDN, under the CSP).
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    # The words a caseworker reads, a council's wording.yaml over the default: the templates'
    # filters, the contact chart, the outcome form and the audit descriptions all read this one.
    app.state.wording = load_wording(settings.config)
    app.state.templates = make_templates(app.state.wording)
    app.state.sessions = SessionStore(
        _secret_key(settings),
        idle=timedelta(minutes=settings.session_idle_minutes),
        absolute=timedelta(hours=settings.session_absolute_hours),
    )
    app.state.throttle = SignInThrottle(
        max_failures=settings.sign_in_max_failures,
        window=timedelta(minutes=settings.sign_in_window_minutes),
        secret_key=_secret_key(settings),
        address_pause=timedelta(seconds=settings.sign_in_address_pause_seconds),
    )
    # review_app.yaml: trusted proxies, the privacy page's words, how long each kind of service
    # involvement counts as open, the record of the work's settings, the precision sentence.
    review_app = load_review_app_settings(settings.config)
    app.state.trusted_proxies = review_app.trusted_proxies
    app.state.review_app = review_app
    app.state.routing = load_file("routing.yaml", RoutingFile, settings.config)
    app.state.case_file_reads = CaseFileReadLimit(per_minute=review_app.case_file_reads_per_minute)
    if settings.oidc_enabled:
        from review_ui.web.oidc import OidcClient

        app.state.oidc = OidcClient(settings, _secret_key(settings))
    app.middleware("http")(security_headers)
    app.mount("/assets", StaticFiles(directory=ASSETS_DIR / "assets"), name="assets")
    app.mount("/static", StaticFiles(directory=ASSETS_DIR), name="static")
    _add_error_pages(app)
    _add_routes(app)
    return app


def _add_routes(app: FastAPI) -> None:
    from review_ui.web.routes import (
        account,
        api,
        api_docs,
        audit,
        learning,
        oidc,
        person,
        queue,
        signin,
        users,
    )

    for module in (signin, account, oidc, queue, person, audit, learning, users, api, api_docs):
        app.include_router(module.router)
    app.include_router(importlib.import_module("review_ui.web.routes.clerical").router)
    app.include_router(importlib.import_module("review_ui.web.routes.linkage_constraints").router)
    app.include_router(importlib.import_module("review_ui.web.routes.account_sessions").router)


def _error_page(
    request: Request, status: int, title: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """The app's error page for people, or ``{"detail": message}`` for the API."""
    response: Response
    if _wants_json(request):
        response = JSONResponse({"detail": message}, status_code=status)
    else:
        response = render(request, "error.html", {"title": title, "message": message}, status_code=status)
    response.headers.update(headers or {})
    return response


def _add_error_pages(app: FastAPI) -> None:
    page = _error_page
    _add_refusal_pages(app)

    @app.exception_handler(RequestValidationError)
    async def _refused(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's own answer is JSON repeating what was sent (a 50,000-character note came
        # back whole): the API gets the same errors without the input, people the error page.
        if _wants_json(request):
            return JSONResponse({"detail": without_input(exc.errors())}, status_code=422)
        message = refused_request_message(exc.errors())
        return page(request, 400, "Sorry, there is a problem with what you sent", message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return page(request, 404, "Page not found", "There is nothing here that you can see.")
        detail: Any = exc.detail
        # A 405 names the methods that would work (Allow), as HTTP asks.
        return page(request, exc.status_code, "Sorry, there is a problem", str(detail), exc.headers)


def _add_refusal_pages(app: FastAPI) -> None:
    """Sign in first, not allowed, a failed form check, nothing here."""
    page = _error_page

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _exc: Exception) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "Sign in first."}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response: Response = RedirectResponse(f"/sign-in?next={target}", status_code=303)
        if request.headers.get("HX-Request"):
            response = Response(status_code=204, headers={"HX-Redirect": "/sign-in"})
        return response

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, _exc: Exception) -> Response:
        return page(request, 403, "You cannot see this page", "Your role does not give access to this page.")

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, _exc: Exception) -> Response:
        return page(
            request,
            403,
            "Your request could not be checked",
            "The form had expired or did not come from this service. Go back, reload the page and try again.",
        )

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, _exc: Exception) -> Response:
        return page(request, 404, "Page not found", "There is nothing here that you can see.")

    @app.exception_handler(TooManyCaseFileReads)
    async def _too_many_reads(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, TooManyCaseFileReads)
        wait = exc.retry_after_seconds
        return page(
            request,
            429,
            "You have opened too many case files",
            f"You can open up to {exc.per_minute} case files a minute. "
            f"Try again in {wait} second{'' if wait == 1 else 's'}.",
            {"Retry-After": str(wait)},
        )
