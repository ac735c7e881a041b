"""A small, known review world for the web app's tests.

Two localities (Northgate, Riverside) plus the "unknown" list, a user of
every role, and open items whose case files follow the schema of
``review_ui.queue.case_files`` (version 1, written before ``schema_version``). Everything is fictional.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from review_ui.store import (
    CaseFile,
    ReviewItem,
    Role,
    User,
    claim_item,
    create_user,
    get_user_by_username,
    write_transaction,
)
from review_ui.web.passwords import hash_password

PASSWORD = "correct horse battery staple"
AS_OF = date(2026, 6, 30)

#: username -> (role, locality)
USERS: dict[str, tuple[Role, str | None]] = {
    "casey": (Role.CASEWORKER, "Northgate"),
    "cora": (Role.CASEWORKER, "Northgate"),
    "rivka": (Role.CASEWORKER, "Riverside"),
    "tess": (Role.TEAM_LEAD, "Northgate"),
    "rhys": (Role.TEAM_LEAD, "Riverside"),
    "ada": (Role.ADMINISTRATOR, None),
    "ann": (Role.ANALYST, None),
}


def case_file(person_id: str, *, name: str = "Jamie Example", as_of: date = AS_OF) -> dict[str, Any]:
    """A version-1 case file for a fictional person."""
    day = as_of - timedelta(days=10)
    return {
        "version": 1,
        "as_of": as_of.isoformat(),
        "person": {
            "names": [name],
            "age": 41,
            "address": "12 Example Street",
            "postcode": "ZZ1 1ZZ",
            "ward": "Central",
            "phones": ["07700 900123"],
            "emails": [],
        },
        "records": [
            {
                "source": "council_tax",
                "source_person_id": f"CT-{person_id}",
                "name": name,
                "address": "12 Example Street, ZZ1 1ZZ",
                "last_event": day.isoformat(),
            },
            {
                "source": "contact_centre",
                "source_person_id": f"CC-{person_id}",
                "name": name,
                "address": None,
                "last_event": (day - timedelta(days=20)).isoformat(),
            },
        ],
        "timeline": [
            {
                "date": day.isoformat(),
                "service": "council_tax",
                "event_type": "missed_instalment",
                "label": "Missed a council tax instalment",
                "amount": 120.5,
                "topic": None,
                "role": "signal",
            },
            {
                "date": (day - timedelta(days=20)).isoformat(),
                "service": "contact_centre",
                "event_type": "enquiry",
                "label": "Enquiry to the contact centre",
                "amount": None,
                "topic": "benefits",
                "role": "signal",
            },
            {
                "date": (day - timedelta(days=75)).isoformat(),
                "service": "housing_rent",
                "event_type": "missed_payment",
                "label": "Missed a rent payment",
                "amount": 95.0,
                "topic": None,
                "role": "signal",
            },
        ],
        "household": {
            "address": "12 Example Street, ZZ1 1ZZ",
            "members": [{"description": "Adult aged 30 to 39", "services": ["housing_rent"]}],
        },
        "evidence": [
            {
                "left": f"council_tax CT-{person_id}",
                "right": f"contact_centre CC-{person_id}",
                "match_probability": 0.998,
                "reasons": ["date of birth: exact match (+7.2)", "surname: exact match (+6.1)"],
            }
        ],
    }


def review_item(
    person_id: str,
    locality: str,
    *,
    surfaced_on: date = AS_OF,
    services: tuple[str, ...] = ("council_tax",),
    **fields: Any,
) -> ReviewItem:
    """A review item as routing stores it, surfaced and last scored on ``surfaced_on``;
    ``fields`` give anything else a test cares about (status, outcome, ward, reasons...)."""
    values: dict[str, Any] = {
        "person_id": person_id,
        "locality": locality,
        "ward": None,
        "score": 0.5,
        "rank": 1,
        "reasons": ["A reason."],
        "services_at_surfacing": list(services),
        "services_last_scored": list(services),
        "model_version": "rules-score",
        "first_surfaced_on": surfaced_on,
        "last_scored_on": surfaced_on,
    }
    return ReviewItem(**(values | fields))


@dataclass
class ReviewWorld:
    users: dict[str, User] = field(default_factory=dict)
    #: locality -> item ids, best first
    items: dict[str, list[int]] = field(default_factory=dict)


def build_world(
    db: Session, *, items_per_locality: int = 3, names: dict[str, str] | None = None
) -> ReviewWorld:
    """Users of every role and open items in Northgate, Riverside and unknown.

    ``names`` maps a person id (``"<locality-initial>-<n>"``, e.g. ``"N-1"``) to the
    name shown in its case file, for tests of escaping.
    """
    world = ReviewWorld()
    password_hash = hash_password(PASSWORD)
    for username, (role, locality) in USERS.items():
        world.users[username] = create_user(
            session=db,
            username=username,
            display_name=username.title() + " Example",
            role=role,
            locality=locality,
            password_hash=password_hash,
        )
    with write_transaction(db):
        for locality in ("Northgate", "Riverside", "unknown"):
            ids = []
            for n in range(1, items_per_locality + 1):
                person_id = f"{locality[0].upper()}-{n}"
                item = review_item(
                    person_id,
                    locality,
                    services=("council_tax", "contact_centre"),
                    ward="Central" if n % 2 else "Harbour",
                    score=round(0.9 - n * 0.05, 3),
                    rank=n,
                    reasons=[
                        "Missed 2 council tax instalments since 3 May 2026.",
                        "Contacted 3 council services in the last 90 days.",
                    ],
                )
                db.add(item)
                db.add(
                    CaseFile(
                        person_id=person_id,
                        as_of=AS_OF,
                        content=case_file(person_id, name=(names or {}).get(person_id, "Jamie Example")),
                    )
                )
                db.flush()
                ids.append(item.id)
            world.items[locality] = ids
    return world


def claim_as(db: Session, item_id: int, username: str) -> ReviewItem:
    """Put an item in review for ``username`` (through the queue's own claim)."""
    user = get_user_by_username(session=db, username=username)
    assert user is not None, f"no user {username!r}"
    db.rollback()
    return claim_item(session=db, item_id=item_id, user=user)
