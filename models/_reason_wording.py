"""The words of the reasons: one sentence pattern per kind of event, dates and money in UK style.

Kept apart from :mod:`models.reasons` so the wording can be read (and
reviewed by a service manager) in one place. Patterns use ``{label}`` /
``{Label}`` for the service's label from ``sources.yaml``, ``{n}`` for a count
and ``{date}`` for a date; nothing else can reach a sentence, so no name,
date of birth, address or reference number ever does.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from early_warning.config import Config

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

#: (source, event type) -> (one event, several events, add "; arrears now £X").
_EVENT_PATTERNS: dict[tuple[str, str], tuple[str, str, bool]] = {
    ("council_tax", "missed_instalment"): (
        "Missed a {label} instalment on {date}",
        "Missed {n} {label} instalments since {date}",
        True,
    ),
    ("council_tax", "reminder"): (
        "{Label} reminder sent on {date}",
        "{n} {label} reminders sent since {date}",
        False,
    ),
    ("council_tax", "final_notice"): (
        "{Label} final notice sent on {date}",
        "{n} {label} final notices sent since {date}",
        False,
    ),
    ("council_tax", "arrangement_broken"): (
        "{Label} payment arrangement broken on {date}",
        "{n} {label} payment arrangements broken since {date}",
        False,
    ),
    ("council_tax", "discount_removed"): (
        "{Label} discount removed on {date}",
        "{Label} discount removed {n} times since {date}",
        False,
    ),
    ("council_tax", "ctr_claim"): (
        "Claimed {label} reduction on {date}",
        "Claimed {label} reduction {n} times since {date}",
        False,
    ),
    ("housing_rent", "missed_payment"): (
        "Missed a {label} payment on {date}",
        "Missed {n} {label} payments since {date}",
        True,
    ),
    ("housing_rent", "arrears_letter"): (
        "{Label} arrears letter sent on {date}",
        "{n} {label} arrears letters sent since {date}",
        False,
    ),
    ("housing_rent", "repair_request"): (
        "Asked for a repair to their council home on {date}",
        "Asked for repairs to their council home {n} times since {date}",
        False,
    ),
    ("housing_rent", "damp_mould_report"): (
        "Reported damp or mould in their home on {date}",
        "Reported damp or mould in their home {n} times since {date}",
        False,
    ),
    ("housing_rent", "tenancy_end"): (
        "Council tenancy ended on {date}",
        "{n} council tenancies ended since {date}",
        False,
    ),
    ("benefits", "claim_new"): (
        "Made a new benefit claim on {date}",
        "Made {n} new benefit claims since {date}",
        False,
    ),
    ("benefits", "change_of_circumstances"): (
        "Reported a change of circumstances for {label} on {date}",
        "Reported {n} changes of circumstances for {label} since {date}",
        False,
    ),
    ("benefits", "claim_suspended"): (
        "Benefit claim suspended on {date}",
        "Benefit claim suspended {n} times since {date}",
        False,
    ),
    ("benefits", "claim_cancelled"): (
        "Benefit claim cancelled on {date}",
        "Benefit claim cancelled {n} times since {date}",
        False,
    ),
    ("benefits", "overpayment"): (
        "Benefit overpayment recorded on {date}",
        "{n} benefit overpayments recorded since {date}",
        False,
    ),
    ("benefits", "dhp_application"): (
        "Applied for a discretionary housing payment on {date}",
        "Applied for a discretionary housing payment {n} times since {date}",
        False,
    ),
    ("benefits", "welfare_assistance_application"): (
        "Applied for local welfare assistance on {date}",
        "Applied for local welfare assistance {n} times since {date}",
        False,
    ),
    ("contact_centre", "enquiry"): (
        "Made an enquiry to the {label} on {date}",
        "Made {n} enquiries to the {label} since {date}",
        False,
    ),
    ("contact_centre", "complaint"): (
        "Made a complaint to the {label} on {date}",
        "Made {n} complaints to the {label} since {date}",
        False,
    ),
    ("adult_social_care", "contact"): (
        "Contacted {label} on {date}",
        "Contacted {label} {n} times since {date}",
        False,
    ),
    ("adult_social_care", "referral"): (
        "Referred to {label} on {date}",
        "Referred to {label} {n} times since {date}",
        False,
    ),
    ("childrens_services", "early_help_contact"): (
        "Early help contact with {label} on {date}",
        "{n} early help contacts with {label} since {date}",
        False,
    ),
    ("childrens_services", "school_absence_concern"): (
        "School absence concern raised on {date}",
        "{n} school absence concerns raised since {date}",
        False,
    ),
    ("asb", "report_as_victim"): (
        "Reported {label} as a victim on {date}",
        "Reported {label} as a victim {n} times since {date}",
        False,
    ),
    ("asb", "report_as_alleged"): (
        "Named in a report of {label} on {date}",
        "Named in {n} reports of {label} since {date}",
        False,
    ),
    ("asb", "noise_complaint"): (
        "Noise complaint recorded on {date}",
        "{n} noise complaints recorded since {date}",
        False,
    ),
}

#: Contact-centre topics as a caseworker would say them.
TOPIC_WORDS: dict[str, str] = {
    "council_tax": "council tax",
    "rent": "rent",
    "benefits": "benefits",
    "repairs": "repairs",
    "asb": "anti-social behaviour",
    "waste": "waste",
    "parking": "parking",
    "social_care": "social care",
    "housing_options": "housing options",
    "other": "another matter",
}
#: Said of a topic the configuration does not list (free text never reaches a sentence).
UNLISTED_TOPIC = "the same matter"


def event_sentence_patterns(config: Config) -> dict[tuple[str, str], tuple[str, str, bool]]:
    """Every signal event type of ``config`` -> (one, several, with arrears), labels filled in.

    An event type without its own wording gets a plain one built from its name.
    """
    out: dict[tuple[str, str], tuple[str, str, bool]] = {}
    for source, src in config.sources.items():
        label = src.label
        for event_type in src.events.signal:
            words = event_type.replace("_", " ")
            one, many, arrears = _EVENT_PATTERNS.get(
                (source, event_type),
                (
                    f"{{Label}}: {words} recorded on {{date}}",
                    f"{{Label}}: {words} recorded {{n}} times since {{date}}",
                    False,
                ),
            )
            fill = {"{label}": label, "{Label}": label[:1].upper() + label[1:]}
            for key, value in fill.items():
                one, many = one.replace(key, value), many.replace(key, value)
            out[(source, event_type)] = (one, many, arrears and src.holds_arrears)
    return out


def topic_words(topic: str, config: Config) -> str:
    listed = {t for src in config.sources.values() for t in src.topics}
    if topic not in listed:
        return UNLISTED_TOPIC
    return TOPIC_WORDS.get(topic, topic.replace("_", " "))


def uk_date(day: date) -> str:
    """``2 March 2026``."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def uk_date_expr(column: str | pl.Expr) -> pl.Expr:
    """A ``pl.Date`` column as ``2 March 2026`` (polars formats month names in English)."""
    expr = pl.col(column) if isinstance(column, str) else column
    return expr.dt.strftime("%-d %B %Y")


def _thousands(pounds: pl.Expr) -> pl.Expr:
    """Whole pounds (>= 0) with commas every three digits, up to billions."""
    parts = [pounds // 10**9, (pounds // 10**6) % 1000, (pounds // 1000) % 1000, pounds % 1000]
    text = [p.cast(pl.String) for p in parts]
    padded = [t.str.zfill(3) for t in text]
    return (
        pl.when(pounds >= 10**9)
        .then(pl.concat_str([text[0], padded[1], padded[2], padded[3]], separator=","))
        .when(pounds >= 10**6)
        .then(pl.concat_str([text[1], padded[2], padded[3]], separator=","))
        .when(pounds >= 1000)
        .then(pl.concat_str([text[2], padded[3]], separator=","))
        .otherwise(text[3])
    )


def money_expr(amount: pl.Expr) -> pl.Expr:
    """Pounds (>= 0) as ``£1,234`` or ``£1,234.50`` (pence only when there are some)."""
    pence = (amount * 100).round(0).cast(pl.Int64)
    pounds, rest = pence // 100, pence % 100
    return pl.concat_str(
        [
            pl.lit("£"),
            _thousands(pounds),
            pl.when(rest != 0).then(pl.lit(".") + rest.cast(pl.String).str.zfill(2)).otherwise(pl.lit("")),
        ]
    )
