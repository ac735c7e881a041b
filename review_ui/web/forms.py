"""What the review app's forms accept, and what they say when it is wrong.

A route reads its fields, asks a function here whether they are right, and
either acts or shows the page again with the messages (GOV.UK's error
summary and field errors): the rules and their wording live in one place,
apart from the code that audits, writes and redirects, and can be tested
without a request. The messages are written for the person filling in the
form, never for a developer.

Fields longer than anyone could mean to type are refused before a route is
called (FastAPI's ``max_length``); :func:`refused_request_message` says
which field and what its limit is, without repeating what was sent.

Example:
    >>> outcome_form("declined", "  Did not want help  ").values
    {'outcome': 'declined', 'note': 'Did not want help'}
    >>> outcome_form("maybe", "").errors.fields
    {'outcome': 'Select what happened'}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from review_ui.store import ContactChannel, Outcome
from review_ui.store.link_constraints import MAX_REASON_LENGTH

#: The longest note a reviewer may record with an outcome (the form says so).
NOTE_MAX = 2000
#: The longest "other strengths" and attempt note a reviewer may write.
STRENGTHS_MAX = 500
ATTEMPT_NOTE_MAX = 500
#: Longer than any real value of the audit log's text filters: cut, rather than refused.
FILTER_MAX = 64
MAX_ITEM_ID = 2**31 - 1

#: A field as a message names it, and the limit the person is told: the form's own limit,
#: not the larger one a request is refused at before the form can say so.
FIELD_NAMES: dict[str, tuple[str, int | None]] = {
    "note": ("What matters to the person, and what happened", NOTE_MAX),
    "reason": ("The reason", MAX_REASON_LENGTH),
    "outcome": ("What happened", None),
    "other_strengths": ("Other strengths", STRENGTHS_MAX),
    "attempt_note": ("What you tried", ATTEMPT_NOTE_MAX),
    "return_to": ("The page to go back to", None),
}


@dataclass
class FormErrors:
    """GOV.UK validation errors: one message per field, each listed in the error summary."""

    fields: dict[str, str] = field(default_factory=dict)
    summary: list[dict[str, str]] = field(default_factory=list)

    def add(self, name: str, message: str, href: str | None = None) -> None:
        """Say what is wrong with ``name`` (the first message for a field is the one shown)."""
        if name not in self.fields:
            self.fields[name] = message
            self.summary.append({"text": message, "href": f"#{href or name}"})

    def __bool__(self) -> bool:
        return bool(self.fields)


@dataclass(frozen=True)
class Checked:
    """A form's values as the route should use them, and what is wrong with them (if anything)."""

    values: dict[str, Any]
    errors: FormErrors


def outcome_form(outcome: str, note: str) -> Checked:
    """The outcome form of the person page: one of the five outcomes, and a note of up to
    :data:`NOTE_MAX` characters (spaces around it trimmed)."""
    errors = FormErrors()
    if outcome not in {o.value for o in Outcome}:
        errors.add("outcome", "Select what happened")
    note = note.strip()
    if len(note) > NOTE_MAX:
        errors.add(
            "note", f"What matters to the person, and what happened must be {NOTE_MAX:,} characters or fewer"
        )
    return Checked(values={"outcome": outcome, "note": note}, errors=errors)


@dataclass(frozen=True)
class WorkFields:
    """The outcome form's fields beyond the outcome and note, as sent."""

    strengths: Sequence[str] = ()
    other_strengths: str = ""
    follow_up: tuple[str, str, str] = ("", "", "")
    channel: str = ""
    tried: tuple[str, str, str] = ("", "", "")
    attempt_note: str = ""
    close_now: str = ""


def work_form(
    outcome: str, note: str, fields: WorkFields, *, strengths: Sequence[str], today: date
) -> Checked:
    """The whole outcome form: :func:`outcome_form`, and the record of the work beside it.

    ``strengths`` is the configured short list (only those can be ticked); a follow-up date
    must not be in the past. "Could not reach" is an attempt: how (``channel``) is needed,
    and when (``tried``, today if left empty) must not be in the future.
    """
    checked = outcome_form(outcome, note)
    errors = checked.errors
    ticked = [value for value in strengths if value in set(fields.strengths)]
    if set(fields.strengths) - set(strengths):
        errors.add("strengths", "Select strengths from the list")
    other = fields.other_strengths.strip()
    if len(other) > STRENGTHS_MAX:
        errors.add("other_strengths", f"Other strengths must be {STRENGTHS_MAX:,} characters or fewer")
    follow_up = date_fields("follow_up", "The follow-up date", *fields.follow_up, errors)
    if follow_up is not None and follow_up < today:
        errors.add("follow_up", "The follow-up date must be today or in the future", "follow_up-day")
    values: dict[str, Any] = {
        **checked.values,
        "strengths": ticked,
        "other_strengths": other,
        "follow_up_on": follow_up,
        "follow_up": dict(zip(("day", "month", "year"), fields.follow_up, strict=True)),
    }
    if outcome == Outcome.COULD_NOT_REACH:
        _attempt_fields(fields, today, errors, values)
    return Checked(values=values, errors=errors)


def _attempt_fields(fields: WorkFields, today: date, errors: FormErrors, values: dict[str, Any]) -> None:
    if fields.channel not in {c.value for c in ContactChannel}:
        errors.add("channel", "Select how you tried to get in touch")
    tried = date_fields("tried", "The date you tried", *fields.tried, errors) or today
    if tried > today:
        errors.add("tried", "The date you tried must be today or in the past", "tried-day")
    attempt_note = fields.attempt_note.strip()
    if len(attempt_note) > ATTEMPT_NOTE_MAX:
        errors.add("attempt_note", f"What you tried must be {ATTEMPT_NOTE_MAX:,} characters or fewer")
    values.update(
        channel=fields.channel,
        tried_on=tried,
        tried=dict(zip(("day", "month", "year"), fields.tried, strict=True)),
        attempt_note=attempt_note,
        close_now=fields.close_now == "yes",
    )


def printable(value: str, limit: int = FILTER_MAX) -> str:
    """Printable characters only (PostgreSQL refuses NUL), trimmed and cut to ``limit``."""
    return "".join(character for character in value if character.isprintable()).strip()[:limit]


def date_fields(prefix: str, label: str, day: str, month: str, year: str, errors: FormErrors) -> date | None:
    """A date from GOV.UK's three date fields, or None if all are empty (``errors`` say what is wrong)."""
    parts = {"day": day.strip(), "month": month.strip(), "year": year.strip()}
    if not any(parts.values()):
        return None
    missing = [name for name, value in parts.items() if not value]
    if missing:
        errors.add(prefix, f"{label} must include a {missing[0]}", f"{prefix}-{missing[0]}")
        return None
    if not all(value.isdecimal() for value in parts.values()) or len(parts["year"]) != 4:
        errors.add(prefix, f"{label} must be a real date", f"{prefix}-day")
        return None
    try:
        return date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    except ValueError:
        errors.add(prefix, f"{label} must be a real date", f"{prefix}-day")
        return None


def item_number(text: str, errors: FormErrors) -> int | None:
    """An item number typed into a filter, or None when none was typed."""
    text = text.strip()
    if not text:
        return None
    if text.isdecimal() and 0 < int(text) <= MAX_ITEM_ID:
        return int(text)
    errors.add("item", "Item must be a number, like 1042")
    return None


def page_number(text: str) -> int:
    """The page of a long list asked for; anything but a sensible page number is the first."""
    return int(text) if text.isdecimal() and len(text) <= 6 and int(text) > 0 else 1


def new_password_problem(current: str, new: str, confirm: str, *, problem: str | None) -> dict[str, str]:
    """What is wrong with a new password (``problem``: the password rules' verdict on ``new``)."""
    if problem:
        return {"new_password": problem}
    if new != confirm:
        return {"confirm_password": "The two new passwords are different"}
    if new == current:
        return {"new_password": "Choose a password different from your current one"}
    return {}


def _field_name(error: Mapping[str, Any]) -> str:
    location: Sequence[Any] = error.get("loc") or ()
    return str(location[-1]) if location else ""


def refused_request_message(errors: Sequence[Mapping[str, Any]]) -> str:
    """Why a request was refused before its page could check it, naming the field and its limit
    (never what was sent: a refused value may be anything, and as long as its limit allows)."""
    name = _field_name(errors[0]) if errors else ""
    label, limit = FIELD_NAMES.get(name, (f"The {name.replace('_', ' ')} field" if name else "A field", None))
    if errors and errors[0].get("type") == "string_too_long":
        limit = limit or (errors[0].get("ctx") or {}).get("max_length")
        if limit:
            return f"{label} must be {limit:,} characters or fewer. Go back, shorten it and try again."
    return f"{label} is not in a form this service accepts. Go back, check it and try again."


def without_input(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """FastAPI's validation errors for the JSON API, without the value that was sent."""
    return [
        {"loc": list(e.get("loc") or ()), "msg": str(e.get("msg", "")), "type": e.get("type")} for e in errors
    ]
