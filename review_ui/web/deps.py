"""Request dependencies: the database session, who is signed in, what they may do.

Authorisation is decided here and in :mod:`review_ui.web.access`, never in
templates: a route states the roles it allows (``Depends(allow(...))``) and
item routes check the item's locality with :func:`review_ui.web.access.visible_item`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from early_warning.wording import Wording
from review_ui.store import Role, append_audit, write_transaction
from review_ui.store.audit import AuditAction
from review_ui.web.case_file_reads import CaseFileReadLimit
from review_ui.web.client_address import client_address
from review_ui.web.security import cross_site, submitted_csrf_token, tokens_match
from review_ui.web.sessions import SignedIn, session_cookie


class SignInRequired(Exception):
    """No valid session: pages redirect to sign-in, the API answers 401."""


class Forbidden(Exception):
    """Signed in, but this role may not use this page or action (403)."""


class NotFound(Exception):
    """No such thing, or not one this user may see - the two look the same (404)."""


class CsrfFailed(Exception):
    """A state-changing request without the session's CSRF token (403)."""


class TooManyCaseFileReads(Exception):
    """Over the per-user limit on reading case files (429, with ``Retry-After``)."""

    def __init__(self, retry_after_seconds: int, per_minute: int) -> None:
        super().__init__(f"more than {per_minute} case files a minute")
        self.retry_after_seconds = retry_after_seconds
        self.per_minute = per_minute


def database(request: Request) -> Iterator[Session]:
    db = request.app.state.session_factory()
    try:
        yield db
    finally:
        db.close()


Db = Annotated[Session, Depends(database)]


def app_wording(request: Request) -> Wording:
    """The app's words (a council's ``wording.yaml`` over the default), as its templates use them."""
    wording: Wording = request.app.state.wording
    return wording


AppWording = Annotated[Wording, Depends(app_wording)]


def client_source(request: Request) -> str | None:
    """Where a request came from (the client a trusted proxy names), for throttling and the audit log."""
    return client_address(
        request.client.host if request.client else None,
        request.headers.get("x-forwarded-for"),
        request.app.state.trusted_proxies,
    )


def signed_in(request: Request, db: Db) -> SignedIn:
    found = request.app.state.sessions.find(db, session_cookie(request))
    if found is None:
        raise SignInRequired
    request.state.signed_in = found
    return found


def allow(*roles: Role) -> Callable[..., SignedIn]:
    """A dependency that lets only these roles through (any other signed-in user gets 403).

    A refusal is written to the audit log (who, which page, from where), as
    an item refused for its locality is: an administrator reading the log
    should see someone trying pages their role does not give them.
    """

    def check(request: Request, db: Db, who: Annotated[SignedIn, Depends(signed_in)]) -> SignedIn:
        if who.user.role not in roles:
            with write_transaction(db):
                append_audit(
                    session=db,
                    actor=who.user.username,
                    action=AuditAction.PAGE_REFUSED,
                    item_id=None,
                    person_id=None,
                    detail={"method": request.method, "path": request.url.path},
                    source=client_source(request),
                )
            raise Forbidden
        return who

    return check


async def csrf_protected(request: Request, who: Annotated[SignedIn, Depends(signed_in)]) -> SignedIn:
    """For every POST: not from another site, and the session's CSRF token must come back."""
    if cross_site(request) or not tokens_match(who.csrf_token, await submitted_csrf_token(request)):
        raise CsrfFailed
    return who


Reviewer = Annotated[SignedIn, Depends(allow(Role.CASEWORKER, Role.TEAM_LEAD))]


def case_file_reader(request: Request, db: Db, who: Reviewer) -> SignedIn:
    """A reviewer about to read a case file, within their per-minute limit
    (:mod:`review_ui.web.case_file_reads`); over it, the refusal is audited and answered 429."""
    limit: CaseFileReadLimit = request.app.state.case_file_reads
    refused = limit.admit(db, who.user.id)
    if refused is not None:
        with write_transaction(db):
            append_audit(
                session=db,
                actor=who.user.username,
                action=AuditAction.CASE_FILE_READS_REFUSED,
                detail={
                    "method": request.method,
                    "path": request.url.path,
                    "limit_per_minute": limit.per_minute,
                },
                source=client_source(request),
            )
        raise TooManyCaseFileReads(refused.retry_after_seconds, limit.per_minute)
    return who


#: A reviewer reading a case file (the person page, its household page, the API's item): counted
#: against their limit.
CaseFileReader = Annotated[SignedIn, Depends(case_file_reader)]
TeamLead = Annotated[SignedIn, Depends(allow(Role.TEAM_LEAD))]
Administrator = Annotated[SignedIn, Depends(allow(Role.ADMINISTRATOR))]
LearningReader = Annotated[SignedIn, Depends(allow(Role.ANALYST, Role.TEAM_LEAD))]
AnyUser = Annotated[SignedIn, Depends(signed_in)]
Posted = Annotated[SignedIn, Depends(csrf_protected)]
