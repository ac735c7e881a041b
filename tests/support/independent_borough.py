"""A borough this project did not generate: extracts written from DATA_CONTRACT.md alone.

Every end-to-end test elsewhere runs on ``early_warning.synthetic``, whose
conventions the product grew up with. This writer shares none of its code,
names or habits (it must never import it): its own district (Hartwell), its
own localities, wards, streets and postcodes, 12-digit UPRNs starting ``10``,
and it differs the way one council's exports differ from another's:

- council tax arrives as **Parquet** (dates as real date and timestamp
  columns, as pandas or a database export writes them);
- housing rent is a CSV with **dd/mm/yyyy** dates and **renamed columns**
  (``Tenancy Ref``, ``Trans Date`` ...), declared in the council folder's
  ``mappings.yaml`` (:func:`write_council_folder`);
- the contact centre's CSVs have **CRLF** line ends, a UTF-8 byte-order mark
  and their columns in **another order**;
- optional columns are **missing** from several sources (no date of birth in
  the contact centre, no UPRN in most, no amount or channel where a system
  has none);
- the same person is typed differently from one system to the next:
  nicknames, typos, first and last name swapped, other address formats;
- a few **bad rows** in the larger files (unknown event type, an event for a
  person the file does not hold, a duplicate id, an impossible date, a date
  after the night), which ingest must quarantine;
- a mix of people: most are fine, some drift into need across services,
  some of those reach a crisis, some are already known to a service (arrears
  past its threshold, a summons, an assessment).

Deterministic from its seed. Every frequently updated system has activity up
to the night (payments, calls), so a clean night passes the freshness checks.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

__all__ = ["Borough", "write_borough", "write_council_folder", "SOURCES"]

SOURCES = (
    "council_tax",
    "housing_rent",
    "benefits",
    "contact_centre",
    "adult_social_care",
    "childrens_services",
    "homelessness",
    "asb",
)

TOWN = "Hartwell"
#: locality -> (postcode district, wards)
LOCALITIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "Abbeygate": ("HW1", ("Abbey North", "Abbey South")),
    "Millbrook": ("HW2", ("Mill Lane", "Brook End")),
    "Stonecross": ("HW3", ("Stone Cross", "Kiln Green")),
    "Harbourside": ("HW4", ("Quayside",)),
}
STREETS = (
    "Tanners Walk", "Kiln Road", "Ropewalk", "Chandlers Row", "Fennel Close", "Orchard Rise",
    "Saddlers Way", "Malthouse Lane", "Cooper Street", "Wharf Road", "Heron Court", "Bellfounders Place",
    "Juniper Drive", "Weavers Yard", "Linnet Grove", "Quarry Hill", "Tollgate Road", "Millers Green",
    "Pikestaff Lane", "Garnet Street", "Old Forge Close", "Starling Avenue", "Sextant Row", "Dyers Lane",
)  # fmt: skip
STREET_SHORT = {"Road": "Rd", "Street": "St", "Lane": "Ln", "Avenue": "Ave", "Close": "Cl", "Drive": "Dr"}

FEMALE = (
    "Margaret", "Elizabeth", "Katherine", "Jennifer", "Rebecca", "Deborah", "Patricia", "Victoria",
    "Samantha", "Abigail", "Amira", "Priya", "Nkechi", "Aisling", "Zofia", "Fatima", "Chloe", "Grace",
    "Harriet", "Imogen", "Josephine", "Leanne", "Maryam", "Nadia", "Olivia", "Rosalind", "Siobhan",
    "Tamsin", "Yasmin", "Agnieszka", "Bernadette", "Constance", "Dorothy", "Esther", "Florence",
    "Gwendolyn", "Hannah", "Ines", "Jasmine", "Keisha",
)  # fmt: skip
MALE = (
    "William", "Robert", "Jonathan", "Christopher", "Nicholas", "Anthony", "Daniel", "Michael",
    "Richard", "Thomas", "Kwame", "Arjun", "Tomasz", "Declan", "Ibrahim", "Oluwaseun", "Callum", "Dylan",
    "Edward", "Frederick", "Gareth", "Harvey", "Ishaan", "Joseph", "Kieran", "Lewis", "Mohammed",
    "Nathaniel", "Osman", "Patrick", "Raymond", "Stanley", "Terence", "Vikram", "Wesley", "Alexander",
    "Benedict", "Cyril", "Desmond", "Emeka",
)  # fmt: skip
NICKNAMES = {
    "Margaret": "Maggie", "Elizabeth": "Liz", "Katherine": "Kate", "Jennifer": "Jen", "Rebecca": "Becky",
    "Deborah": "Debbie", "Patricia": "Pat", "Victoria": "Vicky", "Samantha": "Sam", "Abigail": "Abbie",
    "William": "Bill", "Robert": "Bob", "Jonathan": "Jon", "Christopher": "Chris", "Nicholas": "Nick",
    "Anthony": "Tony", "Daniel": "Dan", "Michael": "Mike", "Richard": "Rick", "Thomas": "Tom",
    "Josephine": "Jo", "Dorothy": "Dot", "Frederick": "Fred", "Edward": "Ted", "Alexander": "Alex",
}  # fmt: skip
SURNAMES = (
    "Ashworth", "Brennan", "Chaudhry", "Dlamini", "Eccleston", "Fairbrother", "Gallacher", "Hussain",
    "Iwobi", "Jablonski", "Kavanagh", "Lindqvist", "Mahmood", "Nwachukwu", "O'Sullivan", "Pemberton",
    "Quigley", "Rahman", "Sowerby", "Thistlethwaite", "Underwood", "Varga", "Whitfield", "Yeboah",
    "Zielinski", "Ackroyd", "Bhattacharya", "Cartwright", "Duffy", "Entwistle", "Fitzgerald", "Grealish",
    "Hargreaves", "Igwe", "Jagger", "Kowalczyk", "Lomax", "McAllister", "Nolan", "Oyelaran", "Prendergast",
    "Ramsbottom", "Sandhu", "Tierney", "Umeh", "Verma", "Wainwright", "Yilmaz", "Armitage", "Birtwistle",
)  # fmt: skip
ETHNICITIES = (
    "White: English/Welsh/Scottish/NI/British", "White: Irish", "White: Other", "Asian or Asian British: Indian",
    "Asian or Asian British: Pakistani", "Asian or Asian British: Bangladeshi", "Black or Black British: African",
    "Black or Black British: Caribbean", "Mixed or multiple", "Other ethnic group", "Not stated",
)  # fmt: skip
ETHNICITY_WEIGHTS = (52, 3, 9, 6, 6, 3, 7, 4, 4, 2, 4)
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
_NI_PREFIXES = ("AB", "CE", "JK", "PR", "SW", "WL", "NE", "HT", "RM", "YZ", "EH", "LS")


@dataclass
class Resident:
    key: int
    first: str
    last: str
    sex: str
    dob: date
    ethnicity: str
    ni: str
    nhs: str
    phone: str
    email: str
    home: int  # index into the gazetteer
    kind: str  # fine, drifting, crisis, known_debt, known_care, wont_pay, sudden


@dataclass
class Event:
    when: date
    event_type: str
    topic: str | None = None
    channel: str | None = None
    amount: float | None = None


@dataclass
class Borough:
    """Where the extracts went, and counts a test may check against."""

    extracts: Path
    as_of: date
    residents: int
    kinds: dict[str, int]
    bad_rows: dict[str, int] = field(default_factory=dict)


def _nhs_number(rng: random.Random) -> str:
    while True:
        digits = [rng.randint(0, 9) for _ in range(9)]
        if digits[0] == 0:
            continue
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        if check == 11:
            check = 0
        if check != 10:
            return "".join(map(str, digits)) + str(check)


def _ni_number(rng: random.Random) -> str:
    return f"{rng.choice(_NI_PREFIXES)}{rng.randint(0, 999999):06d}{rng.choice('ABCD')}"


def _gazetteer(rng: random.Random, homes: int) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    localities = list(LOCALITIES)
    street_place = {street: localities[i % len(localities)] for i, street in enumerate(STREETS)}
    uprn = 100090000000 + rng.randint(1000, 9000) * 1000
    per_street = homes // len(STREETS) + 1
    for street in STREETS:
        locality = street_place[street]
        district, wards = LOCALITIES[locality]
        ward = rng.choice(wards)
        sector = rng.randint(1, 9)
        for number in range(1, per_street + 1):
            if number % 9 == 0:  # a converted house: two flats
                flats = [f"Flat {'A' if i == 0 else 'B'}, {number}" for i in range(2)]
            else:
                flats = [str(number)]
            for line in flats:
                uprn += rng.randint(1, 40)
                unit = (number - 1) // 6  # one postcode unit for about six doors
                inward = (
                    f"{sector}{_INWARD_LETTERS[unit % 20]}{_INWARD_LETTERS[(unit * 7 + len(street)) % 20]}"
                )
                postcode = f"{district} {inward}"
                rows.append(
                    {
                        "uprn": str(uprn),
                        "address": f"{line} {street}, {TOWN}".upper(),
                        "postcode": postcode,
                        "ward": ward,
                        "locality": locality,
                        "_line": line,
                        "_street": street,
                    }
                )
    return rows


_KINDS = (
    ("fine", 64),
    ("drifting", 14),
    ("crisis", 6),
    ("sudden", 2),
    ("known_debt", 5),
    ("known_care", 4),
    ("wont_pay", 5),
)


def _residents(
    rng: random.Random, count: int, gazetteer: list[dict[str, str]], as_of: date
) -> list[Resident]:
    homes = rng.sample(range(len(gazetteer)), k=min(len(gazetteer), count * 10 // 21))
    people = []
    kinds, weights = zip(*_KINDS, strict=True)
    for key in range(count):
        sex = rng.choice(("F", "M"))
        first = rng.choice(FEMALE if sex == "F" else MALE)
        home = homes[key % len(homes)] if key < len(homes) else rng.choice(homes)
        # people sharing a home mostly share a surname
        last = rng.choice(SURNAMES)
        if key >= len(homes) and rng.random() < 0.7:
            same = next((p for p in people if p.home == home), None)
            last = same.last if same else last
        born = as_of - timedelta(days=rng.randint(19 * 365, 92 * 365))
        handle = f"{first}.{last}".lower().replace("'", "")
        people.append(
            Resident(
                key=key,
                first=first,
                last=last,
                sex=sex,
                dob=born,
                ethnicity=rng.choices(ETHNICITIES, ETHNICITY_WEIGHTS)[0],
                ni=_ni_number(rng),
                nhs=_nhs_number(rng),
                phone=f"07700 9{key % 1000:05d}"[:12]
                if key < 1000
                else f"07700 9{rng.randint(0, 99999):05d}",
                email=f"{handle}{rng.randint(1, 9)}@{rng.choice(('example.org', 'example.net'))}",
                home=home,
                kind=rng.choices(kinds, weights)[0],
            )
        )
    return people


class _Ledger:
    """A resident's events per source over the borough's years."""

    def __init__(self, rng: random.Random, start: date, as_of: date) -> None:
        self.rng = rng
        self.start = start
        self.as_of = as_of
        self.by_source: dict[str, list[Event]] = {}

    def add(self, source: str, when: date, event_type: str, **extra: object) -> None:
        if self.start <= when <= self.as_of:
            self.by_source.setdefault(source, []).append(Event(when, event_type, **extra))  # type: ignore[arg-type]

    def day(self, after: date, within: int) -> date:
        return after + timedelta(days=self.rng.randint(0, max(0, within)))


def _months(start: date, end: date, day: int) -> list[date]:
    out, year, month = [], start.year, start.month
    while True:
        when = date(year, month, min(day, 28))
        if when > end:
            return out
        if when >= start:
            out.append(when)
        month += 1
        if month == 13:
            year, month = year + 1, 1


def _council_tax(ledger: _Ledger, person: Resident, trouble: date | None, wont_pay: bool) -> None:
    rng = ledger.rng
    instalment = round(rng.uniform(95, 185), 2)
    pay_day = rng.randint(1, 28)
    arrears, missed, arranged = 0.0, 0, False
    for year in range(ledger.start.year, ledger.as_of.year + 1):
        ledger.add(
            "council_tax", date(year, 3, rng.randint(5, 20)), "bill_issued", amount=arrears, channel="letter"
        )
    for when in _months(ledger.start, ledger.as_of, pay_day):
        troubled = trouble is not None and when >= trouble
        misses = troubled and rng.random() < (0.85 if wont_pay else 0.55)
        if misses and not arranged:
            arrears = round(arrears + instalment, 2)
            missed += 1
            ledger.add("council_tax", when, "missed_instalment", amount=arrears)
            if missed == 1:
                ledger.add(
                    "council_tax", when + timedelta(days=10), "reminder", amount=arrears, channel="letter"
                )
            if missed == 3:
                ledger.add(
                    "council_tax", when + timedelta(days=12), "final_notice", amount=arrears, channel="letter"
                )
            if missed == 2 and not wont_pay and rng.random() < 0.4:
                ledger.add(
                    "council_tax", when + timedelta(days=6), "ctr_claim", amount=arrears, channel="web"
                )
            if wont_pay and missed == 5:
                ledger.add(
                    "council_tax", when + timedelta(days=20), "summons", amount=arrears, channel="letter"
                )
            if wont_pay and missed == 6:
                ledger.add("council_tax", when + timedelta(days=25), "liability_order", amount=arrears + 86.0)
            if not wont_pay and missed == 4 and rng.random() < 0.5:
                arranged = True
                ledger.add(
                    "council_tax",
                    when + timedelta(days=14),
                    "arrangement_made",
                    amount=arrears,
                    channel="phone",
                )
        else:
            paid = instalment + (min(arrears, 25.0) if arranged else 0.0)
            arrears = round(max(0.0, arrears - (paid - instalment)), 2)
            ledger.add(
                "council_tax", when, "payment", amount=arrears, channel=rng.choice(("web", "phone", "letter"))
            )
            if arranged and troubled and rng.random() < 0.08:
                arranged = False
                ledger.add("council_tax", when + timedelta(days=3), "arrangement_broken", amount=arrears)


def _rent(ledger: _Ledger, trouble: date | None, crisis: date | None) -> None:
    rng = ledger.rng
    rent = round(rng.uniform(380, 620), 2)
    began = ledger.day(ledger.start - timedelta(days=900), 1100)
    ledger.add("housing_rent", began, "tenancy_start", amount=0.0)
    arrears, day = 0.0, rng.randint(1, 28)
    for when in _months(max(began, ledger.start), ledger.as_of, day):
        if trouble is not None and when >= trouble and rng.random() < 0.5:
            arrears = round(arrears + rent * rng.choice((0.25, 0.5, 1.0)), 2)
            ledger.add("housing_rent", when, "missed_payment", amount=arrears)
            if arrears > 300 and rng.random() < 0.4:
                ledger.add(
                    "housing_rent",
                    when + timedelta(days=9),
                    "arrears_letter",
                    amount=arrears,
                    channel="letter",
                )
        else:
            ledger.add("housing_rent", when, "payment", amount=arrears)
        if rng.random() < 0.03:
            ledger.add(
                "housing_rent", ledger.day(when, 20), "repair_request", channel=rng.choice(("phone", "web"))
            )
    if trouble is not None and rng.random() < 0.5:
        ledger.add("housing_rent", ledger.day(trouble, 60), "damp_mould_report", channel="phone")
    if crisis is not None and arrears > 1500 and rng.random() < 0.5:
        ledger.add(
            "housing_rent", crisis - timedelta(days=10), "nosp_served", amount=arrears, channel="letter"
        )


def _benefits(ledger: _Ledger, claimant: bool, trouble: date | None) -> None:
    rng = ledger.rng
    if claimant:
        when = ledger.day(ledger.start, 200)
        ledger.add("benefits", when, "claim_new", channel="web")
        while when < ledger.as_of:
            when += timedelta(days=rng.randint(40, 160))
            ledger.add("benefits", when, "change_of_circumstances", channel=rng.choice(("web", "phone")))
    if trouble is not None:
        ledger.add("benefits", ledger.day(trouble, 50), "claim_new", channel="phone")
        for event_type in (
            "dhp_application",
            "welfare_assistance_application",
            "overpayment",
            "claim_suspended",
        ):
            if rng.random() < 0.45:
                ledger.add(
                    "benefits", ledger.day(trouble, 240), event_type, channel=rng.choice(("web", "phone"))
                )


def _contacts(ledger: _Ledger, trouble: date | None) -> None:
    rng = ledger.rng
    when = ledger.day(ledger.start, 400)
    while when <= ledger.as_of:
        topic = rng.choice(("waste", "parking", "other", "waste", "council_tax"))
        ledger.add(
            "contact_centre", when, "enquiry", topic=topic, channel=rng.choice(("phone", "web", "email"))
        )
        when += timedelta(days=rng.randint(60, 500))
    if trouble is not None:
        for _ in range(rng.randint(2, 6)):
            topic = rng.choice(
                ("council_tax", "benefits", "rent", "housing_options", "repairs", "social_care")
            )
            kind = "complaint" if rng.random() < 0.2 else "enquiry"
            ledger.add(
                "contact_centre",
                ledger.day(trouble, 270),
                kind,
                topic=topic,
                channel=rng.choice(("phone", "face_to_face")),
            )


def _story(
    rng: random.Random, person: Resident, start: date, as_of: date, tenant: bool, claimant: bool
) -> _Ledger:
    """One resident's contacts with the council over the years, by kind of person."""
    ledger = _Ledger(rng, start, as_of)
    span = (as_of - start).days
    trouble = crisis = None
    if person.kind in ("drifting", "crisis", "known_debt"):
        trouble = start + timedelta(days=rng.randint(60, span - 30))
    if person.kind == "crisis":
        crisis = trouble + timedelta(days=rng.randint(90, 300)) if trouble else None  # type: ignore[operator]
    if person.kind == "sudden":
        crisis = start + timedelta(days=rng.randint(200, span))
    if person.kind == "wont_pay":
        trouble = start + timedelta(days=rng.randint(60, span - 60))
    bill_payer = rng.random() < 0.8 or person.kind in ("wont_pay", "known_debt")
    if bill_payer:
        _council_tax(ledger, person, trouble, wont_pay=person.kind in ("wont_pay", "known_debt"))
    if tenant:
        _rent(ledger, trouble, crisis)
    _benefits(ledger, claimant, trouble if person.kind != "wont_pay" else None)
    if rng.random() < 0.55 or trouble is not None:
        _contacts(ledger, trouble if person.kind != "wont_pay" else None)
    _care_and_safety(ledger, person, trouble, crisis)
    return ledger


def _care_and_safety(ledger: _Ledger, person: Resident, trouble: date | None, crisis: date | None) -> None:
    rng = ledger.rng
    age = (ledger.as_of - person.dob).days // 365
    if person.kind == "known_care" or (age > 78 and rng.random() < 0.25):
        first = ledger.day(ledger.start, (ledger.as_of - ledger.start).days)
        ledger.add("adult_social_care", first, "contact", channel="phone")
        if person.kind == "known_care":
            ledger.add("adult_social_care", ledger.day(first, 40), "assessment", channel="visit")
            ledger.add("adult_social_care", ledger.day(first, 90), "care_package_start")
    if trouble is not None and person.kind in ("drifting", "crisis") and rng.random() < 0.3:
        if age < 55:
            ledger.add(
                "childrens_services",
                ledger.day(trouble, 200),
                rng.choice(("early_help_contact", "school_absence_concern")),
            )
        else:
            ledger.add("adult_social_care", ledger.day(trouble, 200), "referral", channel="phone")
    if crisis is not None:
        which = rng.random()
        if which < 0.5:
            ledger.add("homelessness", crisis, "approach", channel="face_to_face")
            ledger.add("homelessness", crisis + timedelta(days=rng.randint(1, 20)), "prevention_duty")
        elif which < 0.75 or age < 50:
            ledger.add("childrens_services", crisis, "referral_accepted")
        else:
            ledger.add("adult_social_care", crisis, "safeguarding_concern", channel="phone")
    if rng.random() < 0.08:
        ledger.add(
            "asb",
            ledger.day(ledger.start, (ledger.as_of - ledger.start).days),
            "noise_complaint",
            channel="phone",
        )
    if person.kind == "known_care" and rng.random() < 0.3:
        ledger.add("asb", ledger.day(ledger.start, 600), "report_as_victim", channel="phone")


# ---------------------------------------------------------------------------------------- identities


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    i = rng.randint(1, len(word) - 2)
    return rng.choice(
        (
            word[:i] + word[i + 1 :],
            word[:i] + word[i + 1] + word[i] + word[i + 2 :],
            word[:i] + word[i] + word[i:],
        )
    )


def _spelled(rng: random.Random, person: Resident, care: float) -> tuple[str, str]:
    """How a system typed this person's name: ``care`` is how often it is exactly right."""
    first, last = person.first, person.last
    roll = rng.random()
    if roll > care:
        what = rng.random()
        if what < 0.35 and first in NICKNAMES:
            first = NICKNAMES[first]
        elif what < 0.65:
            last = _typo(rng, last)
        elif what < 0.8:
            first = _typo(rng, first)
        elif what < 0.9:
            first, last = last, first  # swapped order
        else:
            first, last = first.upper(), last.upper()
    return first, last


def _address(rng: random.Random, home: dict[str, str], style: str) -> str:
    line, street = home["_line"], home["_street"]
    if style == "short":
        for long, short in STREET_SHORT.items():
            street = street.replace(long, short)
        return f"{line} {street}"
    if style == "with_postcode":
        return f"{line} {street}, {TOWN} {home['postcode']}"
    if style == "upper":
        return f"{line}, {street}, {TOWN}".upper()
    return f"{line} {street}, {TOWN}"


def _postcode(rng: random.Random, postcode: str, sloppy: float) -> str:
    if rng.random() < sloppy:
        return rng.choice((postcode.replace(" ", ""), postcode.lower()))
    return postcode


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def _uk(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


@dataclass
class _SourceStyle:
    """How one system records a person: which columns it has, how carefully it types."""

    care: float
    columns: tuple[str, ...]
    address: str
    sloppy_postcode: float = 0.0
    dob_known: float = 1.0


STYLES: dict[str, _SourceStyle] = {
    "council_tax": _SourceStyle(0.93, ("first_name", "last_name", "dob", "phone", "email", "address", "postcode", "uprn"), "plain", dob_known=0.6),
    "housing_rent": _SourceStyle(0.9, ("first_name", "last_name", "dob", "ni_number", "phone", "address", "postcode", "uprn"), "upper"),
    "benefits": _SourceStyle(0.95, ("first_name", "last_name", "dob", "ni_number", "phone", "address", "postcode", "sex", "ethnicity"), "with_postcode"),
    "contact_centre": _SourceStyle(0.7, ("first_name", "last_name", "phone", "email", "address", "postcode"), "short", sloppy_postcode=0.3),
    "adult_social_care": _SourceStyle(0.9, ("first_name", "last_name", "dob", "nhs_number", "phone", "address", "postcode", "sex", "ethnicity"), "plain"),
    "childrens_services": _SourceStyle(0.88, ("first_name", "last_name", "dob", "phone", "address", "postcode"), "plain"),
    "homelessness": _SourceStyle(0.85, ("first_name", "last_name", "dob", "ni_number", "phone", "email", "address", "postcode"), "short"),
    "asb": _SourceStyle(0.75, ("first_name", "last_name", "phone", "address", "postcode"), "short", sloppy_postcode=0.2),
}  # fmt: skip

#: Event columns each system's events file has (beyond the required four).
EVENT_EXTRAS: dict[str, tuple[str, ...]] = {
    "council_tax": ("amount", "channel"),
    "housing_rent": ("amount", "channel"),
    "benefits": ("channel",),
    "contact_centre": ("topic", "channel"),
    "adult_social_care": ("channel",),
    "childrens_services": (),
    "homelessness": ("channel",),
    "asb": ("channel",),
}

#: Housing's own column names (declared in the council folder's mappings.yaml).
HOUSING_PEOPLE = {
    "source_person_id": "Tenancy Ref", "first_name": "Forename", "last_name": "Surname", "dob": "Date of Birth",
    "ni_number": "NI No", "phone": "Tel", "address": "Property Address", "postcode": "Post Code", "uprn": "Property UPRN",
}  # fmt: skip
HOUSING_EVENTS = {
    "event_id": "Trans Ref", "source_person_id": "Tenancy Ref", "event_date": "Trans Date",
    "event_type": "Trans Code", "amount": "Balance", "channel": "Method",
}  # fmt: skip
ID_PREFIX = {
    "council_tax": "CTAX/", "housing_rent": "T", "benefits": "HB", "contact_centre": "CRM-",
    "adult_social_care": "MOSAIC", "childrens_services": "LCS", "homelessness": "HOC", "asb": "ASB-",
}  # fmt: skip


def _person_rows(
    rng: random.Random, source: str, people: list[Resident], gazetteer: list[dict[str, str]]
) -> tuple[list[dict[str, object]], dict[int, list[str]]]:
    """One row per record this system holds; a few people hold two records in one system."""
    style = STYLES[source]
    rows: list[dict[str, object]] = []
    ids: dict[int, list[str]] = {}
    serial = rng.randint(10_000, 50_000)
    for person in people:
        copies = 2 if rng.random() < 0.02 else 1
        for _ in range(copies):
            serial += rng.randint(1, 13)
            record_id = f"{ID_PREFIX[source]}{serial}"
            ids.setdefault(person.key, []).append(record_id)
            home = gazetteer[person.home]
            first, last = _spelled(rng, person, style.care)
            values: dict[str, object] = {
                "source_person_id": record_id,
                "first_name": first,
                "last_name": last,
                "dob": person.dob if rng.random() < style.dob_known else None,
                "ni_number": person.ni if rng.random() < 0.9 else "",
                "nhs_number": person.nhs,
                "phone": person.phone if rng.random() < 0.8 else "",
                "email": person.email if rng.random() < 0.6 else "",
                "address": _address(rng, home, style.address),
                "postcode": _postcode(rng, home["postcode"], style.sloppy_postcode),
                "uprn": home["uprn"] if rng.random() < 0.97 else "",
                "sex": {"F": "Female", "M": "Male"}[person.sex] if source == "benefits" else person.sex,
                "ethnicity": person.ethnicity,
            }
            rows.append({"source_person_id": record_id, **{c: values[c] for c in style.columns}})
    return rows, ids


def _event_rows(
    source: str, stories: dict[int, _Ledger], ids: dict[int, list[str]], rng: random.Random
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    serial = rng.randint(100_000, 400_000)
    for key, ledger in stories.items():
        records = ids.get(key)
        if not records:
            continue
        for event in sorted(ledger.by_source.get(source, []), key=lambda e: e.when):
            serial += rng.randint(1, 5)
            row: dict[str, object] = {
                "event_id": f"E{serial}",
                "source_person_id": records[0] if len(records) == 1 or rng.random() < 0.6 else records[-1],
                "event_date": event.when,
                "event_type": event.event_type,
            }
            for extra in EVENT_EXTRAS[source]:
                row[extra] = getattr(event, extra)
            rows.append(row)
    return rows


# --------------------------------------------------------------------------------------------- writing


def _text_frame(rows: list[dict[str, object]], columns: list[str], dates: str) -> pl.DataFrame:
    """Rows as text columns, dates written the way this system writes them."""
    show = _uk if dates == "uk" else _iso

    def cell(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, date):
            return show(value)
        if isinstance(value, float):
            return f"{value:.2f}"
        return str(value)

    return pl.DataFrame(
        {c: [cell(r.get(c)) for r in rows] for c in columns}, schema=dict.fromkeys(columns, pl.String)
    )


def _write_csv(frame: pl.DataFrame, path: Path, *, crlf: bool = False, bom: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = frame.write_csv(line_terminator="\r\n" if crlf else "\n")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


def _columns(rows: list[dict[str, object]], order: list[str]) -> list[str]:
    present = {c for r in rows for c in r}
    return [c for c in order if c in present]


def _bad_events(
    source: str, rows: list[dict[str, object]], as_of: date, rng: random.Random
) -> list[dict[str, object]]:
    """A handful of rows no system should have sent: ingest must quarantine each one, with its reason."""
    template = dict(rows[len(rows) // 2])
    bad = [
        {**template, "event_id": f"X{rng.randint(10**6, 10**7)}", "event_type": "write_off_adjustment"},
        {**template, "event_id": f"X{rng.randint(10**6, 10**7)}", "source_person_id": "NO-SUCH-RECORD"},
        dict(rows[len(rows) // 3]),  # the same event id twice
        {**template, "event_id": f"X{rng.randint(10**6, 10**7)}", "event_date": as_of + timedelta(days=40)},
        {**template, "event_id": f"X{rng.randint(10**6, 10**7)}", "event_type": None},
    ]
    if source != "council_tax":  # text dates: one that no calendar has
        bad.append({**template, "event_id": f"X{rng.randint(10**6, 10**7)}", "event_date": "31/02/2026"})
    return bad


def write_borough(
    out: str | Path, *, residents: int = 800, years: int = 3, as_of: date = date(2026, 9, 14), seed: int = 7
) -> Borough:
    """Write the extracts under ``out/extracts``; return where, and what went in."""
    rng = random.Random(seed)
    extracts = Path(out) / "extracts"
    start = date(as_of.year - years, as_of.month, 1)
    gazetteer = _gazetteer(rng, homes=int(residents * 0.55))
    people = _residents(rng, residents, gazetteer, as_of)
    council_homes = {h for h in range(len(gazetteer)) if rng.random() < 0.3}
    stories = {
        p.key: _story(rng, p, start, as_of, tenant=p.home in council_homes, claimant=rng.random() < 0.25)
        for p in people
    }
    bad: dict[str, int] = {}
    truth: list[dict[str, object]] = []
    for source in SOURCES:
        holders = [p for p in people if stories[p.key].by_source.get(source)]
        person_rows, ids = _person_rows(rng, source, holders, gazetteer)
        kind_of = {p.key: p.kind for p in holders}
        truth += [
            {"source": source, "source_person_id": record, "resident": key, "kind": kind_of[key]}
            for key, records in ids.items()
            for record in records
        ]
        events = _event_rows(source, stories, ids, rng)
        if source in ("council_tax", "housing_rent", "contact_centre", "benefits"):
            extra = _bad_events(source, events, as_of, rng)
            bad[source] = len(extra)
            events = events + extra
            rng.shuffle(events)
        _write_source(source, extracts, person_rows, events)
    _write_gazetteer(extracts / "gazetteer.csv", gazetteer)
    # Beside the extracts, never in them: which records are whose, and what kind of person.
    pl.DataFrame(truth).write_csv(Path(out) / "truth.csv")
    kinds: dict[str, int] = {}
    for p in people:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    return Borough(extracts=extracts, as_of=as_of, residents=residents, kinds=kinds, bad_rows=bad)


def _write_gazetteer(path: Path, gazetteer: list[dict[str, str]]) -> None:
    columns = ["uprn", "address", "postcode", "ward", "locality"]
    frame = pl.DataFrame({c: [row[c] for row in gazetteer] for c in columns})
    _write_csv(frame, path)


def _write_source(
    source: str, extracts: Path, people: list[dict[str, object]], events: list[dict[str, object]]
) -> None:
    folder = extracts / source
    folder.mkdir(parents=True, exist_ok=True)
    people_order = [
        "source_person_id",
        "first_name",
        "last_name",
        "dob",
        "ni_number",
        "nhs_number",
        "phone",
        "email",
        "address",
        "postcode",
        "uprn",
        "sex",
        "ethnicity",
    ]
    event_order = ["event_id", "source_person_id", "event_date", "event_type", "amount", "topic", "channel"]
    if source == "council_tax":
        _write_parquet(folder, people, events, people_order, event_order)
    elif source == "housing_rent":
        p = _text_frame(people, _columns(people, people_order), "uk").rename(HOUSING_PEOPLE, strict=False)
        e = _text_frame(events, _columns(events, event_order), "uk").rename(HOUSING_EVENTS, strict=False)
        _write_csv(p, folder / "people.csv")
        _write_csv(e, folder / "events.csv")
    elif source == "contact_centre":
        # Another order of columns, CRLF line ends and a byte-order mark, as a CRM's export gives them.
        p_cols = ["last_name", "first_name", "postcode", "address", "email", "phone", "source_person_id"]
        e_cols = ["event_date", "channel", "topic", "event_type", "source_person_id", "event_id"]
        _write_csv(
            _text_frame(people, _columns(people, p_cols), "iso"), folder / "people.csv", crlf=True, bom=True
        )
        _write_csv(
            _text_frame(events, _columns(events, e_cols), "iso"), folder / "events.csv", crlf=True, bom=True
        )
    else:
        _write_csv(_text_frame(people, _columns(people, people_order), "iso"), folder / "people.csv")
        _write_csv(_text_frame(events, _columns(events, event_order), "iso"), folder / "events.csv")


def _write_parquet(
    folder: Path,
    people: list[dict[str, object]],
    events: list[dict[str, object]],
    people_order: list[str],
    event_order: list[str],
) -> None:
    """Council tax's database export: typed columns (dates as dates, event times as
    midnight timestamps, amounts as floats), as pandas or a database tool writes them."""
    p_cols = _columns(people, people_order)
    people_frame = pl.DataFrame(
        {c: [r.get(c) or None for r in people] for c in p_cols},
        schema={c: (pl.Date if c == "dob" else pl.String) for c in p_cols},
    )
    e_cols = _columns(events, event_order)
    schema = {
        c: (pl.Datetime("us") if c == "event_date" else pl.Float64 if c == "amount" else pl.String)
        for c in e_cols
    }
    values = {
        c: [
            datetime(r[c].year, r[c].month, r[c].day)
            if c == "event_date" and isinstance(r.get(c), date)
            else r.get(c)
            for r in events
        ]
        for c in e_cols
    }
    pl.DataFrame(values, schema=schema).write_parquet(folder / "events.parquet")
    people_frame.write_parquet(folder / "people.parquet")


def write_council_folder(folder: str | Path, *, extra: dict[str, str] | None = None) -> Path:
    """Hartwell's configuration folder: its housing export's own column names and date
    format, its localities and their capacities; ``extra`` adds files (name -> text)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    people = "\n".join(f"      {k}: {v!r}" for k, v in HOUSING_PEOPLE.items())
    events = "\n".join(f"      {k}: {v!r}" for k, v in HOUSING_EVENTS.items())
    (folder / "mappings.yaml").write_text(
        "# Hartwell's housing system (rents) exports with its own headings and UK dates.\n"
        f"mappings:\n  housing_rent:\n    date_format: dd/mm/yyyy\n    people:\n{people}\n    events:\n{events}\n",
        encoding="utf-8",
    )
    capacities = "\n".join(f"  {name}: {{capacity: {4 + i % 2}}}" for i, name in enumerate(LOCALITIES))
    (folder / "localities.yaml").write_text(
        f"default_capacity: 3\nlocalities:\n{capacities}\n", encoding="utf-8"
    )
    for name, text in (extra or {}).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder
