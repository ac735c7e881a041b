"""The person page: why someone is on the list, who they are, and recording what happened.

Only a caseworker or team lead who may see the item's list can open it
(anyone else gets "not found", and the attempt is audited), and every view
is written to the audit log with the item and person. The only actions are a
reviewer's: claim, release, record one of the five outcomes about help,
(for a team lead) give the item to someone in the team, and say that one of
the joined records is not this person (kept apart by linkage from the next
night on). Nothing here acts on the person.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from review_ui.store import (
    Outcome,
    QueueError,
    ReviewItem,
    User,
    append_audit,
    reassign_item,
    record_outcome,
    write_transaction,
)
from review_ui.store.audit import AuditAction
from review_ui.store.link_constraints import (
    MAX_REASON_LENGTH,
    ConstraintError,
    RecordKey,
    add_not_same_person,
)
from review_ui.store.tables import UNKNOWN_LOCALITY
from review_ui.store.work_record import record_attempt
from review_ui.web.deps import CaseFileReader, Db, NotFound, Posted, Reviewer, TeamLead, client_source
from review_ui.web.forms import ATTEMPT_NOTE_MAX, NOTE_MAX, STRENGTHS_MAX, WorkFields, work_form
from review_ui.web.person_view import PersonPage, household_of, person_page
from review_ui.web.queue_view import notice_for
from review_ui.web.render import render
from review_ui.web.routes.queue import item_for, safe_return, with_notice
from review_ui.web.work_view import CHANNEL_LABELS, changes_for, locality_precision, work_record

router = APIRouter(include_in_schema=False)

LONDON = ZoneInfo("Europe/London")

MARKED_NOTICE = "record-marked"
MARKED_TEXT = (
    "You said the record is not this person. From the next nightly update it will be kept apart "
    "from this person's other records, and the reasons they are on the list will be worked out without it."
)

#: A hint under each outcome, so everyone means the same by it.
OUTCOME_HINTS = {
    "help_offered": "You got in touch and offered help or support, or put them in touch with someone who can.",
    "already_supported": "A council service or another organisation is already helping them.",
    "no_help_needed": "You got in touch and they do not need help at the moment.",
    "could_not_reach": "You tried to get in touch but could not reach them. This records the attempt: "
    "the item stays with you until you close it, or after the set number of attempts.",
    "declined": "You got in touch and offered help, but they did not want it.",
}


def back_to_list(item: ReviewItem, back: str | None) -> str:
    """The list the reviewer came from, with its filters (``?back=``), else the item's own list.

    Only the review list of this site: a link cannot send anyone elsewhere.
    """
    default = "/queue?locality=unknown" if item.locality == UNKNOWN_LOCALITY else "/queue"
    target = safe_return(back, default)
    return target if target.split("?", 1)[0] == "/queue" else default


def _item_address(item: ReviewItem, back_to: str) -> str:
    """The person page's own address, keeping the list to go back to."""
    if back_to in ("/queue", "/queue?locality=unknown"):
        return f"/items/{item.id}"
    return f"/items/{item.id}?{urlencode({'back': back_to})}"


def _show(
    request: Request,
    db: Db,
    who: Reviewer,
    item: ReviewItem,
    *,
    errors: list[dict[str, str]] | None = None,
    field_errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    """Render the person page and record the view (it shows personal details)."""
    user = who.user
    params = request.query_params
    page = person_page(
        db,
        item=item,
        viewer=user,
        wording=request.app.state.wording,
        show_all=params.get("timeline") == "all",
        open_days=request.app.state.review_app.involvement_open_days,
    )
    back_to = back_to_list(item, params.get("back"))
    notice = notice_for(db, viewer=user, notice=params.get("notice"), item_id=params.get("item"))
    if params.get("notice") == MARKED_NOTICE:
        notice = {"success": True, "item_id": item.id, "text": MARKED_TEXT}
    with write_transaction(db):
        append_audit(
            session=db,
            actor=user.username,
            action=AuditAction.PERSON_VIEWED,
            item_id=item.id,
            person_id=item.person_id,
            detail={"locality": item.locality, "case_file": page.case_file is not None},
            source=client_source(request),
        )
    wording = request.app.state.wording
    settings = request.app.state.review_app
    work = work_record(db, item, max_attempts=settings.could_not_reach_attempts)
    work_context = {
        "work": work,
        "change": changes_for(db, [item], wording)[item.id],
        "precision": locality_precision(
            db,
            item.locality,
            last=settings.precision_last_reviews,
            minimum=settings.precision_minimum_reviews,
        ),
        "strengths": settings.strengths,
        "channels": CHANNEL_LABELS,
        "values": values or {},
        "field_errors": field_errors or {},
        "back_to": back_to,
    }
    outcomes = [
        {
            "value": value,
            "text": wording.outcome_label(value),
            "hint": {"text": OUTCOME_HINTS[value]},
            "checked": (values or {}).get("outcome") == value,
        }
        for value in (o.value for o in Outcome)
    ]
    return render(
        request,
        "person.html",
        {
            "title": f"Item {item.id}",
            "error_title_prefix": bool(errors),
            "page": page,
            "item": item,
            "notice": notice,
            "errors": errors or [],
            "field_errors": field_errors or {},
            "values": values or {},
            "outcomes": outcomes,
            "note_max": NOTE_MAX,
            "return_to": _item_address(item, back_to),
            # ?reason=N (a reason's link): the timeline entries behind reason N are highlighted.
            "highlight": int(params["reason"]) if params.get("reason", "").isdigit() else None,
            **work_context,
        },
        status_code=status_code,
    )


@router.get("/items/{item_id}")
def person(request: Request, db: Db, who: CaseFileReader, item_id: int) -> Response:
    item = item_for(db, request, who, item_id)
    return _show(request, db, who, item)


DateField = Annotated[str, Form(max_length=10)]


@router.post("/items/{item_id}/outcome")
def outcome(
    request: Request,
    db: Db,
    _posted: Posted,
    who: Reviewer,
    item_id: int,
    outcome: Annotated[str, Form(max_length=100)] = "",
    note: Annotated[str, Form(max_length=20 * NOTE_MAX)] = "",
    strengths: Annotated[list[str], Form(max_length=50)] = [],  # noqa: B006 - FastAPI copies defaults
    other_strengths: Annotated[str, Form(max_length=20 * STRENGTHS_MAX)] = "",
    follow_up_day: Annotated[str, Form(alias="follow_up-day", max_length=10)] = "",
    follow_up_month: Annotated[str, Form(alias="follow_up-month", max_length=10)] = "",
    follow_up_year: Annotated[str, Form(alias="follow_up-year", max_length=10)] = "",
    channel: Annotated[str, Form(max_length=40)] = "",
    tried_day: Annotated[str, Form(alias="tried-day", max_length=10)] = "",
    tried_month: Annotated[str, Form(alias="tried-month", max_length=10)] = "",
    tried_year: Annotated[str, Form(alias="tried-year", max_length=10)] = "",
    attempt_note: Annotated[str, Form(max_length=20 * ATTEMPT_NOTE_MAX)] = "",
    close_now: Annotated[str, Form(max_length=10)] = "",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    item = item_for(db, request, who, item_id)
    settings = request.app.state.review_app
    fields = WorkFields(
        strengths=[s[:100] for s in strengths],
        other_strengths=other_strengths,
        follow_up=(follow_up_day, follow_up_month, follow_up_year),
        channel=channel,
        tried=(tried_day, tried_month, tried_year),
        attempt_note=attempt_note,
        close_now=close_now,
    )
    form = work_form(outcome, note, fields, strengths=settings.strengths, today=today())
    if form.errors:
        return _show(
            request,
            db,
            who,
            item,
            errors=form.errors.summary,
            field_errors=form.errors.fields,
            values=form.values,
            status_code=400,
        )
    back_to = back_to_list(item, back)
    try:
        if outcome == Outcome.COULD_NOT_REACH:
            done = _attempt(request, db, who, item, form.values)
            if not done:
                page = _item_address(item, back_to)
                return RedirectResponse(with_notice(page, "attempt-recorded", item.id), status_code=303)
        else:
            values = form.values
            record_outcome(
                session=db,
                item_id=item.id,
                user=who.user,
                outcome=outcome,
                note=values["note"] or None,
                strengths=values["strengths"],
                other_strengths=values["other_strengths"] or None,
                follow_up_on=values["follow_up_on"],
                source=client_source(request),
            )
    except QueueError:
        return RedirectResponse(with_notice(f"/items/{item.id}", "outcome-failed", item.id), status_code=303)
    return RedirectResponse(with_notice(back_to, "recorded", item.id), status_code=303)


def today() -> date:
    """Today in the council's time zone (the dates a caseworker types are local dates)."""
    return datetime.now(LONDON).date()


def _attempt(request: Request, db: Db, who: Reviewer, item: ReviewItem, values: dict[str, Any]) -> bool:
    """Record a "could not reach" attempt; True if it closed the item."""
    recorded = record_attempt(
        session=db,
        item_id=item.id,
        user=who.user,
        tried_on=values["tried_on"],
        channel=values["channel"],
        max_attempts=request.app.state.review_app.could_not_reach_attempts,
        note=values["attempt_note"] or None,
        follow_up_on=values["follow_up_on"],
        close=values["close_now"],
        source=client_source(request),
    )
    return recorded.closed_with is not None


@router.post("/items/{item_id}/reassign")
def reassign(
    request: Request,
    db: Db,
    _posted: Posted,
    who: TeamLead,
    item_id: int,
    to_user: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    item = item_for(db, request, who, item_id)
    if not item.is_open:
        return RedirectResponse(with_notice(f"/items/{item.id}", "reassign-failed", item.id), status_code=303)
    page = person_page(db, item=item, viewer=who.user, wording=request.app.state.wording)
    allowed = {str(user_id) for user_id, _ in page.reviewers}
    if to_user not in allowed:
        message = "Select who should review this item"
        return _show(
            request,
            db,
            who,
            item,
            errors=[{"text": message, "href": "#to_user"}],
            field_errors={"to_user": message},
            status_code=400,
        )
    target = db.get(User, int(to_user))
    assert target is not None  # it is one of the reviewers just listed
    try:
        reassign_item(
            session=db, item_id=item.id, user=who.user, to_user=target, source=client_source(request)
        )
    except QueueError:
        return RedirectResponse(with_notice(f"/items/{item.id}", "reassign-failed", item.id), status_code=303)
    return RedirectResponse(with_notice(f"/items/{item.id}", "reassigned", item.id), status_code=303)


def _marked_record(page: PersonPage, source: str, reference: str) -> RecordKey:
    """The record named in the request if it is one of this person's that can still be marked, else 404."""
    key = RecordKey(source, reference)
    if page.case_file is None or not page.can_mark(key):
        raise NotFound
    return key


def _show_not_this_person(
    request: Request, item: ReviewItem, key: RecordKey, *, error: str | None = None, reason: str = ""
) -> Response:
    return render(
        request,
        "not_this_person.html",
        {
            "title": "This record is not this person",
            "error_title_prefix": error is not None,
            "item": item,
            "record": key,
            "errors": [{"text": error, "href": "#reason"}] if error else [],
            "error": error,
            "reason": reason,
            "reason_max": MAX_REASON_LENGTH,
        },
        status_code=400 if error else 200,
    )


@router.get("/items/{item_id}/not-this-person")
def not_this_person_form(
    request: Request, db: Db, who: Reviewer, item_id: int, source: str = "", reference: str = ""
) -> Response:
    item = item_for(db, request, who, item_id)
    key = _marked_record(
        person_page(db, item=item, viewer=who.user, wording=request.app.state.wording), source, reference
    )
    return _show_not_this_person(request, item, key)


@router.post("/items/{item_id}/not-this-person")
def not_this_person(
    request: Request,
    db: Db,
    _posted: Posted,
    who: Reviewer,
    item_id: int,
    source: Annotated[str, Form(max_length=200)] = "",
    reference: Annotated[str, Form(max_length=400)] = "",
    reason: Annotated[str, Form(max_length=20 * MAX_REASON_LENGTH)] = "",
) -> Response:
    """Keep a record apart from the person it was joined to, from the next night on (audited)."""
    item = item_for(db, request, who, item_id)
    page = person_page(db, item=item, viewer=who.user, wording=request.app.state.wording)
    key = _marked_record(page, source, reference)
    try:
        add_not_same_person(
            session=db,
            user=who.user,
            person_id=item.person_id,
            record=key,
            other_records=[k for k in page.record_keys() if k != key],
            reason=reason,
            item_id=item.id,
            source=client_source(request),
        )
    except ConstraintError as problem:
        return _show_not_this_person(request, item, key, error=str(problem), reason=reason.strip())
    return RedirectResponse(with_notice(f"/items/{item.id}", MARKED_NOTICE, item.id), status_code=303)


@router.get("/items/{item_id}/household")
def household(request: Request, db: Db, who: CaseFileReader, item_id: int) -> Response:
    """Which services know the other people at the address: a third party's involvement, so it is
    shown only when the caseworker opens it, and every opening is audited.

    It reads a case file (other residents' service involvement), so it counts against the
    reader's per-minute limit like the person page (:mod:`review_ui.web.case_file_reads`);
    otherwise a script could walk every item's household unthrottled. It reads only the case
    file's household section, not the whole person page."""
    item = item_for(db, request, who, item_id)
    found = household_of(db, item)
    if found is None:
        raise NotFound
    with write_transaction(db):
        append_audit(
            session=db,
            actor=who.user.username,
            action=AuditAction.HOUSEHOLD_VIEWED,
            item_id=item.id,
            person_id=item.person_id,
            detail={"locality": item.locality, "members": len(found.members)},
            source=client_source(request),
        )
    return render(
        request,
        "household.html",
        {
            "title": request.app.state.wording.page_words("household_shown_heading"),
            "item": item,
            "household": found,
        },
    )
