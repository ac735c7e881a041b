"""One case file, typed: what the person page and the API read.

A case file is stored as a JSON document (built by
:mod:`review_ui.queue.case_files`, kept in the queue's ``case_files``
table). Reading it through :class:`CaseFile` gives every page and the API
the same fields, with the same defaults for what an older document lacks,
instead of each re-parsing a dict its own way.

``schema_version`` says which shape a document has. Documents written before
the field existed carry ``"version": 1`` (or nothing) and read as version 1;
the shape is the same. Version 2 adds ``coverage`` (each source's latest
extract date); a version 1 document reads with none, and the page says so. A field added later gets a default here, so older
documents keep reading.

Example:
    >>> case_file = read_case_file({"version": 1, "as_of": "2026-06-30", "person": {"names": ["Ann"]}})
    >>> case_file.schema_version, case_file.as_of.isoformat(), case_file.person.names
    (1, '2026-06-30', ['Ann'])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

#: The shape :mod:`review_ui.queue.case_files` writes.
CASE_FILE_VERSION = 2


def _date_or_none(value: Any) -> date | None:
    """An ISO date (or datetime) as a date; anything unreadable as None, so one bad
    entry does not hide the rest of a case file."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _number_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


OptionalDate = Annotated[date | None, BeforeValidator(_date_or_none)]
OptionalNumber = Annotated[float | None, BeforeValidator(_number_or_none)]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class TakenFrom(_Part):
    """The record a person's name or address was taken from, and the sentence that says so."""

    source: str | None = None
    service: str | None = None
    source_person_id: str | None = None
    last_event: OptionalDate = None
    text: str | None = None
    #: For an address: how it was placed on the gazetteer.
    match: str | None = None


def national_phone(text: str) -> str:
    """A UK number's digits in national form ("+44 (0)7700 900123" -> "07700900123"), the same
    rule as :func:`features.linkage.prep.phone_expr`; anything else, its digits."""
    digits = "".join(c for c in text if c.isdigit())
    international = digits.removeprefix("00")
    if international.startswith("440") and len(international) == 13:
        return international[2:]
    if international.startswith("44") and len(international) == 12:
        return "0" + international[2:]
    if not digits.startswith("0") and len(digits) == 10:
        return "0" + digits
    return digits


def name_key(name: str) -> str:
    """A name compared without case or extra spaces ("SEAN  CAREY" is "Sean Carey"), as
    :func:`review_ui.queue.case_files.name_key` compares them when the case file is built."""
    return " ".join(name.split()).casefold()


class Person(_Part):
    """Who the person is to the council's systems (never their date of birth)."""

    names: list[str] = Field(default_factory=list)
    age: int | None = None
    address: str | None = None
    postcode: str | None = None
    ward: str | None = None
    phones: list[str] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list)
    #: The name shown; older documents lack it and show their first name.
    name: str | None = None
    locality: str | None = None
    name_from: TakenFrom | None = None
    address_from: TakenFrom | None = None

    @property
    def display_name(self) -> str | None:
        return self.name or (self.names[0] if self.names else None)

    @model_validator(mode="after")
    def _one_name_once(self) -> Person:
        """Case files written before names were compared without case list "SEAN CAREY" and
        "Sean Carey" both: read back, a name is listed once (the shown name's spelling first)."""
        seen: set[str] = set()
        kept = []
        for name in ([self.name] if self.name else []) + self.names:
            key = name_key(name)
            if key and key not in seen:
                seen.add(key)
                kept.append(name)
        if kept != self.names:
            object.__setattr__(self, "names", kept)
        return self

    @field_validator("phones")
    @classmethod
    def _one_phone_once(cls, phones: list[str]) -> list[str]:
        """A number once, compared by its digits in national form (as the nightly run does now)."""
        seen: set[str] = set()
        kept = []
        for phone in phones:
            key = national_phone(phone)
            if key not in seen:
                seen.add(key)
                kept.append(phone)
        return kept


class SourceRecord(_Part):
    """One record a service holds about the person."""

    source: str | None = None
    source_person_id: str | None = None
    name: str | None = None
    address: str | None = None
    last_event: OptionalDate = None
    #: The phone number the record holds (case files from before it was kept lack it).
    phone: str | None = None


class TimelineEntry(_Part):
    """One contact with a council service, in plain English."""

    date: OptionalDate = None
    service: str | None = None
    event_type: str | None = None
    label: str | None = None
    amount: OptionalNumber = None
    topic: str | None = None
    role: str | None = None


class HouseholdMember(_Part):
    """Another person at the address, described by age band only."""

    description: str | None = None
    services: list[str] = Field(default_factory=list)


class Household(_Part):
    address: str | None = None
    members: list[HouseholdMember] = Field(default_factory=list)


class MatchEvidence(_Part):
    """Why two records were joined: ``left`` and ``right`` are "<source> <reference>"."""

    left: str | None = None
    right: str | None = None
    match_probability: OptionalNumber = None
    reasons: list[str] = Field(default_factory=list)


class SourceCoverage(_Part):
    """One configured source and the date of the latest event in its extract that night."""

    source: str
    latest: OptionalDate = None


class CaseFile(_Part):
    """What a reviewer sees about one person, as of one night."""

    schema_version: int = Field(default=1, validation_alias=AliasChoices("schema_version", "version"))
    as_of: date
    person: Person = Field(default_factory=Person)
    records: list[SourceRecord] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    household: Household = Field(default_factory=Household)
    evidence: list[MatchEvidence] = Field(default_factory=list)
    #: Version 2 on; empty for an older document.
    coverage: list[SourceCoverage] = Field(default_factory=list)

    def sources_holding_name(self, name: str) -> list[str]:
        """The sources whose records hold ``name`` (in any case or spacing), most recently
        active first: "Sean Carey - council tax, benefits"."""
        key = name_key(name)
        return _sources(r for r in self.records if r.name and name_key(r.name) == key)

    def sources_holding_phone(self, phone: str) -> list[str]:
        """The sources whose records hold ``phone`` (however it is written), most recently active
        first; none for a case file written before records kept their number."""
        key = national_phone(phone)
        return _sources(r for r in self.records if r.phone and national_phone(r.phone) == key)


def _sources(records: Iterable[SourceRecord]) -> list[str]:
    return list(dict.fromkeys(r.source for r in records if r.source))


def read_case_file(content: Mapping[str, Any]) -> CaseFile:
    """A stored case file document as a :class:`CaseFile` (any version so far).

    Raises:
        pydantic.ValidationError: the document is not a case file (no ``as_of``,
            or a section of the wrong shape).
    """
    return CaseFile.model_validate(dict(content))


def read_household(content: Mapping[str, Any]) -> Household:
    """Only the household section of a stored case file, for the page that lists the people at
    the address: it needs none of the rest (the timeline, records and evidence are the bulk).

    Raises:
        pydantic.ValidationError: the section has the wrong shape.
    """
    return Household.model_validate(content.get("household") or {})
