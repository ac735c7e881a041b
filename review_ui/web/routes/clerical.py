"""Clerical review, for the data team (analysts): is linkage joining the right records?

Each night a sample of candidate record pairs is put here
(:mod:`review_ui.store.clerical`). An analyst sees two records side by side,
field by field, with the differences marked in words and no score (so the
model cannot lead the answer), and says "same person", "not the same" or
"can't tell". The labels give linkage's precision and recall with 95%
intervals per night and per pair of source systems
(:func:`features.linkage.clerical.estimate_accuracy`), and pooled over the
last nights' labels, weighted by the latest night's strata
(:func:`features.linkage.clerical.pooled_accuracy`), for narrower intervals.

This is the one page where an analyst sees personal details: only the two
records of a sampled pair, one pair at a time, and every view and every label
is written to the audit log. Caseworkers, team leads and administrators
cannot open it.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from review_ui.store import Role
from review_ui.store.clerical import (
    CLERICAL_LABELS,
    ClericalNight,
    ClericalPair,
    audit_pair_viewed,
    clerical_nights,
    get_clerical_pair,
    latest_labels,
    next_unlabelled_pair,
    night_labels,
    pooled_labels,
    record_clerical_label,
)
from review_ui.web.deps import Db, NotFound, Posted, allow, client_source
from review_ui.web.render import render
from review_ui.web.sessions import SignedIn

router = APIRouter(include_in_schema=False)

DataTeam = Annotated[SignedIn, Depends(allow(Role.ANALYST))]

#: The answers, as the page words them.
LABEL_TEXT = {
    "same": "Same person",
    "different": "Not the same person",
    "cant_tell": "Can't tell",
}
#: The rows of the side-by-side table, in order: (record key, row heading).
FIELDS = (
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("dob", "Date of birth"),
    ("address", "Address"),
    ("postcode", "Postcode"),
    ("phone", "Phone"),
    ("email", "Email"),
    ("source", "System"),
    ("source_person_id", "Reference in that system"),
)
#: Rows whose differences say nothing about whether it is one person.
_NOT_COMPARED = {"source", "source_person_id"}


def _shown(accuracy: Any) -> dict[str, Any]:
    return {
        "labelled": accuracy.labelled,
        "cant_tell": accuracy.cant_tell,
        "precision": accuracy.precision.text(),
        "recall": accuracy.recall.text(),
    }


def _estimates(db: Session, night: date) -> dict[str, Any] | None:
    from features.linkage.clerical import estimate_accuracy

    labels, strata = night_labels(session=db, night=night)
    if labels.is_empty():
        return None
    found = estimate_accuracy(labels, strata)
    return _shown(found.overall) | {
        "by_source_pair": {name: _shown(a) for name, a in found.by_source_pair.items()}
    }


def _pooled(db: Session, nights: list[ClericalNight]) -> dict[str, Any] | None:
    """The estimate from the last ``POOL_NIGHTS`` nights' labels, weighted by the latest night's strata.

    None when fewer than two of those nights have labels (one night's figure is already in the table).
    """
    from features.linkage.clerical import POOL_NIGHTS, pooled_accuracy

    window = nights[:POOL_NIGHTS]
    if sum(1 for n in window if n.labelled) < 2:
        return None
    latest = window[0].night
    _, strata = night_labels(session=db, night=latest)
    pooled = pooled_accuracy(pooled_labels(session=db, nights=[n.night for n in window]), strata)
    return _shown(pooled.estimate.overall) | {
        "latest": latest,
        "earliest": window[-1].night,
        "nights": len(window),
        "pool_nights": POOL_NIGHTS,
        "left_out": pooled.left_out,
    }


def _night(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise NotFound from None


def _comparison(pair: ClericalPair) -> list[dict[str, str]]:
    """One row per field: both values and, in words, whether they agree."""
    rows = []
    for key, heading in FIELDS:
        left = str(pair.record_l.get(key) or "")
        right = str(pair.record_r.get(key) or "")
        if key in _NOT_COMPARED:
            verdict = ""
        elif not left or not right:
            verdict = "Missing on one or both"
        elif left.strip().casefold() == right.strip().casefold():
            verdict = "Same"
        else:
            verdict = "Different"
        rows.append(
            {
                "heading": heading,
                "left": left or "Not recorded",
                "right": right or "Not recorded",
                "verdict": verdict,
            }
        )
    return rows


@router.get("/clerical")
def clerical_home(request: Request, db: Db, _who: DataTeam) -> Response:
    nights = clerical_nights(session=db)
    estimates = {n.night: _estimates(db, n.night) for n in nights if n.labelled}
    return render(
        request,
        "clerical.html",
        {"title": "Clerical review", "nights": nights, "estimates": estimates, "pooled": _pooled(db, nights)},
    )


def _pair_page(
    request: Request,
    db: Session,
    who: SignedIn,
    pair: ClericalPair,
    *,
    error: str | None = None,
    status_code: int = 200,
    previous: int | None = None,
) -> Response:
    audit_pair_viewed(session=db, pair=pair, user=who.user, source=client_source(request))
    current = latest_labels(session=db, night=pair.night).get(pair.id)
    return render(
        request,
        "clerical_pair.html",
        {
            "title": "Are these records the same person?",
            "error_title_prefix": bool(error),
            "errors": [{"text": error, "href": "#label"}] if error else [],
            "error": error,
            "pair": pair,
            "rows": _comparison(pair),
            "current": current,
            "labels": LABEL_TEXT,
            "previous": previous,
        },
        status_code=status_code,
    )


@router.get("/clerical/{night}/next")
def next_pair(request: Request, db: Db, who: DataTeam, night: str, previous: int | None = None) -> Response:
    day = _night(night)
    pair = next_unlabelled_pair(session=db, night=day)
    if pair is None:
        sampled = next((n for n in clerical_nights(session=db) if n.night == day), None)
        return render(
            request,
            "clerical_done.html",
            {"title": "No pairs left to label", "night": day, "sampled": sampled, "previous": previous},
        )
    return _pair_page(request, db, who, pair, previous=previous)


@router.get("/clerical/pairs/{pair_id}")
def show_pair(request: Request, db: Db, who: DataTeam, pair_id: int) -> Response:
    pair = get_clerical_pair(session=db, pair_id=pair_id)
    if pair is None or pair.values_deleted_at is not None:
        raise NotFound
    return _pair_page(request, db, who, pair)


@router.post("/clerical/pairs/{pair_id}/label")
def label_pair(
    request: Request,
    db: Db,
    who: DataTeam,
    _posted: Posted,
    pair_id: int,
    label: Annotated[str, Form()] = "",
) -> Response:
    pair = get_clerical_pair(session=db, pair_id=pair_id)
    if pair is None or pair.values_deleted_at is not None:
        raise NotFound
    if label not in CLERICAL_LABELS:
        return _pair_page(
            request, db, who, pair, error="Select whether these records are the same person", status_code=400
        )
    night = pair.night.isoformat()
    record_clerical_label(
        session=db, pair_id=pair_id, label=label, user=who.user, source=client_source(request)
    )
    return RedirectResponse(f"/clerical/{night}/next?previous={pair_id}", status_code=303)
