"""The forms' rules and messages, without a request (the pages' tests check they are shown)."""

from __future__ import annotations

from datetime import date

from review_ui.web.forms import (
    FormErrors,
    date_fields,
    item_number,
    new_password_problem,
    outcome_form,
    page_number,
    refused_request_message,
    without_input,
)


def test_the_outcome_form_needs_an_outcome_and_a_note_of_2000_characters_at_most() -> None:
    assert not outcome_form("help_offered", " ").errors
    assert outcome_form("help_offered", " ").values == {"outcome": "help_offered", "note": ""}
    assert outcome_form("", "").errors.fields == {"outcome": "Select what happened"}
    too_long = outcome_form("declined", "x" * 2001).errors
    assert too_long.fields == {
        "note": "What matters to the person, and what happened must be 2,000 characters or fewer"
    }
    assert too_long.summary == [{"text": too_long.fields["note"], "href": "#note"}]
    assert not outcome_form("declined", "x" * 2000).errors


def test_dates_from_three_fields_say_what_is_wrong() -> None:
    errors = FormErrors()
    assert date_fields("from", "Date from", "2", "3", "2026", errors) == date(2026, 3, 2)
    assert date_fields("from", "Date from", "", "", "", errors) is None
    assert not errors
    assert date_fields("from", "Date from", "2", "", "2026", errors) is None
    assert date_fields("to", "Date to", "31", "2", "2026", errors) is None
    assert errors.fields == {"from": "Date from must include a month", "to": "Date to must be a real date"}
    assert [e["href"] for e in errors.summary] == ["#from-month", "#to-day"]


def test_item_and_page_numbers() -> None:
    errors = FormErrors()
    assert item_number(" 1042 ", errors) == 1042
    assert item_number("", errors) is None
    assert item_number("99999999999", errors) is None
    assert errors.fields == {"item": "Item must be a number, like 1042"}
    assert [page_number(p) for p in ("3", "0", "x", "1234567")] == [3, 1, 1, 1]


def test_a_new_password_is_checked_after_the_password_rules() -> None:
    assert new_password_problem("old", "new", "new", problem="Too short") == {"new_password": "Too short"}
    assert new_password_problem("old", "new", "nwe", problem=None) == {
        "confirm_password": "The two new passwords are different"
    }
    assert new_password_problem("same", "same", "same", problem=None) == {
        "new_password": "Choose a password different from your current one"
    }
    assert new_password_problem("old", "new", "new", problem=None) == {}


def test_a_refused_request_names_the_field_and_its_limit_never_the_input() -> None:
    too_long = {
        "type": "string_too_long",
        "loc": ("body", "note"),
        "msg": "String should have at most 40000 characters",
        "input": "secret words",
        "ctx": {"max_length": 40000},
    }
    message = refused_request_message([too_long])
    assert message.startswith(
        "What matters to the person, and what happened must be 2,000 characters or fewer"
    )
    other = {**too_long, "loc": ("body", "display_name"), "ctx": {"max_length": 300}}
    assert refused_request_message([other]).startswith("The display name field must be 300 characters")
    wrong = {"type": "int_parsing", "loc": ("path", "item_id"), "msg": "not an int", "input": "abc"}
    assert refused_request_message([wrong]).startswith("The item id field is not in a form")
    assert without_input([too_long]) == [
        {
            "loc": ["body", "note"],
            "msg": "String should have at most 40000 characters",
            "type": "string_too_long",
        }
    ]
