"""Reason codes for quarantined rows.

Every quarantined row carries a plain-English ``reason`` (naming the column,
the value and what was expected) and one or more of these short codes, which
the ingest report counts. The codes are stable: dashboards and tests may rely
on them; the sentences may be reworded.
"""

from __future__ import annotations

BLANK_REQUIRED = "blank_required"
BAD_DATE = "bad_date"
DATE_AFTER_RUN = "date_after_run"
UNKNOWN_EVENT_TYPE = "unknown_event_type"
UNKNOWN_TOPIC = "unknown_topic"
UNKNOWN_CHANNEL = "unknown_channel"
BAD_AMOUNT = "bad_amount"
PERSON_NOT_IN_PEOPLE = "person_not_in_people"
PERSON_QUARANTINED = "person_quarantined"
CONFLICTING_DUPLICATE = "conflicting_duplicate"
EXACT_DUPLICATE = "exact_duplicate"
WRONG_FIELD_COUNT = "wrong_field_count"
BAD_QUOTING = "bad_quoting"
NOT_UTF8 = "not_utf8"

#: What each code means, for the human summary.
DESCRIPTIONS: dict[str, str] = {
    BLANK_REQUIRED: "a required value is blank",
    BAD_DATE: "a date could not be read",
    DATE_AFTER_RUN: "a date is after the run's date",
    UNKNOWN_EVENT_TYPE: "event type not in the source's vocabulary",
    UNKNOWN_TOPIC: "topic not in the source's vocabulary",
    UNKNOWN_CHANNEL: "channel not in the configured channels",
    BAD_AMOUNT: "amount is not a number",
    PERSON_NOT_IN_PEOPLE: "event's person is not in the source's people file",
    PERSON_QUARANTINED: "event's person was itself quarantined",
    CONFLICTING_DUPLICATE: "id shared by rows that differ",
    EXACT_DUPLICATE: "exact repeat of an earlier row",
    WRONG_FIELD_COUNT: "line has the wrong number of fields",
    BAD_QUOTING: "line has broken quoting",
    NOT_UTF8: "line is not valid UTF-8 text",
}
