"""Case files: what a caseworker needs to see about each person sent for review.

This is the one place the product assembles names and contact details, so it
lives beside the queue store that keeps them (the personal data's one room);
``features`` stays identifier-free, and an import contract keeps features and
scoring code from importing it. The route stage (:mod:`flows.route`) calls it;
the person page and the API read the result as :class:`review_ui.queue.case_file.CaseFile`.

The review queue holds a score and reasons; a caseworker offering help also
needs to see who the person is to the council's systems, what happened when,
who else lives at the address, and why the records were joined. This module
builds that, as a JSON document per person (``CASE_FILE_VERSION``)::

    {"schema_version": 1, "as_of": "2026-06-30",
     "person": {"names", "age", "address", "postcode", "ward", "phones", "emails",
                "name", "locality", "name_from", "address_from"},
     "records": [{"source", "source_person_id", "name", "address", "last_event", "phone"}],
     "timeline": [{"date", "service", "event_type", "label", "amount", "topic", "role"}],
     "household": {"address", "members": [{"description", "services"}]},
     "evidence": [{"left", "right", "match_probability", "reasons"}],
     "coverage": [{"source", "latest"}]}

``coverage`` (schema version 2) lists every configured source with the date of
the latest event in its extract on or before the night (null when the night
holds none): the person page's "which systems hold a record, and how fresh".

What a caller can rely on:

* Each record keeps the name and phone number it holds, so the page can say which
  systems hold each of the person's names and numbers (the same name in another case,
  or the same number written another way, is the same value).
* A record's *last event* is its latest event on or before the night; records
  (and the phones and emails taken from them) are listed most recently
  active first, ties by source and id.
* ``name`` is taken from the person's most reliable record, not the latest
  (:func:`features.graph.best_record.best_name`); ``names`` starts with it,
  then the other names, most recently active first.
* Addresses are keyed and placed on the gazetteer as
  :mod:`features.graph.addresses` does it, and the current address is the
  one the graph uses (:func:`features.graph.best_record.best_address`: best
  placed, then most reliable source, then most recent), so the case file and
  the review queue's locality agree. Its line, postcode and ward come from
  the gazetteer when the address has a UPRN there, else as that record holds
  them (and the ward is then unknown). ``locality`` is that address's, or
  "unknown" when no record places the person.
* ``name_from`` and ``address_from`` say which record those came from:
  ``source``, ``service`` (its label), ``source_person_id``, ``last_event``,
  for the address ``match`` (how it was placed on the gazetteer,
  :data:`features.graph.best_record.ADDRESS_QUALITY`), and ``text``, the
  sentence a caseworker reads ("Address from council tax, last contact 3
  March 2026"). Null when no record holds one.
* ``age`` is whole years at the night from the date of birth most of the
  person's records hold (ties: the most recently active record's); the date
  of birth itself is never in the document.
* The timeline holds the events of the person's records dated after the same
  day ``timeline_months`` before the night and on or before the night, newest
  first, at most ``timeline_limit``; labels and topic words are the
  configuration's wording (``config.wording``, a council's ``wording.yaml``),
  roles from the configuration.
* The household is the *other* people whose current address is this person's
  (only when it is an address, not a postcode alone): described by age band
  and the services they were in touch with in the last
  ``household_window_days``, never by name, id or date of birth.
* Only the events of the people asked for (and of the people who might share
  their address) are read: the events frame is semi-joined to their records
  first, so a lazy scan of a night's events reads nothing else into memory.

Example:
    >>> import json
    >>> from datetime import date
    >>> from early_warning.config import load_config
    >>> from features.schema import GAZETTEER_SCHEMA
    >>> frame = build_case_files(
    ...     ["p1"],
    ...     persons=pl.DataFrame(
    ...         {"person_id": ["p1"], "source": ["council_tax"], "source_person_id": ["CT1"]}
    ...     ),
    ...     people=pl.DataFrame(
    ...         {"source": ["council_tax"], "source_person_id": ["CT1"], "first_name": ["Ann"],
    ...          "last_name": ["Example"], "dob": [date(1980, 7, 1)]}
    ...     ),
    ...     events=pl.DataFrame(
    ...         {"source": ["council_tax"], "event_id": ["e1"], "source_person_id": ["CT1"],
    ...          "event_date": [date(2026, 6, 1)], "event_type": ["missed_instalment"]}
    ...     ),
    ...     gazetteer=pl.DataFrame(schema=GAZETTEER_SCHEMA),
    ...     evidence=None,
    ...     as_of=date(2026, 6, 30),
    ...     config=load_config(),
    ... )
    >>> content = json.loads(frame["content"][0])
    >>> content["person"]["names"], content["person"]["age"]
    (['Ann Example'], 45)
    >>> content["person"]["name_from"]["text"]
    'Name from council tax, last contact 1 June 2026'

    >>> content["timeline"][0]["label"]
    'Missed a council tax instalment'
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, timedelta

import polars as pl

from early_warning.config import ROLES, Config
from early_warning.formatting import uk_date_expr
from features.graph.addresses import UNKNOWN_LOCALITY, record_addresses
from features.graph.best_record import (
    ADDRESS_QUALITY,
    PLACED_QUALITY,
    best_address,
    best_name,
    source_reliability,
)
from features.graph.gazetteer_match import gazetteer_entries, uprn_key
from features.linkage.prep import phone_expr, postcode_expr
from features.schema import EVENTS_SCHEMA, PEOPLE_SCHEMA
from review_ui.queue.case_file import CASE_FILE_VERSION

CASE_FILES_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.String(),
    "ward": pl.String(),
    "content": pl.String(),
}

_RECORD = ["source", "source_person_id"]
_TIMELINE_ENTRY = pl.Struct(
    {
        "date": pl.String,
        "service": pl.String,
        "event_type": pl.String,
        "label": pl.String,
        "amount": pl.Float64,
        "topic": pl.String,
        "role": pl.String,
    }
)
_RECORD_ENTRY = pl.Struct(
    {
        "source": pl.String,
        "source_person_id": pl.String,
        "name": pl.String,
        "address": pl.String,
        "last_event": pl.String,
        "phone": pl.String,
    }
)
_MEMBER_ENTRY = pl.Struct({"description": pl.String, "services": pl.List(pl.String)})
_SOURCE_ENTRY = pl.Struct(
    {
        "source": pl.String,
        "service": pl.String,
        "source_person_id": pl.String,
        "last_event": pl.String,
        "text": pl.String,
    }
)
_ADDRESS_SOURCE_ENTRY = pl.Struct({**_SOURCE_ENTRY.to_schema(), "match": pl.String})
_COVERAGE_ENTRY = pl.Struct({"source": pl.String, "latest": pl.String})
_EVIDENCE_ENTRY = pl.Struct(
    {"left": pl.String, "right": pl.String, "match_probability": pl.Float64, "reasons": pl.List(pl.String)}
)

Frame = pl.DataFrame | pl.LazyFrame


def build_case_files(
    person_ids: Iterable[str] | pl.Series,
    *,
    persons: Frame,
    people: Frame,
    events: Frame,
    gazetteer: pl.DataFrame,
    evidence: Frame | None,
    as_of: date,
    config: Config,
    timeline_months: int = 24,
    timeline_limit: int = 300,
    household_window_days: int = 365,
) -> pl.DataFrame:
    """One case file per person asked for.

    Args:
        person_ids: the people to build case files for (duplicates are ignored).
        persons: ``person_id, source, source_person_id`` (``persons.parquet``).
        people, events, gazetteer: the night's canonical frames (``features.schema``);
            ``people`` and ``events`` may be lazy scans.
        evidence: ``match_evidence.parquet`` (``features.linkage.evidence``), or None.
        as_of: the night; nothing after it is read.
        config: event roles, service labels and each source's reliability.

    Returns:
        ``person_id``, ``ward`` (of the current address, or null) and ``content``
        (the case file as a JSON string), one row per person, sorted by person_id.
        A person with no records still gets a case file, with empty sections.
    """
    ids = (
        pl.DataFrame({"person_id": list(person_ids)}, schema={"person_id": pl.String})
        .drop_nulls()
        .unique()
        .sort("person_id")
    )
    if ids.is_empty():
        return pl.DataFrame(schema=CASE_FILES_SCHEMA)
    gazetteer = gazetteer.with_columns(uprn_key(pl.col("uprn")).alias("_uprn"))
    reliability = source_reliability(config)
    all_persons = persons.lazy().select("person_id", "source", "source_person_id")
    people = _people_columns(people)
    subject_records = all_persons.join(ids.lazy(), on="person_id", how="semi").collect()
    subject_people = _people_of(people, subject_records)
    entries = gazetteer_entries(gazetteer)
    neighbours = _possible_co_residents(all_persons, people, subject_people, gazetteer, entries, ids)
    records = pl.concat([subject_records, neighbours])
    held = pl.concat([subject_people, _people_of(people, neighbours)], how="diagonal_relaxed")
    night_events = (
        events.lazy()
        .filter(pl.col("event_date") <= as_of)
        .join(records.lazy().select(_RECORD), on=_RECORD, how="semi")
        .collect()
    )
    table = _record_table(records, held, night_events, gazetteer, entries)
    current = _current_addresses(table, gazetteer, reliability)
    ages = _ages(table, as_of)

    subject_table = table.join(ids, on="person_id", how="semi")
    parts = [
        _person_section(subject_table, current, ages, reliability, config),
        _records_section(subject_table),
        _timeline_section(
            subject_records, night_events, as_of, config, months=timeline_months, limit=timeline_limit
        ),
        _household_section(ids, current, ages, records, night_events, as_of, household_window_days),
        _evidence_section(evidence, ids),
    ]
    frame = ids
    for part in parts:
        frame = frame.join(part, on="person_id", how="left")
    person = pl.struct(
        pl.col("names").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        pl.col("age"),
        pl.col("address"),
        pl.col("postcode"),
        pl.col("ward"),
        pl.col("phones").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        pl.col("emails").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        pl.col("display_name").alias("name"),
        pl.col("locality").fill_null(UNKNOWN_LOCALITY),
        pl.col("name_from").cast(_SOURCE_ENTRY),
        pl.col("address_from").cast(_ADDRESS_SOURCE_ENTRY),
    )
    household = pl.struct(
        pl.col("household_address").alias("address"),
        pl.col("members").fill_null(pl.lit([], dtype=pl.List(_MEMBER_ENTRY))),
    )
    content = pl.struct(
        pl.lit(CASE_FILE_VERSION).alias("schema_version"),
        pl.lit(as_of.isoformat()).alias("as_of"),
        person.alias("person"),
        pl.col("records").fill_null(pl.lit([], dtype=pl.List(_RECORD_ENTRY))),
        pl.col("timeline").fill_null(pl.lit([], dtype=pl.List(_TIMELINE_ENTRY))),
        household.alias("household"),
        pl.col("evidence").fill_null(pl.lit([], dtype=pl.List(_EVIDENCE_ENTRY))),
        _coverage(events, as_of, config).alias("coverage"),
    )
    return (
        frame.select("person_id", "ward", content.struct.json_encode().alias("content"))
        .cast(CASE_FILES_SCHEMA)  # type: ignore[arg-type]
        .sort("person_id")
    )


def months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier (the month's last day when it is shorter)."""
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def age_description(age: pl.Expr) -> pl.Expr:
    """How a household member is described: an age band, never more."""
    decade = (age // 10 * 10).cast(pl.String)
    return (
        pl.when(age.is_null())
        .then(pl.lit("Person of unknown age"))
        .when(age < 18)
        .then(pl.lit("Child"))
        .when(age >= 65)
        .then(pl.lit("Person aged 65 or over"))
        .when(age < 30)
        .then(pl.lit("Adult aged 18 to 29"))
        .when(age >= 60)
        .then(pl.lit("Adult aged 60 to 64"))
        .otherwise(pl.lit("Adult aged ") + decade + pl.lit(" to ") + (age // 10 * 10 + 9).cast(pl.String))
    )


# --- reading only what is needed ---------------------------------------------


def _people_columns(people: Frame) -> pl.LazyFrame:
    """The canonical people columns (those a frame lacks as nulls), without ``row_number``."""
    frame = people.lazy()
    present = frame.collect_schema().names()
    return frame.select(
        (pl.col(name) if name in present else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in PEOPLE_SCHEMA.items()
        if name != "row_number"
    )


def _people_of(people: pl.LazyFrame, records: pl.DataFrame) -> pl.DataFrame:
    return people.join(records.lazy().select(_RECORD), on=_RECORD, how="semi").collect()


def _possible_co_residents(
    all_persons: pl.LazyFrame,
    people: pl.LazyFrame,
    subject_people: pl.DataFrame,
    gazetteer: pl.DataFrame,
    entries: pl.DataFrame,
    ids: pl.DataFrame,
) -> pl.DataFrame:
    """Every record of everyone (not asked for) who could share an address with someone asked for.

    An address key is a UPRN (held, or found from the postcode and house
    number) or the postcode and words, so anyone at the same address holds
    the same UPRN or the same postcode on at least one record - or holds no
    postcode and a line the gazetteer places on the same UPRN by its street
    (:mod:`features.graph.gazetteer_match`), which only those lines are read for.
    """
    keys = record_addresses(subject_people, gazetteer, entries=entries)["address_key"].drop_nulls()
    uprns = keys.filter(keys.str.starts_with("U:")).str.slice(2).unique()
    postcodes = pl.concat(
        [
            subject_people.select(postcode_expr("postcode")).to_series(),
            gazetteer.filter(pl.col("_uprn").is_in(uprns.implode()))
            .select(postcode_expr("postcode"))
            .to_series(),
        ]
    ).drop_nulls()
    held_near = people.filter(
        uprn_key(pl.col("uprn")).is_in(uprns.implode())
        | postcode_expr("postcode").is_in(postcodes.unique().implode())
    ).select(_RECORD)
    lines_without_postcode = people.filter(
        postcode_expr("postcode").is_null()
        & pl.col("address").is_not_null()
        & uprn_key(pl.col("uprn")).is_null()
    ).collect()
    placed_near = (
        record_addresses(lines_without_postcode, gazetteer, entries=entries)
        .filter(pl.col("address_key").is_in(("U:" + uprns).implode()))
        .select(_RECORD)
    )
    near = pl.concat([held_near, placed_near.lazy()])
    who = (
        all_persons.join(near, on=_RECORD, how="semi")
        .select("person_id")
        .unique()
        .join(ids.lazy(), on="person_id", how="anti")
    )
    return all_persons.join(who, on="person_id", how="semi").collect()


# --- per record and per person -------------------------------------------------


def _text(column: str) -> pl.Expr:
    value = pl.col(column).str.replace_all(r"\s+", " ").str.strip_chars()
    return pl.when(value.str.len_chars() > 0).then(value)


def _address_line(address: pl.Expr, postcode: pl.Expr) -> pl.Expr:
    """ "<address>, <postcode>", either alone, or null."""
    return pl.concat_str([address, postcode], separator=", ", ignore_nulls=True).replace("", None)


def _record_table(
    records: pl.DataFrame,
    held: pl.DataFrame,
    night_events: pl.DataFrame,
    gazetteer: pl.DataFrame,
    entries: pl.DataFrame,
) -> pl.DataFrame:
    """One row per record with what it holds, most recently active first within each person."""
    last_event = night_events.group_by(_RECORD).agg(pl.col("event_date").max().alias("last_event"))
    shown = held.select(
        *_RECORD,
        pl.concat_str([_text("first_name"), _text("last_name")], separator=" ", ignore_nulls=True)
        .replace("", None)
        .alias("name"),
        _text("address").alias("address"),
        _text("postcode").alias("postcode"),
        "dob",
        _text("phone").alias("phone"),
        _text("email").alias("email"),
        # as held, for choosing the record a name is taken from (best_record.best_name)
        "first_name",
        "last_name",
        "ni_number",
        "nhs_number",
        "uprn",
    )
    keys = record_addresses(held, gazetteer, entries=entries)
    return (
        records.join(shown, on=_RECORD, how="left")
        .join(keys.unique(_RECORD, keep="first"), on=_RECORD, how="left")
        .join(last_event, on=_RECORD, how="left")
        .sort(
            ["person_id", "last_event", "source", "source_person_id"],
            descending=[False, True, False, False],
            nulls_last=True,
        )
        .with_row_index("_order")
    )


def _current_addresses(
    table: pl.DataFrame, gazetteer: pl.DataFrame, reliability: dict[str, int]
) -> pl.DataFrame:
    """Per person: ``address_key``, ``address``, ``postcode``, ``ward``, ``locality``,
    ``dwelling`` and the record it came from (``source``, ``source_person_id``,
    ``last_event``, ``address_quality``).

    The address is the graph's current address (:func:`best_address`): a
    caseworker needs the door to knock on, and the locality team that sees
    the person must be the one the address is in.
    """
    places = gazetteer.select(
        (pl.lit("U:") + pl.col("_uprn")).alias("address_key"),
        _text("address").alias("_gaz_address"),
        postcode_expr("postcode").alias("_gaz_postcode"),
        pl.col("ward"),
    ).unique("address_key", keep="first")
    return (
        best_address(table, reliability)
        .join(places, on="address_key", how="left")
        .select(
            "person_id",
            "address_key",
            pl.coalesce("_gaz_address", "address").alias("address"),
            pl.when(pl.col("_gaz_address").is_not_null())
            .then(pl.col("_gaz_postcode"))
            .otherwise(postcode_expr("postcode"))
            .alias("postcode"),
            "ward",
            pl.when(pl.col("address_quality") >= PLACED_QUALITY)
            .then(pl.col("locality"))
            .otherwise(pl.lit(UNKNOWN_LOCALITY))
            .alias("locality"),
            (pl.col("address_quality") >= 1).alias("dwelling"),
            "source",
            "source_person_id",
            "last_event",
            "address_quality",
        )
    )


def _ages(table: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """``person_id``, ``age``: whole years at the night from the date of birth most records hold."""
    dob = pl.col("dob")
    before_birthday = (dob.dt.month().cast(pl.Int32) * 100 + dob.dt.day().cast(pl.Int32)) > (
        as_of.month * 100 + as_of.day
    )
    age = pl.lit(as_of.year, dtype=pl.Int32) - dob.dt.year().cast(pl.Int32) - before_birthday.cast(pl.Int32)
    return (
        table.filter(dob.is_not_null() & (dob <= as_of))
        .group_by("person_id", "dob")
        .agg(pl.len().alias("_n"), pl.col("_order").min())
        .sort(["person_id", "_n", "_order"], descending=[False, True, False])
        .group_by("person_id", maintain_order=True)
        .first()
        .select("person_id", age.cast(pl.Int64).alias("age"))
    )


def name_key(name: pl.Expr) -> pl.Expr:
    """A name compared without case or extra spaces: the variants of one name are one name."""
    return name.str.strip_chars().str.replace_all(r"\s+", " ").str.to_lowercase()


def _distinct_by(column: str, key: pl.Expr) -> pl.Expr:
    """The column's values in row order, once per key (the first one held)."""
    return pl.col(column).filter(key.is_not_null() & key.is_first_distinct())


def _from_record(what: str, config: Config) -> pl.Expr:
    """``source``, ``service``, ``source_person_id``, ``last_event`` and ``text``
    ("<What> from <service>, last contact <date>") of the record a detail was taken from."""
    service = pl.col("source").replace_strict(
        config.wording.services, default=pl.col("source").str.replace_all("_", " "), return_dtype=pl.String
    )
    when = uk_date_expr("last_event")
    text = pl.concat_str(
        [pl.lit(f"{what} from "), service, pl.lit(", last contact ") + when], ignore_nulls=True
    )
    return pl.struct(
        "source",
        service.alias("service"),
        "source_person_id",
        pl.col("last_event").dt.to_string("%Y-%m-%d").alias("last_event"),
        text.alias("text"),
    )


def _address_from(current: pl.DataFrame, config: Config) -> pl.DataFrame:
    """``person_id``, ``address_from``: where the current address came from, and how it was placed."""
    match = pl.col("address_quality").cast(pl.Int64).replace_strict(ADDRESS_QUALITY, return_dtype=pl.String)
    base = _from_record("Address", config)
    postcode_only = _from_record("Postcode", config)
    return current.with_columns(match.alias("match")).select(
        "person_id",
        pl.when(pl.col("match") == "postcode_only")
        .then(postcode_only)
        .otherwise(base)
        .struct.with_fields(
            pl.field("text")
            + pl.col("match").replace_strict(config.wording.address_match, return_dtype=pl.String),
            pl.col("match"),
        )
        .alias("address_from"),
    )


def _person_section(
    table: pl.DataFrame,
    current: pl.DataFrame,
    ages: pl.DataFrame,
    reliability: dict[str, int],
    config: Config,
) -> pl.DataFrame:
    # One number once, however it was written ("+44 7700 900123" is "07700 900123"), and one
    # name once whatever its case or spacing ("SEAN CAREY" is "Sean Carey").
    phone_key = phone_expr("phone")
    email_key = pl.col("email").str.to_lowercase()
    display = best_name(table.filter(pl.col("name").is_not_null()), reliability).select(
        "person_id",
        pl.col("name").alias("display_name"),
        _from_record("Name", config).alias("name_from"),
    )
    other_name = pl.when(name_key(pl.col("name")) != name_key(pl.col("display_name"))).then(
        name_key(pl.col("name"))
    )
    return (
        table.join(display, on="person_id", how="left", maintain_order="left")
        .group_by("person_id", maintain_order=True)
        .agg(
            pl.col("display_name").first(),
            pl.col("name_from").first(),
            _distinct_by("name", other_name).alias("_other_names"),
            _distinct_by("phone", phone_key).alias("phones"),
            _distinct_by("email", email_key).alias("emails"),
        )
        .with_columns(pl.concat_list(pl.col("display_name"), "_other_names").list.drop_nulls().alias("names"))
        .drop("_other_names")
        .join(
            current.select("person_id", "address", "postcode", "ward", "locality"),
            on="person_id",
            how="left",
        )
        .join(_address_from(current, config), on="person_id", how="left")
        .join(ages, on="person_id", how="left")
    )


def _records_section(table: pl.DataFrame) -> pl.DataFrame:
    entry = pl.struct(
        "source",
        "source_person_id",
        "name",
        _address_line(pl.col("address"), pl.col("postcode")).alias("address"),
        pl.col("last_event").dt.to_string("%Y-%m-%d").alias("last_event"),
        "phone",
    )
    return table.group_by("person_id", maintain_order=True).agg(entry.alias("records"))


# --- timeline ----------------------------------------------------------------------


def _labels(config: Config) -> pl.DataFrame:
    """(source, event_type) -> label and role, for every event type the configuration knows."""
    rows = []
    for source, spec in config.sources.items():
        for role in ROLES:
            for event_type in getattr(spec.events, role):
                label = config.wording.event_label(source, event_type)
                if label is None:
                    label = f"{event_type.replace('_', ' ').capitalize()} ({config.wording.service_label(source)})"
                rows.append((source, event_type, label, role))
    return pl.DataFrame(
        rows,
        schema={"source": pl.String, "event_type": pl.String, "_label": pl.String, "_role": pl.String},
        orient="row",
    )


def _timeline_section(
    subject_records: pl.DataFrame,
    night_events: pl.DataFrame,
    as_of: date,
    config: Config,
    *,
    months: int,
    limit: int,
) -> pl.DataFrame:
    since = months_before(as_of, months)
    events = night_events
    for name, dtype in EVENTS_SCHEMA.items():
        if name not in events.columns:
            events = events.with_columns(pl.lit(None, dtype=dtype).alias(name))
    # config.wording.topic_words, for a column: a topic's words, else its name with spaces.
    topic_words = pl.col("topic").replace_strict(
        config.wording.topics,
        default=pl.col("topic").str.replace_all("_", " "),
        return_dtype=pl.String,
    )
    words = pl.col("event_type").str.replace_all("_", " ")
    fallback = (
        words.str.head(1).str.to_uppercase()
        + words.str.slice(1)
        + pl.lit(" (")
        + pl.col("source").str.replace_all("_", " ")
        + pl.lit(")")
    )
    label = pl.coalesce("_label", fallback)
    label = pl.when(topic_words.is_not_null()).then(label + pl.lit(" about ") + topic_words).otherwise(label)
    entry = pl.struct(
        pl.col("event_date").dt.to_string("%Y-%m-%d").alias("date"),
        pl.col("source").alias("service"),
        "event_type",
        label.alias("label"),
        pl.col("amount").cast(pl.Float64),
        pl.col("topic"),
        pl.coalesce("_role", "role").alias("role"),
    )
    return (
        events.filter(pl.col("event_date") > since)
        .join(subject_records, on=_RECORD)
        .join(_labels(config), on=["source", "event_type"], how="left")
        .sort(
            ["person_id", "event_date", "source", "event_type", "event_id"],
            descending=[False, True, False, False, False],
            nulls_last=True,
        )
        .group_by("person_id", maintain_order=True)
        .agg(entry.head(limit).alias("timeline"))
    )


def _coverage(events: Frame, as_of: date, config: Config) -> pl.Expr:
    """Each configured source and its extract's latest event date on or before the night, as one literal."""
    latest = dict(
        events.lazy()
        .filter(pl.col("event_date") <= as_of)
        .group_by("source")
        .agg(pl.col("event_date").max().dt.to_string("%Y-%m-%d"))
        .collect()
        .iter_rows()
    )
    rows = [{"source": source, "latest": latest.get(source)} for source in config.sources]
    return pl.lit(pl.Series([rows], dtype=pl.List(_COVERAGE_ENTRY))).first()


# --- household and evidence ------------------------------------------------------


def _household_section(
    ids: pl.DataFrame,
    current: pl.DataFrame,
    ages: pl.DataFrame,
    records: pl.DataFrame,
    night_events: pl.DataFrame,
    as_of: date,
    window_days: int,
) -> pl.DataFrame:
    homes = current.join(ids, on="person_id", how="semi").filter("dwelling")
    services = (
        night_events.filter(pl.col("event_date") > as_of - timedelta(days=window_days))
        .join(records, on=_RECORD)
        .group_by("person_id")
        .agg(pl.col("source").unique().sort().alias("services"))
    )
    members = (
        homes.select("person_id", "address_key")
        .join(
            current.select(pl.col("person_id").alias("member"), "address_key"),
            on="address_key",
        )
        .filter(pl.col("member") != pl.col("person_id"))
        .join(ages.rename({"person_id": "member"}), on="member", how="left")
        .join(services.rename({"person_id": "member"}), on="member", how="left")
        .with_columns(
            age_description(pl.col("age")).alias("description"),
            pl.col("services").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        )
        .sort(["person_id", "age", "member"], descending=[False, True, False], nulls_last=True)
        .group_by("person_id", maintain_order=True)
        .agg(pl.struct("description", "services").alias("members"))
    )
    return homes.select(
        "person_id", _address_line(pl.col("address"), pl.col("postcode")).alias("household_address")
    ).join(members, on="person_id", how="left")


def _evidence_section(evidence: Frame | None, ids: pl.DataFrame) -> pl.DataFrame:
    if evidence is None:
        return pl.DataFrame(schema={"person_id": pl.String, "evidence": pl.List(_EVIDENCE_ENTRY)})
    entry = pl.struct(
        (pl.col("source_l") + pl.lit(" ") + pl.col("source_person_id_l")).alias("left"),
        (pl.col("source_r") + pl.lit(" ") + pl.col("source_person_id_r")).alias("right"),
        pl.col("match_probability").cast(pl.Float64),
        pl.col("reasons").fill_null(pl.lit([], dtype=pl.List(pl.String))).cast(pl.List(pl.String)),
    )
    return (
        evidence.lazy()
        .join(ids.lazy(), on="person_id", how="semi")
        .sort("person_id", "source_l", "source_person_id_l", "source_r", "source_person_id_r")
        .group_by("person_id", maintain_order=True)
        .agg(entry.alias("evidence"))
        .collect()
    )
