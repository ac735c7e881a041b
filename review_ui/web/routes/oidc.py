"""Sign-in with the council's single sign-on (OpenID Connect), when configured.

The routes exist only when the settings turn it on (see :mod:`review_ui.web.oidc`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from review_ui.store import append_audit, get_user_by_username, write_transaction
from review_ui.store.audit import AuditAction
from review_ui.web.deps import Db, NotFound, client_source
from review_ui.web.oidc import STATE_COOKIE, OidcClient, OidcError
from review_ui.web.render import render
from review_ui.web.routes.signin import signed_in_response
from review_ui.web.security import cookies_secure

router = APIRouter(include_in_schema=False)

NOT_SET_UP = "Your council account is not set up for this service. Ask an administrator to add you."


def _client(request: Request) -> OidcClient:
    client: OidcClient | None = getattr(request.app.state, "oidc", None)
    if client is None:
        raise NotFound
    return client


def _callback_url(request: Request) -> str:
    return str(request.url_for("oidc_callback"))


def _refused(request: Request, message: str, status_code: int = 400) -> Response:
    return render(
        request,
        "error.html",
        {"title": "You could not be signed in", "message": message, "error_title_prefix": True},
        status_code=status_code,
    )


@router.get("/sign-in/oidc")
def oidc_start(request: Request) -> Response:
    try:
        url, cookie = _client(request).start(_callback_url(request))
    except OidcError as exc:
        return _refused(request, str(exc), 502)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        STATE_COOKIE,
        cookie,
        max_age=600,
        httponly=True,
        samesite="lax",  # the provider's redirect back is a top-level GET from another site
        secure=cookies_secure(request),
        path="/sign-in/oidc",
    )
    return response


@router.get("/sign-in/oidc/callback", name="oidc_callback")
def oidc_callback(request: Request, db: Db, code: str = "", state: str = "") -> Response:
    source = client_source(request)
    try:
        username = _client(request).finish(
            redirect_uri=_callback_url(request),
            cookie=request.cookies.get(STATE_COOKIE),
            code=code,
            state=state,
        )
    except OidcError as exc:
        with write_transaction(db):
            append_audit(
                session=db,
                actor="oidc",
                action=AuditAction.SIGN_IN_FAILED,
                detail={"method": "oidc"},
                source=source,
            )
        return _refused(request, str(exc))
    user = get_user_by_username(session=db, username=username)
    db.commit()
    if user is None or not user.active:
        with write_transaction(db):
            append_audit(
                session=db,
                actor=username[:64],
                action=AuditAction.SIGN_IN_FAILED,
                detail={"method": "oidc"},
                source=source,
            )
        return _refused(request, NOT_SET_UP, 403)
    response = signed_in_response(request, db, user, source=source, detail={"method": "oidc"})
    response.delete_cookie(STATE_COOKIE, path="/sign-in/oidc")
    return response
