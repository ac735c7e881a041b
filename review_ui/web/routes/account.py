"""Changing your own password: for every signed-in user with a local account.

The current password is asked for again (a borrowed, unlocked screen is not
enough to change it), the new one must pass the same rule as a new account's
(:func:`review_ui.web.passwords.password_problem`), and every *other*
session of the user is ended, so a change made because a password leaked
also signs out whoever used it. Wrong current passwords count towards the
sign-in throttle like any failed sign-in.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from review_ui.store import append_audit, write_transaction
from review_ui.store.audit import AuditAction
from review_ui.store.users import end_sessions
from review_ui.web.deps import AnyUser, Db, Posted, client_source
from review_ui.web.forms import new_password_problem
from review_ui.web.passwords import MIN_PASSWORD_LENGTH, hash_password, password_problem, verify_password
from review_ui.web.render import render
from review_ui.web.throttle import Admitted, SignInThrottle

router = APIRouter(include_in_schema=False)

PATH = "/account/password"


def _page(
    request: Request,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    errors = errors or {}
    return render(
        request,
        "change_password.html",
        {
            "title": "Change your password",
            "error_title_prefix": bool(errors),
            "field_errors": errors,
            "errors": [{"text": text, "href": f"#{field}"} for field, text in errors.items()],
            "notice": notice,
            "min_password": MIN_PASSWORD_LENGTH,
        },
        status_code=status_code,
    )


@router.get(PATH)
def change_password_form(request: Request, _who: AnyUser, changed: bool = False) -> Response:
    return _page(request, notice="Your password has been changed." if changed else None)


@router.post(PATH)
def change_password(
    request: Request,
    db: Db,
    who: Posted,
    current_password: Annotated[str, Form(max_length=2048)] = "",
    new_password: Annotated[str, Form(max_length=2048)] = "",
    confirm_password: Annotated[str, Form(max_length=2048)] = "",
) -> Response:
    user = who.user
    source = client_source(request)
    throttle: SignInThrottle = request.app.state.throttle
    admitted = throttle.admit(db, user.username, source)
    if not isinstance(admitted, Admitted):
        return _page(
            request,
            status_code=429,
            errors={"current_password": "Too many wrong passwords. Wait 15 minutes."},
        )
    if not verify_password(user.password_hash, current_password):
        with write_transaction(db):
            append_audit(session=db, actor=user.username, action=AuditAction.SIGN_IN_FAILED, source=source)
        return _page(
            request, status_code=400, errors={"current_password": "Your current password is not right"}
        )
    throttle.succeeded(db, admitted)
    errors = new_password_problem(
        current_password,
        new_password,
        confirm_password,
        problem=password_problem(new_password, username=user.username),
    )
    if errors:
        return _page(request, status_code=400, errors=errors)
    with write_transaction(db):
        db.merge(user).password_hash = hash_password(new_password)
        end_sessions(session=db, user_id=user.id, keep=who.session_id)
        append_audit(session=db, actor=user.username, action=AuditAction.PASSWORD_CHANGED, source=source)
    return RedirectResponse(f"{PATH}?changed=true", status_code=303)
