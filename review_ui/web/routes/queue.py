"""The review list, and claiming and releasing items from it.

``GET /queue`` is a reviewer's list for their locality (a team lead can switch
to the "No known address" list), filtered by a plain GET form. Claim and
release are ordinary POST forms that redirect back (303), so they work
without JavaScript; with htmx (``HX-Request``) they answer with just the
updated row, and say in the row why an action could not be done. Every view
of the list is written to the audit log (who, which list, which filters).
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from review_ui.routing import unstaffed_localities
from review_ui.store import QueueError, ReviewItem, append_audit, claim_item, release_item, write_transaction
from review_ui.store.audit import AuditAction
from review_ui.store.tables import Role
from review_ui.web.access import visible_item
from review_ui.web.deps import Db, NotFound, Posted, Reviewer, client_source
from review_ui.web.queue_view import (
    ASSIGNED_FIXED,
    SORT_CHOICES,
    STATUS_CHOICES,
    ListFilters,
    list_locality,
    notice_for,
    parse_filters,
    queue_counts,
    queue_page,
    row_for,
    why_not,
)
from review_ui.web.render import render
from review_ui.web.work_view import locality_precision

router = APIRouter(include_in_schema=False)

MAX_ITEM_ID = 2**31 - 1
ITEM_PATH = re.compile(r"/items/[0-9]{1,10}")

ReturnTo = Annotated[str, Form(max_length=2000)]


def item_for(db: Db, request: Request, who: Reviewer, item_id: int) -> ReviewItem:
    """The item if this reviewer may see it; otherwise 404 (and the attempt is audited)."""
    if not 0 < item_id <= MAX_ITEM_ID:  # no such id can exist (and PostgreSQL would refuse to look)
        with write_transaction(db):
            append_audit(
                session=db,
                actor=who.user.username,
                action=AuditAction.ITEM_VIEW_REFUSED,
                detail={"requested_item_id": item_id if abs(item_id) < 2**53 else str(item_id)},
                source=client_source(request),
            )
        raise NotFound
    return visible_item(db, who.user, item_id, source=client_source(request))


def safe_return(target: str | None, default: str) -> str:
    """Only the list or an item page of this site: a form cannot send anyone elsewhere."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not (parts.path == "/queue" or ITEM_PATH.fullmatch(parts.path)):
        return default
    return parts.path + (f"?{parts.query}" if parts.query else "")


def with_notice(target: str, notice: str, item_id: int) -> str:
    """``target`` with ``?notice=…&item=…`` for the page to show a message about the action."""
    parts = urlsplit(target)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("notice", "item")]
    query += [("notice", notice), ("item", str(item_id))]
    return f"{parts.path}?{urlencode(query)}"


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


@router.get("/queue")
def review_list(request: Request, db: Db, who: Reviewer) -> Response:
    user = who.user
    params = dict(request.query_params)
    page = queue_page(
        db,
        viewer=user,
        filters=parse_filters(user, params),
        page_size=request.app.state.settings.page_size,
        wording=request.app.state.wording,
    )
    review_app = request.app.state.review_app
    precision = locality_precision(
        db,
        page.filters.locality,
        last=review_app.precision_last_reviews,
        minimum=review_app.precision_minimum_reviews,
    )
    notice = notice_for(db, viewer=user, notice=params.get("notice"), item_id=params.get("item"))
    filters = page.filters
    with write_transaction(db):
        append_audit(
            session=db,
            actor=user.username,
            action=AuditAction.QUEUE_VIEWED,
            detail={"locality": filters.locality, "filters": filters.as_audit(), "page": filters.page},
            source=client_source(request),
        )
    return render(
        request,
        "queue.html",
        {
            "title": "Review list",
            "page": page,
            "filters": filters,
            "notice": notice,
            "precision": precision,
            "return_to": filters.url(),
            "own_list": ListFilters(locality=user.locality or "").url(),
            "unknown_list": ListFilters(locality="unknown").url(),
            # Team leads are told of open items in localities nobody works (issue 17 row 15).
            "unstaffed": unstaffed_localities(db) if user.role == Role.TEAM_LEAD else {},
            "STATUS_CHOICES": STATUS_CHOICES,
            "SORT_CHOICES": SORT_CHOICES,
            "ASSIGNED_FIXED": ASSIGNED_FIXED,
        },
    )


@router.get("/queue/counts")
def review_list_counts(request: Request, db: Db, who: Reviewer) -> Response:
    """The counts at the top of the list, for htmx to refresh after a claim or release."""
    locality = list_locality(who.user, request.query_params.get("locality"))
    counts = queue_counts(db, locality=locality, viewer=who.user)
    with write_transaction(db):
        append_audit(
            session=db,
            actor=who.user.username,
            action=AuditAction.QUEUE_VIEWED,
            detail={"locality": locality, "counts_only": True},
            source=client_source(request),
        )
    return render(
        request, "partials/queue_counts.html", {"counts": counts, "filters": ListFilters(locality=locality)}
    )


def _act(request: Request, db: Db, who: Reviewer, item_id: int, return_to: str, action: str) -> Response:
    item = item_for(db, request, who, item_id)
    target = safe_return(return_to, "/queue")
    try:
        if action == "claim":
            claim_item(session=db, item_id=item.id, user=who.user, source=client_source(request))
        else:
            release_item(session=db, item_id=item.id, user=who.user, source=client_source(request))
    except QueueError:
        if is_htmx(request):
            message = why_not(db, item=item, viewer=who.user, action=action)
            return _htmx_row(request, db, who, item, message, target, announce=message)
        return RedirectResponse(with_notice(target, f"{action}-failed", item.id), status_code=303)
    done = "claimed" if action == "claim" else "released"
    if is_htmx(request):
        said = notice_for(db, viewer=who.user, notice=done, item_id=str(item.id))
        return _htmx_row(request, db, who, item, None, target, announce=said["text"] if said else "")
    return RedirectResponse(with_notice(target, done, item.id), status_code=303)


def _htmx_row(
    request: Request,
    db: Db,
    who: Reviewer,
    item: ReviewItem,
    message: str | None,
    return_to: str,
    *,
    announce: str,
) -> Response:
    """The row after a claim or release, for htmx to swap in: its action (or link) takes the
    focus (``autofocus``, which htmx honours after a swap, so a keyboard user is not dropped to
    the top of the page), and the page's live region says what happened (an out-of-band swap)."""
    db.refresh(item)
    response = render(
        request,
        "partials/queue_row.html",
        {
            "row": row_for(db, item=item, viewer=who.user, wording=request.app.state.wording),
            "message": message,
            "return_to": return_to,
            "focus": True,
            "announce": announce,
        },
    )
    response.headers["HX-Trigger"] = "queue-changed"
    return response


@router.post("/items/{item_id}/claim")
def claim(
    request: Request, db: Db, _posted: Posted, who: Reviewer, item_id: int, return_to: ReturnTo = "/queue"
) -> Response:
    return _act(request, db, who, item_id, return_to, "claim")


@router.post("/items/{item_id}/release")
def release(
    request: Request, db: Db, _posted: Posted, who: Reviewer, item_id: int, return_to: ReturnTo = "/queue"
) -> Response:
    return _act(request, db, who, item_id, return_to, "release")
