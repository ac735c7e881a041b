"""The busiest person the demo shows, as a case file for the person page's tests.

Issue 16 measured the demo's person pages at 7,900-14,200 px, the busiest
with 86 timeline entries in 24 months, most of them routine (65-86 %). This
case file has that shape: 24 months of council tax and rent payments plus two
council tax bills (74 routine entries), nine signs of need, an adult social
care assessment a year ago and a homelessness prevention duty last month
(service involvement), two other people at the address known to services, and
three joining pairs of records. Everything is fictional.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from review_ui.queue.case_file import CASE_FILE_VERSION
from tests.support.review_app import AS_OF

#: The reasons routing would write for this person (checkable against the timeline below).
BUSY_REASONS = [
    "Missed 3 housing rent payments since 2 April 2026; arrears now £620",
    "3 services recorded signs of need in the last 90 days: council tax, housing rent, contact centre",
    "Contacted the contact centre about rent 3 times between 2 May 2026 and 14 May 2026",
]
ROUTINE_ENTRIES = 74
SIGNS = 9
INVOLVEMENTS = 2
TOTAL_ENTRIES = ROUTINE_ENTRIES + SIGNS + INVOLVEMENTS


def _entry(
    day: date, service: str, event_type: str, label: str, role: str, amount: float | None = None
) -> dict[str, Any]:
    return {
        "date": day.isoformat(),
        "service": service,
        "event_type": event_type,
        "label": label,
        "amount": amount,
        "topic": None,
        "role": role,
    }


def _routine() -> list[dict[str, Any]]:
    entries = []
    for month in range(24):
        first = date(AS_OF.year - 2 + (AS_OF.month + month) // 12, (AS_OF.month + month) % 12 + 1, 1)
        # A zero amount, as the extracts often carry on a payment: never shown as "£0.00".
        entries.append(
            _entry(first + timedelta(days=2), "council_tax", "payment", "Paid council tax", "routine", 0.0)
        )
        entries.append(
            _entry(first + timedelta(days=6), "housing_rent", "payment", "Paid rent", "routine", 0.0)
        )
        entries.append(
            _entry(first + timedelta(days=20), "housing_rent", "payment", "Paid rent", "routine", None)
        )
    for year in (2025, 2026):
        entries.append(
            _entry(date(year, 3, 10), "council_tax", "bill_issued", "Council tax bill issued", "routine", 0.0)
        )
    return entries


def _signs() -> list[dict[str, Any]]:
    rent = "housing_rent"
    centre = "contact_centre"
    return [
        _entry(date(2026, 4, 2), rent, "missed_payment", "Missed a rent payment", "signal", 410.0),
        _entry(date(2026, 5, 2), rent, "missed_payment", "Missed a rent payment", "signal", 410.0),
        _entry(date(2026, 6, 2), rent, "missed_payment", "Missed a rent payment", "signal", 410.0),
        _entry(date(2026, 5, 2), centre, "enquiry", "Enquiry to the contact centre about rent", "signal"),
        _entry(date(2026, 5, 8), centre, "enquiry", "Enquiry to the contact centre about rent", "signal"),
        _entry(date(2026, 5, 14), centre, "enquiry", "Enquiry to the contact centre about rent", "signal"),
        _entry(date(2026, 4, 20), "council_tax", "reminder", "Council tax reminder sent", "signal"),
        _entry(date(2026, 6, 12), "council_tax", "final_notice", "Council tax final notice sent", "signal"),
        _entry(date(2025, 11, 3), "adult_social_care", "contact", "Contact with adult social care", "signal"),
        _entry(
            date(2025, 6, 12), "adult_social_care", "assessment", "Adult social care assessment", "service"
        ),
        _entry(
            date(2026, 6, 5),
            "homelessness",
            "prevention_duty",
            "Homelessness prevention duty accepted",
            "service",
        ),
    ]


def busy_case_file(person_id: str, *, name: str = "Sam Busy") -> dict[str, Any]:
    """A current (schema version 2) case file with the busiest demo person's shape."""
    timeline = sorted(_routine() + _signs(), key=lambda e: e["date"], reverse=True)
    assert len(timeline) == TOTAL_ENTRIES
    sources = (
        "council_tax",
        "housing_rent",
        "contact_centre",
        "adult_social_care",
        "homelessness",
        "benefits",
    )
    return {
        "schema_version": CASE_FILE_VERSION,
        "as_of": AS_OF.isoformat(),
        "person": {
            "names": [name, name.upper()],
            "name": name,
            "age": 34,
            "address": "7 Busy Row",
            "postcode": "ZZ9 9ZZ",
            "ward": "Central",
            "phones": ["07700 900456"],
            "emails": ["sam@example.org"],
            "address_from": {"source": "council_tax", "text": "From council tax, last contact 12 June 2026"},
        },
        "records": [
            {
                "source": s,
                "source_person_id": f"{s[:2].upper()}-{person_id}",
                "name": name.upper() if s == "contact_centre" else name,
                "address": "7 Busy Row",
                # One number, written two ways: shown once, held by three systems.
                "phone": "+44 7700 900456"
                if s == "contact_centre"
                else "07700 900456"
                if s in sources[:2]
                else None,
            }
            for s in sources[:5]
        ],
        "timeline": timeline,
        "household": {
            "address": "7 Busy Row, ZZ9 9ZZ",
            "members": [
                {"description": "Adult aged 30 to 39", "services": ["benefits", "adult_social_care"]},
                {"description": "Child aged 5 to 10", "services": ["childrens_services"]},
            ],
        },
        "evidence": [
            {
                "left": f"council_tax CO-{person_id}",
                "right": f"housing_rent HO-{person_id}",
                "match_probability": 0.99993,
                "reasons": [
                    "date of birth: exact match (+7.2)",
                    "phone: exact match (+9.1)",
                    "address: different (-2.4)",
                ],
            },
            {
                "left": f"housing_rent HO-{person_id}",
                "right": f"contact_centre CO-{person_id}",
                "match_probability": 0.97,
                "reasons": ["first name: same name, nickname used (+3.1)", "last name: exact match (+6.0)"],
            },
            {
                "left": f"housing_rent HO-{person_id}",
                "right": f"adult_social_care AD-{person_id}",
                "match_probability": 0.62,
                "reasons": ["last name: exact match (+6.0)", "date of birth: different (-5.2)"],
            },
        ],
        "coverage": [
            {"source": s, "latest": "2026-06-29" if s != "asb" else None}
            for s in (*sources, "childrens_services", "asb")
        ],
    }
