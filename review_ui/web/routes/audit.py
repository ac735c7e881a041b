"""The audit log, for administrators: who did what, when, to which item, from where.

Read-only and newest first, narrowed by a GET form (who, action, item,
person reference, dates). Reading the log is itself written to the log.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from review_ui.store import append_audit, write_transaction
from review_ui.store.audit import AuditAction
from review_ui.web.deps import Administrator, AppWording, Db, client_source
from review_ui.web.forms import FormErrors, date_fields, item_number, page_number, printable
from review_ui.web.render import render
from review_ui.web.reports import AuditFilters, AuditPage, audit_actions, audit_page

router = APIRouter(include_in_schema=False)

PER_PAGE = 50


@router.get("/audit")
def audit_log(
    request: Request,
    db: Db,
    who: Administrator,
    wording: AppWording,
    actor: str = "",
    action: str = "",
    item: str = "",
    person: str = "",
    from_day: Annotated[str, Query(alias="from-day")] = "",
    from_month: Annotated[str, Query(alias="from-month")] = "",
    from_year: Annotated[str, Query(alias="from-year")] = "",
    to_day: Annotated[str, Query(alias="to-day")] = "",
    to_month: Annotated[str, Query(alias="to-month")] = "",
    to_year: Annotated[str, Query(alias="to-year")] = "",
    page: str = "1",
) -> Response:
    # Longer than any real value: cut, rather than refuse, over-long input.
    actor, action, item, person = (printable(value) for value in (actor, action, item, person))
    errors = FormErrors()
    item_id = item_number(item, errors)
    date_from = date_fields("from", "Date from", from_day, from_month, from_year, errors)
    date_to = date_fields("to", "Date to", to_day, to_month, to_year, errors)
    if date_from and date_to and date_from > date_to:
        errors.add("to", "Date to must be the same as or after date from", "to-day")
    filters = AuditFilters(
        actor=actor.strip() or None,
        action=action.strip() or None,
        item_id=item_id,
        person_id=person.strip() or None,
        date_from=date_from,
        date_to=date_to,
    )
    shown_page = page_number(page)
    with write_transaction(db):
        append_audit(
            session=db,
            actor=who.user.username,
            action=AuditAction.AUDIT_VIEWED,
            detail={**filters.as_detail(), "page": shown_page},
            source=client_source(request),
        )
    result: AuditPage | None = None
    if not errors.fields:
        result = audit_page(db, filters, wording=wording, page=shown_page, per_page=PER_PAGE)
    form = {
        "actor": actor,
        "action": action,
        "item": item,
        "person": person,
        "from-day": from_day,
        "from-month": from_month,
        "from-year": from_year,
        "to-day": to_day,
        "to-month": to_month,
        "to-year": to_year,
    }
    return render(
        request,
        "audit.html",
        {
            "title": "Audit log",
            "error_title_prefix": bool(errors.fields),
            "errors": errors.summary,
            "field_errors": errors.fields,
            "form": form,
            "actions": audit_actions(db),
            "result": result,
            "pagination": _pagination(result, form) if result else None,
            "filtered": any(value.strip() for value in form.values()),
        },
        status_code=400 if errors.fields else 200,
    )


def _pagination(result: AuditPage, form: dict[str, str]) -> dict[str, object] | None:
    """govukPagination's parameters, keeping the filters in every link."""
    if result.pages <= 1:
        return None
    kept = {key: value for key, value in form.items() if value.strip()}

    def href(number: int) -> str:
        return "/audit?" + urlencode({**kept, "page": number})

    numbers = sorted(
        {1, result.pages, *range(max(1, result.page - 2), min(result.pages, result.page + 2) + 1)}
    )
    items: list[dict[str, object]] = []
    for previous, number in zip([0, *numbers], numbers, strict=False):
        if number - previous > 1:
            items.append({"ellipsis": True})
        items.append({"number": number, "href": href(number), "current": number == result.page})
    pagination: dict[str, object] = {"items": items, "landmarkLabel": "Audit log pages"}
    if result.page > 1:
        pagination["previous"] = {"href": href(result.page - 1)}
    if result.page < result.pages:
        pagination["next"] = {"href": href(result.page + 1)}
    return pagination
