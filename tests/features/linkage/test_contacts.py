"""Holders of a phone number or e-mail: personal values stay strong, shared ones weaken."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from features.linkage.contacts import (
    contact_frequencies,
    contact_holders,
    generic_contact_stats,
    trained_exact_u,
)
from features.linkage.prep import prepare_people
from features.schema import PEOPLE_SCHEMA

HOSTEL = "0163 296 0440"
MOBILE = "07700 900123"


def _prepared(*rows: dict[str, object]) -> pl.DataFrame:
    full = [
        dict.fromkeys(PEOPLE_SCHEMA) | {"source": "s", "source_person_id": str(i)} | row
        for i, row in enumerate(rows)
    ]
    return prepare_people(pl.DataFrame(full, schema=PEOPLE_SCHEMA))


def _borough() -> pl.DataFrame:
    one_person = [
        # one resident known to four services, the name written four ways
        {"first_name": "Nicola", "last_name": "Jones", "phone": MOBILE},
        {"first_name": "N", "last_name": "Jones", "phone": "+44 7700 900123"},
        {"first_name": "Nicola", "last_name": "Jnoes", "phone": "07700900123"},
        {"first_name": "Nikki", "last_name": "Jones", "phone": MOBILE},
    ]
    hostel = [
        {"first_name": first, "last_name": last, "phone": HOSTEL}
        for first, last in [
            ("Adam", "Baker"),
            ("Bea", "Cole"),
            ("Carl", "Dunn"),
            ("Dina", "Evans"),
            ("Eli", "Fox"),
            ("Fay", "Gray"),
        ]
    ]
    nameless = [{"phone": "0113 496 0000"}]
    return _prepared(*one_person, *hostel, *nameless)


def test_one_person_on_many_records_is_one_holder_and_a_hostel_line_many() -> None:
    holders = dict(contact_holders(_borough(), "phone_std").iter_rows())
    assert holders["07700900123"] == 1  # typo in the surname and a nickname: still one
    assert holders["01632960440"] == 6
    assert holders["01134960000"] == 1  # a record with no name still gives its value a holder


def test_frequencies_scale_the_trained_u_by_holders() -> None:
    frequencies = dict(contact_frequencies(_borough(), "phone_std", exact_u=1e-4).iter_rows())
    assert frequencies["07700900123"] == pytest.approx(1e-4)
    assert frequencies["01632960440"] == pytest.approx(6e-4)  # log2(6) = 2.6 bits weaker


def test_without_a_trained_u_each_value_gets_its_share_of_holders() -> None:
    frequencies = dict(contact_frequencies(_borough(), "phone_std", exact_u=None).iter_rows())
    assert frequencies["07700900123"] == pytest.approx(1 / 8)
    assert frequencies["01632960440"] == pytest.approx(6 / 8)


def test_generic_values_are_counted_never_named() -> None:
    stats = generic_contact_stats(_borough(), min_holders=5)
    assert stats == {
        "generic_phone_values": 1,
        "records_with_generic_phone": 6,
        "generic_email_values": 0,
        "records_with_generic_email": 0,
    }
    text = json.dumps(stats)
    assert "0440" not in text
    assert "jones" not in text.lower()


def test_the_trained_u_is_read_from_the_model_json(tmp_path: Path) -> None:
    model = {
        "comparisons": [
            {
                "output_column_name": "phone",
                "comparison_levels": [
                    {"label_for_charts": "missing", "is_null_level": True},
                    {"label_for_charts": "exact match, names agree", "u_probability": 2e-4},
                    {"label_for_charts": "different", "u_probability": 0.99},
                ],
            },
            {
                "output_column_name": "email",
                "comparison_levels": [{"label_for_charts": "exact match, names agree"}],
            },
        ]
    }
    assert trained_exact_u(model, "phone") == 2e-4
    assert trained_exact_u(model, "email") is None  # never seen when u was sampled
    assert trained_exact_u(model, "nhs_number") is None
