"""What the review list shows, read from the queue database, and the messages after an action.

Routes stay thin: they parse the request, call one function here and render.
Nothing here writes (the audit entries for views are written by the routes),
and nothing here reads or shows an item's score: the list is in priority
order (the latest night first, then the night's rank) and says so in words.

The list shows no personal details, only item references, wards, reasons and
services; names and contact details come from the case file, shown only on
the person page (:mod:`review_ui.web.person_view`), whose every view is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from early_warning.wording import Wording
from review_ui.store import ItemStatus, ReviewItem, Role, User, priority_order
from review_ui.store.tables import OPEN_STATUSES, UNKNOWN_LOCALITY
from review_ui.web.access import visible_localities
from review_ui.web.templating import DEFAULT_WORDING
from review_ui.web.work_view import Change, attempt_counts, changes_for

STATUS_CHOICES = {
    "open": "New and in review",
    "new": "New",
    "in_review": "In review",
    "closed": "Closed",
    "done_by_me": "Done by me",
}
#: The list's views of closed items: every closed item of the list, or those the viewer closed.
CLOSED_VIEWS = ("closed", "done_by_me")
SORT_CHOICES = {"priority": "Priority", "waiting": "Longest waiting", "ward": "Ward"}
ASSIGNED_FIXED = {"anyone": "Anyone", "me": "Me", "unassigned": "No one yet"}


@dataclass(frozen=True)
class ListFilters:
    """The list's filters, sort and page, as chosen in the GET form (unknown values fall back)."""

    locality: str
    status: str = "open"
    ward: str = ""
    assigned: str = "anyone"
    sort: str = "priority"
    page: int = 1

    def as_audit(self) -> dict[str, Any]:
        return {"status": self.status, "ward": self.ward, "assigned": self.assigned, "sort": self.sort}

    def url(self, **changes: Any) -> str:
        """The list's address with these filters (defaults left out), e.g. for a page link."""
        values = {
            "locality": self.locality if self.locality == UNKNOWN_LOCALITY else "",
            "status": self.status if self.status != "open" else "",
            "ward": self.ward,
            "assigned": self.assigned if self.assigned != "anyone" else "",
            "sort": self.sort if self.sort != "priority" else "",
            "page": str(self.page) if self.page != 1 else "",
        }
        values.update({key: str(value) for key, value in changes.items()})
        if values["page"] == "1":
            values["page"] = ""
        query = urlencode({key: value for key, value in values.items() if value})
        return "/queue" + (f"?{query}" if query else "")

    @property
    def is_filtered(self) -> bool:
        return self.status != "open" or bool(self.ward) or self.assigned != "anyone"

    @property
    def is_closed_view(self) -> bool:
        return self.status in CLOSED_VIEWS


def list_locality(user: User, requested: str | None) -> str:
    """The list a user asked for if they may see it, else their own locality's."""
    allowed = visible_localities(user)
    if requested and requested in allowed:
        return requested
    return user.locality or ""


def parse_filters(user: User, params: dict[str, str]) -> ListFilters:
    """Filters from the query string; anything not understood is the default."""
    page_text = params.get("page", "1").strip()
    page = int(page_text) if page_text.isdigit() and len(page_text) < 7 else 1
    status = params.get("status", "open")
    sort = params.get("sort", "priority")
    return ListFilters(
        locality=list_locality(user, params.get("locality")),
        status=status if status in STATUS_CHOICES else "open",
        ward=params.get("ward", "").strip()[:100],
        assigned=params.get("assigned", "anyone").strip()[:20] or "anyone",
        sort=sort if sort in SORT_CHOICES else "priority",
        page=max(page, 1),
    )


@dataclass(frozen=True)
class QueueRow:
    """One row of the list: a reference and why, never a name or a score."""

    id: int
    ward: str | None
    reason: str
    services: list[str]
    first_surfaced_on: date
    status: str
    assigned_to_name: str | None
    mine: bool
    can_claim: bool
    can_release: bool
    #: New on the latest night, or changed since the night before (and how).
    change: Change = field(default_factory=Change)
    #: Tries to get in touch so far ("Could not reach" keeps the item open).
    attempts: int = 0
    outcome: str | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True)
class QueueCounts:
    waiting: int
    in_review: int
    mine: int


@dataclass
class QueuePage:
    filters: ListFilters
    rows: list[QueueRow]
    total: int
    pages: int
    counts: QueueCounts
    wards: list[str]
    reviewers: list[tuple[int, str]]
    pagination: dict[str, Any] = field(default_factory=dict)
    #: The positions of this page's first and last rows in the whole list (1-based).
    first: int = 0
    last: int = 0


def reviewers_for(db: Session, *, locality: str, viewer: User) -> list[User]:
    """Active people who can work a list: its locality's caseworkers and team leads.

    The "unknown" list is worked by team leads only: a caseworker given one of
    its items could not open it (:func:`review_ui.store.reassign_item` refuses).
    """
    reviewer = User.role.in_([Role.CASEWORKER, Role.TEAM_LEAD])
    if locality == UNKNOWN_LOCALITY:
        who: ColumnElement[bool] = User.role == Role.TEAM_LEAD
    else:
        who = User.locality == locality
    query = select(User).where(User.active.is_(True), reviewer, who).order_by(User.display_name, User.id)
    return list(db.scalars(query))


def display_names(db: Session, ids: set[int | None]) -> dict[int, str]:
    """The display names of these users (None ignored), in one query."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u.display_name for u in db.scalars(select(User).where(User.id.in_(wanted)))}


def queue_row(
    item: ReviewItem,
    viewer: User,
    names: dict[int, str],
    change: Change | None = None,
    attempts: int = 0,
) -> QueueRow:
    mine = item.assigned_to_id is not None and item.assigned_to_id == viewer.id
    in_review = item.status == ItemStatus.IN_REVIEW
    return QueueRow(
        id=item.id,
        ward=item.ward,
        reason=item.reasons[0] if item.reasons else "",
        services=list(item.services_last_scored or []),
        first_surfaced_on=item.first_surfaced_on,
        status=item.status,
        assigned_to_name=names.get(item.assigned_to_id) if item.assigned_to_id else None,
        mine=mine,
        can_claim=item.status == ItemStatus.NEW,
        can_release=in_review and (mine or viewer.role == Role.TEAM_LEAD),
        change=change or Change(),
        attempts=attempts,
        outcome=item.outcome,
        closed_at=item.closed_at,
    )


def row_for(db: Session, *, item: ReviewItem, viewer: User, wording: Wording = DEFAULT_WORDING) -> QueueRow:
    return queue_row(
        item,
        viewer,
        display_names(db, {item.assigned_to_id}),
        change=changes_for(db, [item], wording)[item.id],
        attempts=attempt_counts(db, [item.id]).get(item.id, 0),
    )


@dataclass(frozen=True)
class ListTally:
    """A list's open items counted per status, who has them and ward, read in one query.

    The counts at the top of the list, the ward choices of its filter and the
    total for any filter all come from these few rows (a few hundred at most,
    however long the list), read from ``ix_review_items_counts`` alone. Read
    afresh for every page view, so they are never out of date after a night
    or someone's action, and no cache has to be kept right.
    """

    #: (status, assigned_to_id, ward, how many)
    groups: list[tuple[str, int | None, str | None, int]]

    def counts(self, viewer: User) -> QueueCounts:
        waiting = in_review = mine = 0
        for status, assigned_to_id, _ward, count in self.groups:
            if status == ItemStatus.NEW:
                waiting += count
            else:
                in_review += count
                mine += count if assigned_to_id == viewer.id else 0
        return QueueCounts(waiting=waiting, in_review=in_review, mine=mine)

    def wards(self) -> list[str]:
        """The wards that have an open item on this list, A to Z."""
        return sorted({ward for _status, _assigned, ward, _count in self.groups if ward})

    def total(self, *, status: str, ward: str, assigned_to: int | None | str) -> int:
        """How many items a filter shows: ``status`` "open" or one status, ``ward`` "" for all,
        ``assigned_to`` "anyone", None for no one, or a user's id."""
        return sum(
            count
            for item_status, assigned_to_id, item_ward, count in self.groups
            if (status == "open" or item_status == status)
            and (not ward or item_ward == ward)
            and (assigned_to == "anyone" or assigned_to_id == assigned_to)
        )


def list_tally(db: Session, *, locality: str) -> ListTally:
    query = (
        select(ReviewItem.status, ReviewItem.assigned_to_id, ReviewItem.ward, func.count())
        .where(ReviewItem.locality == locality, ReviewItem.status.in_(OPEN_STATUSES))
        .group_by(ReviewItem.status, ReviewItem.assigned_to_id, ReviewItem.ward)
    )
    return ListTally(groups=[(status, user, ward, count) for status, user, ward, count in db.execute(query)])


def queue_counts(db: Session, *, locality: str, viewer: User) -> QueueCounts:
    """How many are waiting (new), in review, and in review with the viewer, in one list."""
    return list_tally(db, locality=locality).counts(viewer)


def _order(sort: str) -> list[Any]:
    priority = priority_order()
    if sort == "waiting":
        return [ReviewItem.first_surfaced_on.asc(), *priority]
    if sort == "ward":
        return [ReviewItem.ward.asc().nulls_last(), *priority]
    return priority


def _assigned_to(assigned: str, viewer: User) -> int | None | str:
    """The filter's holder: "anyone", None for no one, or a user's id."""
    if assigned == "me":
        return viewer.id
    if assigned == "unassigned":
        return None
    return assigned if assigned == "anyone" else int(assigned)


def _open_conditions(
    filters: ListFilters, ward: str, assigned_to: int | None | str
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        ReviewItem.locality == filters.locality,
        ReviewItem.status.in_(OPEN_STATUSES),
    ]
    if filters.status != "open":
        conditions.append(ReviewItem.status == filters.status)
    if ward:
        conditions.append(ReviewItem.ward == ward)
    if assigned_to is None:
        conditions.append(ReviewItem.assigned_to_id.is_(None))
    elif assigned_to != "anyone":
        conditions.append(ReviewItem.assigned_to_id == assigned_to)
    return conditions


def _closed_conditions(filters: ListFilters, viewer: User) -> list[ColumnElement[bool]]:
    """ "Closed": the list's closed items; "Done by me": those the viewer closed (the reviewer who
    records an outcome is the one who has the item, and closing leaves it with them)."""
    conditions: list[ColumnElement[bool]] = [
        ReviewItem.locality == filters.locality,
        ReviewItem.status == ItemStatus.CLOSED,
    ]
    if filters.status == "done_by_me":
        conditions.append(ReviewItem.assigned_to_id == viewer.id)
    return conditions


def queue_page(
    db: Session, *, viewer: User, filters: ListFilters, page_size: int, wording: Wording = DEFAULT_WORDING
) -> QueuePage:
    """One page of a list with its counts and the choices its filters offer."""
    tally = list_tally(db, locality=filters.locality)
    wards = tally.wards()
    reviewers = [(u.id, u.display_name) for u in reviewers_for(db, locality=filters.locality, viewer=viewer)]
    ward = filters.ward if filters.ward in wards else ""
    allowed = set(ASSIGNED_FIXED) | {str(user_id) for user_id, _ in reviewers}
    assigned = filters.assigned if filters.assigned in allowed else "anyone"
    if assigned == str(viewer.id):
        assigned = "me"
    assigned_to = _assigned_to(assigned, viewer)

    if filters.is_closed_view:
        # Closed items are not in the open tally: counted here, latest closed first.
        ward, assigned = "", "anyone"
        conditions = _closed_conditions(filters, viewer)
        total = db.scalar(select(func.count()).select_from(ReviewItem).where(*conditions)) or 0
        order: list[Any] = [ReviewItem.closed_at.desc(), ReviewItem.id.desc()]
    else:
        conditions = _open_conditions(filters, ward, assigned_to)
        total = tally.total(status=filters.status, ward=ward, assigned_to=assigned_to)
        order = _order(filters.sort)
    pages = max(1, -(-total // page_size))
    page = min(filters.page, pages)
    chosen = ListFilters(
        locality=filters.locality,
        status=filters.status,
        ward=ward,
        assigned=assigned,
        sort=filters.sort,
        page=page,
    )
    # The page's ids come from ix_review_items_list alone; only those rows are then read
    # (one statement, so one consistent view of the list).
    page_ids = (
        select(ReviewItem.id)
        .where(*conditions)
        .order_by(*order)
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).subquery()
    items = list(
        db.scalars(select(ReviewItem).join(page_ids, ReviewItem.id == page_ids.c.id).order_by(*order))
    )
    names = display_names(db, {item.assigned_to_id for item in items})
    changes = changes_for(db, items, wording)
    attempts = attempt_counts(db, [item.id for item in items])
    return QueuePage(
        filters=chosen,
        rows=[queue_row(item, viewer, names, changes[item.id], attempts.get(item.id, 0)) for item in items],
        total=total,
        pages=pages,
        counts=tally.counts(viewer),
        wards=wards,
        reviewers=reviewers,
        pagination=pagination(chosen, pages),
        first=(page - 1) * page_size + 1 if items else 0,
        last=(page - 1) * page_size + len(items),
    )


def pagination(filters: ListFilters, pages: int) -> dict[str, Any]:
    """govukPagination's parameters: first, last and nearby pages, with gaps as ellipses."""
    if pages <= 1:
        return {}
    current = filters.page
    shown = sorted({1, pages, current - 1, current, current + 1} & set(range(1, pages + 1)))
    items: list[dict[str, Any]] = []
    previous = 0
    for number in shown:
        if number - previous > 1:
            items.append({"ellipsis": True})
        items.append({"number": number, "href": filters.url(page=number), "current": number == current})
        previous = number
    params: dict[str, Any] = {"items": items}
    if current > 1:
        params["previous"] = {"href": filters.url(page=current - 1)}
    if current < pages:
        params["next"] = {"href": filters.url(page=current + 1)}
    return params


# --- Messages after an action --------------------------------------------------

#: Notices a redirect may ask a page to show (``?notice=…&item=…``). The words
#: are worked out from the item as it is now, so a made-up link cannot put
#: false words on the page.
NOTICES = {
    "claimed",
    "released",
    "recorded",
    "reassigned",
    "attempt-recorded",
    "claim-failed",
    "release-failed",
    "outcome-failed",
    "reassign-failed",
}


def why_not(db: Session, *, item: ReviewItem, viewer: User, action: str) -> str:
    """Why ``action`` (claim, release, outcome, reassign) cannot be done to the item now, in plain English."""
    if item.status == ItemStatus.CLOSED:
        return f"Item {item.id} has already been closed."
    if item.status == ItemStatus.MERGED:
        return f"Item {item.id} was joined with item {item.merged_into_id}, because they are the same person."
    holder = display_names(db, {item.assigned_to_id}).get(item.assigned_to_id or 0, "someone else")
    if item.status == ItemStatus.IN_REVIEW and item.assigned_to_id != viewer.id:
        if action == "release":
            return f"{holder} is reviewing item {item.id}. Only they or a team lead can release it."
        return f"{holder} is already reviewing item {item.id}."
    if item.status == ItemStatus.NEW and action in ("release", "outcome"):
        return f"No one is reviewing item {item.id} at the moment. Claim it first."
    return f"Item {item.id} could not be changed. Reload the page and try again."


def notice_for(
    db: Session, *, viewer: User, notice: str | None, item_id: str | None
) -> dict[str, Any] | None:
    """A notification banner's words for ``?notice=…&item=…``, if they are still true."""
    if notice not in NOTICES or not item_id or not item_id.isdigit() or len(item_id) > 9:
        return None
    item = db.get(ReviewItem, int(item_id))
    if item is None or item.locality not in visible_localities(viewer):
        return None
    mine = item.assigned_to_id == viewer.id
    if notice.endswith("-failed"):
        action = notice.removesuffix("-failed")
        return {
            "success": False,
            "item_id": item.id,
            "text": why_not(db, item=item, viewer=viewer, action=action),
        }
    if notice == "claimed" and item.status == ItemStatus.IN_REVIEW and mine:
        text = f"You are now reviewing item {item.id}."
    elif notice == "released" and item.status == ItemStatus.NEW:
        text = f"Item {item.id} is back on the list for anyone to claim."
    elif notice == "recorded" and item.status == ItemStatus.CLOSED and mine:
        text = f"Outcome recorded for item {item.id}"
    elif notice == "attempt-recorded" and item.status == ItemStatus.IN_REVIEW and mine:
        tries = attempt_counts(db, [item.id]).get(item.id, 0)
        text = f"Try {tries} to get in touch recorded for item {item.id}. The item stays with you."
    elif notice == "reassigned" and item.status == ItemStatus.IN_REVIEW:
        holder = display_names(db, {item.assigned_to_id}).get(item.assigned_to_id or 0, "someone else")
        text = f"Item {item.id} is now with {holder}."
    else:
        return None
    return {"success": True, "item_id": item.id, "text": text}
