"""Reason codes for quarantined rows and blanked optional fields.

Every quarantined row carries a plain-English ``reason`` (naming the column,
the value and what was expected) and one or more of these short codes, which
the ingest report counts. A blanked optional field (the row is kept) carries
one code and a reason that names the column but never the value, because
field reasons reach the report's summary. The codes are stable: dashboards
and tests may rely on them; the sentences may be reworded.
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
# Optional fields only (the field is blanked, the row kept); BAD_DATE,
# DATE_AFTER_RUN, UNKNOWN_TOPIC, UNKNOWN_CHANNEL and BAD_AMOUNT serve too.
DATE_BEFORE_1900 = "date_before_1900"
BAD_NI_NUMBER = "bad_ni_number"
BAD_NHS_NUMBER = "bad_nhs_number"
NHS_CHECK_DIGIT = "nhs_check_digit"
BAD_POSTCODE = "bad_postcode"
BAD_PHONE = "bad_phone"
BAD_EMAIL = "bad_email"
BAD_UPRN = "bad_uprn"

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

#: Why an optional field was blanked, as the summary says it after the field:
#: "3 dates of birth blanked (after the run date)".
FIELD_DESCRIPTIONS: dict[str, str] = {
    BAD_DATE: "not a date",
    DATE_AFTER_RUN: "after the run date",
    DATE_BEFORE_1900: "before 1900",
    BAD_NI_NUMBER: "not a valid NI number",
    BAD_NHS_NUMBER: "not 10 digits",
    NHS_CHECK_DIGIT: "check digit fails",
    BAD_POSTCODE: "not a UK postcode",
    BAD_PHONE: "not a phone number",
    BAD_EMAIL: "not an email address",
    BAD_UPRN: "not a UPRN",
    BAD_AMOUNT: "not a number",
    UNKNOWN_TOPIC: "not one of the source's topics",
    UNKNOWN_CHANNEL: "not a configured channel",
}

#: Optional fields as a person names them: (one, many).
FIELD_NAMES: dict[str, tuple[str, str]] = {
    "dob": ("date of birth", "dates of birth"),
    "ni_number": ("NI number", "NI numbers"),
    "nhs_number": ("NHS number", "NHS numbers"),
    "postcode": ("postcode", "postcodes"),
    "phone": ("phone number", "phone numbers"),
    "email": ("email address", "email addresses"),
    "uprn": ("UPRN", "UPRNs"),
    "amount": ("amount", "amounts"),
    "topic": ("topic", "topics"),
    "channel": ("channel", "channels"),
}


def blanked_sentence(field: str, code: str, n: int) -> str:
    """E.g. "3 dates of birth blanked (after the run date)"; never a value."""
    one, many = FIELD_NAMES.get(field, (field, field))
    why = FIELD_DESCRIPTIONS.get(code, DESCRIPTIONS.get(code, code))
    return f"{n:,} {one if n == 1 else many} blanked ({why})"
