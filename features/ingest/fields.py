"""Optional fields that cannot be used: blank the field, keep the row, say which and why.

DATA_CONTRACT.md section 4: a bad *optional* value does not cost the row. A
mistyped year of birth must not remove a resident, and with them all their
contacts, from the night; so the value is set to null in the canonical
output and the row is kept. Nothing is lost: the source's field-quarantine
file (``quarantine/<source>/people_fields.csv``, ``events_fields.csv``)
lists each blanked value with its file, row, line, the row's id, the field,
why and the original value; the report counts them by field and reason
without any value.

Which values count as bad is decided in :mod:`features.ingest.identifiers`
(identifiers and contact details) and here (dates of birth, amounts,
topics, channels). Only rows that are otherwise accepted have fields
blanked; a row sent to quarantine keeps every value as read.

All of it is polars expressions over whole columns: a clean file costs a
few vectorised comparisons and one ``with_columns``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from features.ingest import reasons
from features.ingest.columns import shown
from features.ingest.identifiers import (
    compact,
    email_ok,
    nhs_check_digit_ok,
    nhs_number_shape_ok,
    ni_number_ok,
    phone_digits,
    phone_ok,
    postcode_ok,
    uprn_ok,
)
from features.ingest.tables import LINE, ROW
from features.ingest.values import amount_ok, blank, expected_dates

#: The earliest date of birth believed: anything earlier is a typo or a placeholder.
EARLIEST_DOB = date(1900, 1, 1)

#: Columns of a field-quarantine frame after the row's number, line and id column(s).
BLANKED_AFTER_IDS = ("field", "column", "reason_code", "reason", "value")


@dataclass(frozen=True)
class FieldRule:
    """One way an optional field can be unusable."""

    field: str  # contract column, blanked when ``flag`` is true
    code: str  # a code from :mod:`features.ingest.reasons`
    flag: pl.Expr  # True when the value cannot be used
    reason: str  # plain English naming the column; never the value


#: Columns :func:`people_field_rules` reads besides the contract's: each compact form computed once.
#: Internal names carry the prefix a file's header may not use, so they cannot clash with its columns.
PEOPLE_PREPARED: dict[str, pl.Expr] = {
    "_ingest_ni_code": compact("ni_number"),
    "_ingest_nhs_code": compact("nhs_number"),
    "_ingest_postcode_code": compact("postcode"),
    "_ingest_phone_digits": phone_digits("phone"),
}


def blanked_schema(ids: Sequence[str]) -> dict[str, pl.DataType]:
    """Schema of a field-quarantine frame for a file whose rows are known by ``ids``."""
    schema: dict[str, pl.DataType] = {"row_number": pl.Int64(), "line_number": pl.Int64()}
    schema |= {c: pl.String() for c in (*ids, *BLANKED_AFTER_IDS)}
    return schema


def _present(column: str) -> pl.Expr:
    return ~blank(column)


def people_field_rules(
    parsed_dob: str, as_of: date, date_format: str, names: Mapping[str, str]
) -> list[FieldRule]:
    """The checks on a person's optional fields, in contract column order.

    ``parsed_dob`` names the column holding the parsed date of birth; the
    frame must also hold :data:`PEOPLE_PREPARED`.
    """
    dob = pl.col(parsed_dob)
    ni, nhs, postcode = pl.col("_ingest_ni_code"), pl.col("_ingest_nhs_code"), pl.col("_ingest_postcode_code")

    def rule(field: str, code: str, flag: pl.Expr, why: str) -> FieldRule:
        return FieldRule(field, code, flag, f"{shown(names, field)} {why}")

    return [
        rule(
            "dob",
            reasons.BAD_DATE,
            _present("dob") & dob.is_null(),
            f"is not a date (expected {expected_dates(date_format)})",
        ),
        rule(
            "dob",
            reasons.DATE_AFTER_RUN,
            dob > pl.lit(as_of),
            f"is after the run's date ({as_of.isoformat()})",
        ),
        rule(
            "dob",
            reasons.DATE_BEFORE_1900,
            dob < pl.lit(EARLIEST_DOB),
            f"is before {EARLIEST_DOB.isoformat()} (not believable as a date of birth)",
        ),
        rule(
            "ni_number",
            reasons.BAD_NI_NUMBER,
            _present("ni_number") & ~ni_number_ok(ni),
            "is not a valid NI number (expected two letters of an issued prefix, six digits "
            "and optionally A, B, C or D)",
        ),
        rule(
            "nhs_number",
            reasons.BAD_NHS_NUMBER,
            _present("nhs_number") & ~nhs_number_shape_ok(nhs),
            "is not an NHS number (expected 10 digits)",
        ),
        rule(
            "nhs_number",
            reasons.NHS_CHECK_DIGIT,
            _present("nhs_number") & nhs_number_shape_ok(nhs) & ~nhs_check_digit_ok(nhs),
            "fails the NHS number's check digit (modulus 11), so a digit is probably mistyped",
        ),
        rule(
            "phone",
            reasons.BAD_PHONE,
            _present("phone") & ~phone_ok(pl.col("_ingest_phone_digits")),
            "is not a phone number (expected a UK number such as 01632 960123 or +44 7700 900123, "
            "or another country's starting + or 00)",
        ),
        rule(
            "email",
            reasons.BAD_EMAIL,
            _present("email") & ~email_ok(pl.col("email")),
            "is not an email address (expected one @ followed by a domain such as example.org)",
        ),
        rule(
            "postcode",
            reasons.BAD_POSTCODE,
            _present("postcode") & ~postcode_ok(postcode),
            "is not a full UK postcode (expected a shape such as SW1A 1AA)",
        ),
        rule(
            "uprn",
            reasons.BAD_UPRN,
            _present("uprn") & ~uprn_ok(pl.col("uprn")),
            "is not a UPRN (expected 1 to 12 digits)",
        ),
    ]


def event_field_rules(
    source: str, topics: Sequence[str], channels: Sequence[str], names: Mapping[str, str]
) -> list[FieldRule]:
    """The checks on an event's optional fields: amount, topic, channel."""
    listed = ", ".join(topics) if topics else "none"
    return [
        FieldRule(
            "amount",
            reasons.BAD_AMOUNT,
            _present("amount") & ~amount_ok("amount"),
            f"{shown(names, 'amount')} is not a number (expected plain digits such as 1234.56, "
            "without a currency sign or commas)",
        ),
        FieldRule(
            "topic",
            reasons.UNKNOWN_TOPIC,
            pl.col("topic").is_not_null() & ~pl.col("topic").is_in(list(topics)),
            f"{shown(names, 'topic')} is not a topic of {source} (its topics: {listed})",
        ),
        FieldRule(
            "channel",
            reasons.UNKNOWN_CHANNEL,
            pl.col("channel").is_not_null() & ~pl.col("channel").is_in(list(channels)),
            f"{shown(names, 'channel')} is not a known channel (expected one of {', '.join(channels)})",
        ),
    ]


def flag_columns(rules: Sequence[FieldRule]) -> dict[str, pl.Expr]:
    """One boolean column per rule (null counts as "fine"), named for :func:`blank_flagged`."""
    return {f"_ingest_field{i}": rule.flag.fill_null(False) for i, rule in enumerate(rules)}


def blank_flagged(accepted: pl.DataFrame, rules: Sequence[FieldRule], flags: Sequence[str]) -> pl.DataFrame:
    """Null every flagged field of the accepted rows (canonical names) and drop the flag columns."""
    by_field: dict[str, list[str]] = {}
    for rule, flag in zip(rules, flags, strict=True):
        by_field.setdefault(rule.field, []).append(flag)
    blanked = accepted.with_columns(
        pl.when(~pl.any_horizontal(fl)).then(pl.col(field)).alias(field) for field, fl in by_field.items()
    )
    return blanked.drop(flags)


def blanked_rows(
    flagged: pl.DataFrame,
    rules: Sequence[FieldRule],
    flags: Sequence[str],
    ids: Sequence[str],
    names: Mapping[str, str],
) -> pl.DataFrame:
    """One row per blanked value of the accepted rows in ``flagged`` (raw text columns), in file order.

    Holds the original value: this frame is written only to the quarantine
    folder, never to a log or a summary.
    """
    if not rules:
        return pl.DataFrame(schema=blanked_schema(ids))
    suspects = flagged.filter(pl.any_horizontal(flags))
    parts = [
        suspects.filter(pl.col(flag)).select(
            pl.col(ROW).alias("row_number"),
            pl.col(LINE).alias("line_number"),
            *[pl.col(c).cast(pl.String) for c in ids],
            pl.lit(rule.field, dtype=pl.String).alias("field"),
            pl.lit(names.get(rule.field, rule.field), dtype=pl.String).alias("column"),
            pl.lit(rule.code, dtype=pl.String).alias("reason_code"),
            pl.lit(rule.reason, dtype=pl.String).alias("reason"),
            pl.col(rule.field).cast(pl.String).alias("value"),
        )
        for rule, flag in zip(rules, flags, strict=True)
    ]
    return pl.concat(parts, how="vertical").sort("row_number", maintain_order=True)


def count_blanked(blanked: pl.DataFrame) -> dict[str, dict[str, int]]:
    """Blanked values per field and reason code (counts only, never a value)."""
    out: dict[str, dict[str, int]] = {}
    if blanked.height == 0:
        return out
    counts = blanked.group_by("field", "reason_code").len().sort("field", "reason_code")
    for field, code, n in counts.iter_rows():
        out.setdefault(str(field), {})[str(code)] = int(n)
    return out
