"""Where you are signed in: every signed-in user's own open sessions, and ending them.

OWASP ASVS 5.0 7.5.2: a user can see their active sessions and end any of them,
for example after signing in on a shared computer and walking away. The page
shows only when each session started, when it was last used and where from (the
address the sign-in throttle and the audit log record); never a token or the
stored id, only a reference derived from it
(:func:`review_ui.web.sessions.session_reference`). A user can end only their own
sessions: a reference to anyone else's is "not found", the same as one that never
existed. Viewing the list and each ending are audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from review_ui.store import append_audit, write_transaction
from review_ui.store.audit import AuditAction
from review_ui.store.users import end_sessions
from review_ui.web.deps import AnyUser, Db, Posted, client_source
from review_ui.web.render import render
from review_ui.web.sessions import SessionStore, session_reference

router = APIRouter(include_in_schema=False)

PATH = "/account/sessions"
NOTICES = {
    "one": "You have been signed out of that session.",
    "others": "You have been signed out everywhere else.",
}


@router.get(PATH)
def sessions_page(request: Request, db: Db, who: AnyUser, ended: str = "") -> Response:
    store: SessionStore = request.app.state.sessions
    sessions = store.open_sessions(db, who.user.id, who.session_id)
    with write_transaction(db):
        append_audit(
            session=db,
            actor=who.user.username,
            action=AuditAction.SESSIONS_VIEWED,
            detail={"open_sessions": len(sessions)},
            source=client_source(request),
        )
    return render(
        request,
        "account_sessions.html",
        {
            "title": "Where you are signed in",
            "sessions": sessions,
            "others": sum(not s.current for s in sessions),
            "notice": NOTICES.get(ended),
        },
    )


@router.post(f"{PATH}/end")
def end_one_session(
    request: Request, db: Db, who: Posted, session: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    """End one of the user's own other sessions (this one ends with "Sign out")."""
    store: SessionStore = request.app.state.sessions
    if session == session_reference(who.session_id) or not store.end_one(db, who.user.id, session):
        return render(
            request,
            "error.html",
            {"title": "Session not found", "message": "That session has already ended, or is not yours."},
            status_code=404,
        )
    with write_transaction(db):
        append_audit(
            session=db,
            actor=who.user.username,
            action=AuditAction.SESSION_ENDED,
            detail={"sessions_ended": 1},
            source=client_source(request),
        )
    return RedirectResponse(f"{PATH}?ended=one", status_code=303)


@router.post(f"{PATH}/end-others")
def end_other_sessions(request: Request, db: Db, who: Posted) -> Response:
    """Sign out everywhere else: every open session of the user but this one."""
    store: SessionStore = request.app.state.sessions
    others = sum(not s.current for s in store.open_sessions(db, who.user.id, who.session_id))
    with write_transaction(db):
        end_sessions(session=db, user_id=who.user.id, keep=who.session_id)
        append_audit(
            session=db,
            actor=who.user.username,
            action=AuditAction.SESSION_ENDED,
            detail={"sessions_ended": others, "everywhere_else": True},
            source=client_source(request),
        )
    return RedirectResponse(f"{PATH}?ended=others", status_code=303)
