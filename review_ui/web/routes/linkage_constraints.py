"""Linkage constraints, for the data team (analysts): what people said about records, and undoing it.

Caseworkers mark a record "not this person" on the person page; here the
data team sees every such statement (active and undone, who and why, never
a score), undoes one with a reason, and says two records are, or are not,
the same person by naming each by its source system and reference. Every
change takes effect at the next nightly run and is written to the audit log
(by :mod:`review_ui.store.link_constraints`); every view of the list is too.

Analysts never see a person's details here: records are named by reference only.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from review_ui.store import Role, append_audit, write_transaction
from review_ui.store.audit import AuditAction
from review_ui.store.link_constraints import (
    MAX_REASON_LENGTH,
    ConstraintError,
    ConstraintKind,
    LinkConstraint,
    RecordKey,
    add_not_same_person,
    add_same_person,
    get_constraint,
    list_constraints,
    undo_constraint,
)
from review_ui.web.deps import Db, NotFound, Posted, allow, client_source
from review_ui.web.render import render
from review_ui.web.sessions import SignedIn

router = APIRouter(include_in_schema=False)

DataTeam = Annotated[SignedIn, Depends(allow(Role.ANALYST))]
PAGE = "/linkage/constraints"
MAX_ID = 2**31 - 1

KIND_TEXT = {
    ConstraintKind.SAME_PERSON: "The same person",
    ConstraintKind.NOT_SAME_PERSON: "Not the same person",
}
NOTICES = {
    "added": "Saved. It will be kept from the next nightly update.",
    "undone": "Undone. The next nightly update will link these records without it.",
}
Text = Annotated[str, Form(max_length=400)]
Reason = Annotated[str, Form(max_length=20 * MAX_REASON_LENGTH)]


def _row(constraint: LinkConstraint) -> dict[str, Any]:
    """One constraint as the page shows it: what, about which records, who, when and why."""
    return {
        "id": constraint.id,
        "kind": KIND_TEXT.get(ConstraintKind(constraint.kind), constraint.kind),
        "record": RecordKey(constraint.source_a, constraint.record_a),
        "others": [RecordKey(str(s), str(r)) for s, r in constraint.other_records],
        "reason": constraint.reason,
        "by": constraint.created_by,
        "at": constraint.created_at,
        "undone_by": constraint.undone_by,
        "undone_at": constraint.undone_at,
        "undo_reason": constraint.undo_reason,
        "from_person_page": constraint.person_id is not None,
    }


def _show(
    request: Request,
    db: Db,
    who: SignedIn,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    rows = list_constraints(session=db)
    with write_transaction(db):
        append_audit(
            session=db,
            actor=who.user.username,
            action=AuditAction.LINK_CONSTRAINTS_VIEWED,
            detail={"shown": len(rows)},
            source=client_source(request),
        )
    errors = errors or {}
    return render(
        request,
        "linkage_constraints.html",
        {
            "title": "Records linked by people",
            "error_title_prefix": bool(errors),
            "active": [_row(r) for r in rows if r.is_active],
            "undone": [_row(r) for r in rows if not r.is_active],
            "errors": [{"text": text, "href": f"#{name}"} for name, text in errors.items()],
            "field_errors": errors,
            "values": values or {},
            "notice": NOTICES.get(request.query_params.get("notice") or ""),
            "reason_max": MAX_REASON_LENGTH,
        },
        status_code=400 if errors else 200,
    )


@router.get(PAGE)
def constraints_page(request: Request, db: Db, who: DataTeam) -> Response:
    return _show(request, db, who)


def _form_errors(kind: str, keys: dict[str, str], reason: str) -> dict[str, str]:
    """Messages for each field the person needs to fix, keyed by the field's id."""
    errors: dict[str, str] = {}
    if kind not in KIND_TEXT:
        errors["kind"] = "Select whether the records are the same person"
    labels = {
        "source_a": "the first record's service",
        "reference_a": "the first record's reference",
        "source_b": "the second record's service",
        "reference_b": "the second record's reference",
    }
    for name, label in labels.items():
        if not keys[name].strip():
            errors[name] = f"Enter {label}"
    if not " ".join(reason.split()):
        errors["reason"] = "Enter a reason"
    elif len(" ".join(reason.split())) > MAX_REASON_LENGTH:
        errors["reason"] = f"The reason must be {MAX_REASON_LENGTH} characters or fewer"
    return errors


@router.post(PAGE)
def add_constraint(
    request: Request,
    db: Db,
    _posted: Posted,
    who: DataTeam,
    kind: Text = "",
    source_a: Text = "",
    reference_a: Text = "",
    source_b: Text = "",
    reference_b: Text = "",
    reason: Reason = "",
) -> Response:
    """Say two records are, or are not, the same person; the next night keeps it."""
    keys = {
        "source_a": source_a,
        "reference_a": reference_a,
        "source_b": source_b,
        "reference_b": reference_b,
    }
    values = {"kind": kind, **keys, "reason": reason.strip()}
    errors = _form_errors(kind, keys, reason)
    if errors:
        return _show(request, db, who, errors=errors, values=values)
    a, b = RecordKey(source_a.strip(), reference_a.strip()), RecordKey(source_b.strip(), reference_b.strip())
    try:
        if kind == ConstraintKind.SAME_PERSON:
            add_same_person(
                session=db,
                user=who.user,
                record_a=a,
                record_b=b,
                reason=reason,
                source=client_source(request),
            )
        else:
            add_not_same_person(
                session=db,
                user=who.user,
                person_id=None,
                record=a,
                other_records=[b],
                reason=reason,
                source=client_source(request),
            )
    except ConstraintError as problem:
        field = "reason" if "reason" in str(problem) else "reference_b"
        return _show(request, db, who, errors={field: str(problem)}, values=values)
    return RedirectResponse(f"{PAGE}?notice=added", status_code=303)


def _active(db: Db, constraint_id: int) -> LinkConstraint:
    found = get_constraint(session=db, constraint_id=constraint_id) if 0 < constraint_id <= MAX_ID else None
    if found is None or not found.is_active:
        raise NotFound
    return found


def _show_undo(
    request: Request, row: LinkConstraint, *, error: str | None = None, reason: str = ""
) -> Response:
    return render(
        request,
        "linkage_constraint_undo.html",
        {
            "title": "Undo what was said about these records",
            "error_title_prefix": error is not None,
            "row": _row(row),
            "errors": [{"text": error, "href": "#reason"}] if error else [],
            "error": error,
            "reason": reason,
            "reason_max": MAX_REASON_LENGTH,
        },
        status_code=400 if error else 200,
    )


@router.get(PAGE + "/{constraint_id}/undo")
def undo_form(request: Request, db: Db, who: DataTeam, constraint_id: int) -> Response:
    return _show_undo(request, _active(db, constraint_id))


@router.post(PAGE + "/{constraint_id}/undo")
def undo(
    request: Request, db: Db, _posted: Posted, who: DataTeam, constraint_id: int, reason: Reason = ""
) -> Response:
    """Undo a constraint with a reason; the next night links without it."""
    row = _active(db, constraint_id)
    try:
        undo_constraint(
            session=db, user=who.user, constraint_id=row.id, reason=reason, source=client_source(request)
        )
    except ConstraintError as problem:
        if "already" in str(problem):
            raise NotFound from None
        return _show_undo(request, row, error=str(problem), reason=reason.strip())
    return RedirectResponse(f"{PAGE}?notice=undone", status_code=303)
