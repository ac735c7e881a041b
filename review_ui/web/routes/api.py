"""The JSON API: a locality's review list, one item with its case file, and recording outcomes.

The same sessions, roles and locality rules as the pages: caseworkers and
team leads only (analysts and administrators never see a person), an item
outside what the user may see is "not found", every read of a person is
audited, and POSTs need the session's CSRF token in the ``X-CSRF-Token``
header. The API never returns a score: ranks and reasons only, so it cannot
be used to export scores in bulk.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from review_ui.queue.case_file import CaseFile as CaseFileContent
from review_ui.queue.case_file import read_case_file
from review_ui.store import (
    OPEN_STATUSES,
    CaseFile,
    ContactChannel,
    ItemStatus,
    Outcome,
    QueueError,
    ReviewItem,
    User,
    append_audit,
    claim_item,
    get_item_history,
    priority_order,
    record_outcome,
    write_transaction,
)
from review_ui.store.audit import AuditAction
from review_ui.store.work_record import attempts_for, record_attempt
from review_ui.web.access import visible_item, visible_localities
from review_ui.web.deps import AnyUser, CaseFileReader, Db, NotFound, Posted, Reviewer, client_source
from review_ui.web.forms import ATTEMPT_NOTE_MAX, NOTE_MAX, STRENGTHS_MAX, WorkFields, work_form
from review_ui.web.routes.person import today

router = APIRouter(prefix="/api")

MAX_ID = 2**31 - 1
ItemId = Annotated[int, Path(ge=1, le=MAX_ID, description="The review item's number.")]


class Problem(BaseModel):
    """An error: what went wrong, in plain English."""

    detail: str


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in.", "model": Problem},
    403: {
        "description": "This role cannot use the item routes, or a POST came without the CSRF token.",
        "model": Problem,
    },
    404: {"description": "No such item, or not one you may see (the two look the same).", "model": Problem},
}
#: Reading a case file is limited per user (``case_file_reads_per_minute`` in ``review_app.yaml``).
CASE_FILE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    429: {
        "description": "Too many case files opened in the last minute; try again after Retry-After seconds.",
        "model": Problem,
        "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
    },
}


class Me(BaseModel):
    """Who is signed in."""

    username: str
    role: str
    locality: str | None


class ItemSummary(BaseModel):
    """One person on a review list: where, why and who has it - never the score."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    locality: str
    ward: str | None
    status: ItemStatus
    rank: int | None = Field(
        description="Position on the locality's list the last night it was scored (1 first)."
    )
    reasons: list[str] = Field(
        description="Why the person was surfaced, as sentences to check against the record."
    )
    services: list[str] = Field(description="The services the person was in contact with when last scored.")
    first_surfaced_on: date
    last_scored_on: date
    assigned_to: str | None = Field(description="The username of the reviewer who has the item, if anyone.")


class ItemList(BaseModel):
    items: list[ItemSummary]
    total: int = Field(description="How many items match, across all pages.")
    limit: int
    offset: int


class HistoryEntry(BaseModel):
    """A night the item was scored (or merged into another item)."""

    as_of: date
    rank: int | None
    reasons: list[str]
    services: list[str]
    merged_into_item_id: int | None


class CaseFileOut(BaseModel):
    """What the council's systems hold about the person, as of the latest night."""

    as_of: date
    content: CaseFileContent


class ItemDetail(ItemSummary):
    person_id: str = Field(description="The person's pseudonymous reference.")
    outcome: Outcome | None
    closed_at: datetime | None
    case_file: CaseFileOut | None
    history: list[HistoryEntry]


PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


class OutcomeIn(BaseModel):
    """What happened: one of the five outcomes about help, and the record of the work beside it.

    The same rules as the person page's form (:func:`review_ui.web.forms.work_form`):
    "could_not_reach" records a try to get in touch (``channel`` needed; ``tried_on`` today if
    left out, never in the future) and keeps the item open with you until ``close`` is true or
    the configured number of tries is reached; any other outcome closes the item.
    """

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    note: str | None = Field(
        default=None,
        max_length=NOTE_MAX,
        pattern=PRINTABLE,
        description="What matters to the person, and what happened, in a few words (no control characters).",
    )
    strengths: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list,
        max_length=50,
        description="Strengths from the configured short list (`review_app.yaml`: `strengths`).",
    )
    other_strengths: str | None = Field(default=None, max_length=STRENGTHS_MAX, pattern=PRINTABLE)
    follow_up_on: date | None = Field(default=None, description="An optional follow-up date, today or later.")
    channel: ContactChannel | None = Field(
        default=None, description="For could_not_reach: how you tried to get in touch."
    )
    tried_on: date | None = Field(
        default=None, description="For could_not_reach: the day you tried (today if left out)."
    )
    attempt_note: str | None = Field(
        default=None,
        max_length=ATTEMPT_NOTE_MAX,
        pattern=PRINTABLE,
        description="For could_not_reach: what you tried.",
    )
    close: bool = Field(
        default=False, description="For could_not_reach: close the item now (you will not try again)."
    )

    @field_validator("note", "other_strengths", "attempt_note")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    def form_fields(self) -> WorkFields:
        """These fields as the person page's form sends them, so one set of rules checks both."""

        def parts(day: date | None) -> tuple[str, str, str]:
            return (str(day.day), str(day.month), f"{day.year:04d}") if day else ("", "", "")

        return WorkFields(
            strengths=self.strengths,
            other_strengths=self.other_strengths or "",
            follow_up=parts(self.follow_up_on),
            channel=self.channel.value if self.channel else "",
            tried=parts(self.tried_on),
            attempt_note=self.attempt_note or "",
            close_now="yes" if self.close else "",
        )


class OutcomeRecorded(BaseModel):
    item_id: int
    status: ItemStatus = Field(
        description="`closed`, or `in_review` after a could_not_reach try that keeps the item open."
    )
    outcome: Outcome
    recorded_at: datetime
    attempts: int = Field(description="How many tries to get in touch the item now has.")
    max_attempts: int = Field(description="After this many tries, could_not_reach closes the item.")


def _usernames(db: Session, items: list[ReviewItem]) -> dict[int, str]:
    ids = {item.assigned_to_id for item in items if item.assigned_to_id is not None}
    if not ids:
        return {}
    query = select(User.id, User.username).where(User.id.in_(ids))
    return dict(db.execute(query).tuples().all())


def _summary_fields(item: ReviewItem, usernames: dict[int, str]) -> dict[str, Any]:
    return {
        "id": item.id,
        "locality": item.locality,
        "ward": item.ward,
        "status": item.status,
        "rank": item.rank,
        "reasons": list(item.reasons),
        "services": list(item.services_last_scored),
        "first_surfaced_on": item.first_surfaced_on,
        "last_scored_on": item.last_scored_on,
        "assigned_to": usernames.get(item.assigned_to_id) if item.assigned_to_id is not None else None,
    }


@router.get("/me", tags=["account"], response_model=Me, responses={401: ERRORS[401]})
def whoami(who: AnyUser) -> Me:
    """For scripts and tests: the signed-in user's name, role and locality."""
    return Me(username=who.user.username, role=who.user.role, locality=who.user.locality)


@router.get("/items", tags=["review list"], response_model=ItemList, responses=ERRORS)
def list_items(
    request: Request,
    db: Db,
    who: Reviewer,
    locality: Annotated[
        str | None,
        Query(max_length=100, description="Your own locality (the default), or `unknown` for team leads."),
    ] = None,
    status: Annotated[
        ItemStatus | None, Query(description="Only items with this status (default: new and in review).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ItemList:
    """The signed-in reviewer's list, in priority order: the latest night first, then by rank."""
    allowed = visible_localities(who.user)
    chosen = locality if locality is not None else who.user.locality
    if chosen not in allowed:
        raise NotFound
    where = [ReviewItem.locality == chosen]
    where.append(ReviewItem.status == status if status is not None else ReviewItem.status.in_(OPEN_STATUSES))
    total = db.scalar(select(func.count(ReviewItem.id)).where(*where)) or 0
    query = select(ReviewItem).where(*where).order_by(*priority_order()).offset(offset).limit(limit)
    items = list(db.scalars(query))
    usernames = _usernames(db, items)
    summaries = [ItemSummary(**_summary_fields(item, usernames)) for item in items]
    with write_transaction(db):
        append_audit(
            session=db,
            actor=who.user.username,
            action=AuditAction.QUEUE_VIEWED,
            detail={"locality": chosen, "status": status, "offset": offset, "via": "api"},
            source=client_source(request),
        )
    return ItemList(items=summaries, total=total, limit=limit, offset=offset)


@router.get("/items/{item_id}", tags=["review list"], response_model=ItemDetail, responses=CASE_FILE_ERRORS)
def get_item(request: Request, db: Db, who: CaseFileReader, item_id: ItemId) -> ItemDetail:
    """One item with the person's case file and the nights it was scored. Every read is audited,
    and counted against the user's limit on case files a minute (429 past it)."""
    source = client_source(request)
    item = visible_item(db, who.user, item_id, source=source)
    case_file = db.get(CaseFile, item.person_id)
    history = get_item_history(session=db, item_id=item.id)
    detail = ItemDetail(
        **_summary_fields(item, _usernames(db, [item])),
        person_id=item.person_id,
        outcome=Outcome(item.outcome) if item.outcome else None,
        closed_at=item.closed_at,
        case_file=(
            CaseFileOut(as_of=case_file.as_of, content=read_case_file(case_file.content))
            if case_file
            else None
        ),
        history=[
            HistoryEntry(
                as_of=row.as_of,
                rank=row.rank,
                reasons=list(row.reasons),
                services=list(row.services),
                merged_into_item_id=row.merged_into_item_id,
            )
            for row in history
        ],
    )
    with write_transaction(db):
        append_audit(
            session=db,
            actor=who.user.username,
            action=AuditAction.PERSON_VIEWED,
            item_id=item.id,
            person_id=item.person_id,
            detail={"locality": item.locality, "case_file": case_file is not None, "via": "api"},
            source=source,
        )
    return detail


@router.post(
    "/items/{item_id}/outcome",
    tags=["review list"],
    response_model=OutcomeRecorded,
    responses={
        **ERRORS,
        400: {"description": "The body is not JSON.", "model": Problem},
        409: {"description": "Someone else has the item, or it is closed.", "model": Problem},
    },
)
def post_outcome(
    request: Request, db: Db, who: Reviewer, _posted: Posted, item_id: ItemId, body: OutcomeIn
) -> OutcomeRecorded:
    """Record what happened, as the person page's form does.

    Any outcome but `could_not_reach` closes the item. `could_not_reach` records a try to get
    in touch (`channel` needed) and keeps the item with you, unless `close` is true or the
    configured number of tries is reached, when it closes with "could not reach". A new item
    that nobody has is claimed for you first. Send the session's CSRF token in the
    `X-CSRF-Token` header.
    """
    settings = request.app.state.review_app
    form = work_form(
        body.outcome, body.note or "", body.form_fields(), strengths=settings.strengths, today=today()
    )
    if form.errors:
        raise RequestValidationError(_form_problems(form.errors.fields))
    source = client_source(request)
    item = visible_item(db, who.user, item_id, source=source)
    values = form.values
    try:
        if item.status == ItemStatus.NEW and item.assigned_to_id is None:
            claim_item(session=db, item_id=item.id, user=who.user, source=source)
        if body.outcome == Outcome.COULD_NOT_REACH:
            tried = record_attempt(
                session=db,
                item_id=item.id,
                user=who.user,
                tried_on=values["tried_on"],
                channel=values["channel"],
                max_attempts=settings.could_not_reach_attempts,
                note=values["attempt_note"] or None,
                follow_up_on=values["follow_up_on"],
                close=values["close_now"],
                source=source,
            )
            closed = tried.closed_with is not None
            at = tried.closed_with.at if tried.closed_with is not None else tried.attempt.at
        else:
            review = record_outcome(
                session=db,
                item_id=item.id,
                user=who.user,
                outcome=body.outcome,
                note=values["note"] or None,
                strengths=values["strengths"],
                other_strengths=values["other_strengths"] or None,
                follow_up_on=values["follow_up_on"],
                source=source,
            )
            closed, at = True, review.at
    except QueueError as error:
        raise HTTPException(409, detail=_conflict_message(db, item_id, who.user, error)) from None
    return OutcomeRecorded(
        item_id=item_id,
        status=ItemStatus.CLOSED if closed else ItemStatus.IN_REVIEW,
        outcome=body.outcome,
        recorded_at=at,
        attempts=len(attempts_for(db, [item_id])[item_id]),
        max_attempts=settings.could_not_reach_attempts,
    )


#: The form's field names (and GOV.UK date fields) as the API's body names them.
_API_FIELDS = {"follow_up": "follow_up_on", "tried": "tried_on"}


def _form_problems(fields: dict[str, str]) -> list[dict[str, Any]]:
    """The form's messages as FastAPI's validation errors: the app answers them as any 422."""
    return [
        {"loc": ["body", _API_FIELDS.get(name, name)], "msg": message, "type": "value_error"}
        for name, message in fields.items()
    ]


def _conflict_message(db: Session, item_id: int, user: User, error: QueueError) -> str:
    db.rollback()
    item = db.get(ReviewItem, item_id, populate_existing=True)
    if item is not None and item.status == ItemStatus.IN_REVIEW and item.assigned_to_id != user.id:
        return "Someone else is reviewing this item. Ask your team lead if it should be given to you."
    if item is not None and item.status == ItemStatus.CLOSED:
        return "This item is already closed: an outcome has been recorded."
    if item is not None and item.status == ItemStatus.MERGED:
        return f"This item was merged into item {item.merged_into_id} (the same person): record the outcome there."
    message = str(error)
    return message[:1].upper() + message[1:] + "."
