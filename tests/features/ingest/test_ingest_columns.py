"""Column mappings: renamed columns, the contract's own names, and refusing a file with both."""

from __future__ import annotations

from pathlib import Path

import pytest

from early_warning.config import EVENT_COLUMNS, EVENT_REQUIRED, PEOPLE_COLUMNS, PEOPLE_REQUIRED
from features.ingest import FileRefused
from features.ingest.columns import plan_columns

P = Path("x/events.csv")
MAPPING = {"event_id": "transaction_ref", "event_date": "transaction_date"}


def test_mapped_names_are_renamed_and_reported() -> None:
    plan = plan_columns(
        P,
        ("transaction_ref", "source_person_id", "transaction_date", "event_type"),
        EVENT_COLUMNS,
        EVENT_REQUIRED,
        MAPPING,
    )
    assert plan.found["event_id"] == "transaction_ref"
    assert plan.renamed == {"transaction_ref": "event_id", "transaction_date": "event_date"}
    assert plan.missing_optional == ("amount", "topic", "channel")
    assert plan.extra == ()


def test_the_contracts_own_name_is_accepted_despite_a_mapping() -> None:
    plan = plan_columns(
        P,
        ("event_id", "source_person_id", "event_date", "event_type"),
        EVENT_COLUMNS,
        EVENT_REQUIRED,
        MAPPING,
    )
    assert plan.renamed == {}


def test_a_file_with_both_names_is_refused() -> None:
    with pytest.raises(FileRefused, match="has both 'event_id' and 'transaction_ref'") as err:
        plan_columns(
            P,
            ("event_id", "transaction_ref", "source_person_id", "event_date", "event_type"),
            EVENT_COLUMNS,
            EVENT_REQUIRED,
            MAPPING,
        )
    assert str(P) in str(err.value)


def test_missing_required_column_names_the_mapped_alternative() -> None:
    with pytest.raises(
        FileRefused, match=r"missing required column\(s\) event_date \(or 'transaction_date'\)"
    ):
        plan_columns(
            P, ("transaction_ref", "source_person_id", "event_type"), EVENT_COLUMNS, EVENT_REQUIRED, MAPPING
        )


def test_people_need_the_name_columns_even_though_values_may_be_empty() -> None:
    with pytest.raises(FileRefused, match="last_name"):
        plan_columns(P, ("source_person_id", "first_name"), PEOPLE_COLUMNS, PEOPLE_REQUIRED)


def test_unknown_columns_are_kept_as_extras_and_names_are_case_sensitive() -> None:
    plan = plan_columns(
        P, ("source_person_id", "first_name", "last_name", "DOB", "notes"), PEOPLE_COLUMNS, PEOPLE_REQUIRED
    )
    assert plan.extra == ("DOB", "notes")
    assert "dob" in plan.missing_optional


def test_one_file_column_cannot_stand_for_two_contract_columns() -> None:
    with pytest.raises(FileRefused, match="would stand for both"):
        plan_columns(
            P,
            ("id", "source_person_id", "event_date", "event_type"),
            EVENT_COLUMNS,
            EVENT_REQUIRED,
            {"event_id": "id", "topic": "id"},
        )
