"""CRM-style sparse records, shared and wrong phone numbers, and record richness.

A contact centre or an anti-social-behaviour team logs a caller on whatever
the caller says: "Dave, on 07700 900123", "Mrs Khan, Acacia Road". Such a
record holds no date of birth, NI or NHS number, and it is the hardest thing
for record linkage to place. The world the product was first tuned on had
none; councils whose contact centre runs a CRM have many. This module turns
a share of a source's records (``GeneratorSettings.record_sparsity``) into
such records, after ``records.people_rows`` has typed them as usual, so the
rest of each record (and every other source) is exactly what it would have
been: a world with sparse records differs from its twin only there.

It also puts two phone traps into ``contact_centre`` and ``asb`` (the
systems that take a number over the phone and never check it):

- a shared line (``shared_phone_share``): a hostel's or a family's landline
  that 5-40 unrelated people give, so a phone match there says nothing;
- a wrong number (``wrong_phone_share``): another resident's number,
  mistyped or a relative's.

``richness`` classifies every record in the extract by what it actually
holds, so linkage accuracy can be reported by record richness (truth column
``person_records.richness``):

- ``full``: a date of birth, NI or NHS number (an identifier to link on),
  whatever else;
- ``name_and_contacts``: first and last name and two or more of phone,
  e-mail, address (an address line or a postcode);
- ``name_plus_one_contact``: first and last name and exactly one of them;
- ``name_only``: first and last name and nothing else;
- ``initial_plus_contact``: a surname with an initial or no first name, and
  at least one contact;
- ``first_name_plus_contact``: a first name without a surname, and at least
  one contact;
- ``contact_only``: no name (at most an initial), and at least one contact;
- ``name_fragment``: anything less (an initial and a surname, nothing else).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from early_warning.synthetic.identity import phone_prefixes
from early_warning.synthetic.noise import format_phone
from early_warning.synthetic.settings import GeneratorSettings

#: sources whose records can carry a shared line or another person's number.
SHARED_PHONE_SOURCES = ("contact_centre", "asb")
#: richness classes, richest first (see the module docstring).
RICHNESS = (
    "full",
    "name_and_contacts",
    "name_plus_one_contact",
    "name_only",
    "initial_plus_contact",
    "first_name_plus_contact",
    "contact_only",
    "name_fragment",
)
#: users of one shared line, inclusive.
SHARED_LINE_USERS = (5, 40)
#: what a sparse record keeps: (name form, contacts kept, weight). Name forms:
#: 0 full name, 1 initial and surname, 2 first name only, 3 no name. Most
#: CRM records are a name and a number; a few are a number alone.
_PATTERNS = (
    (0, 0, 0.08),
    (0, 1, 0.34),
    (0, 2, 0.16),
    (1, 1, 0.12),
    (1, 2, 0.08),
    (2, 1, 0.10),
    (3, 1, 0.12),
)
_POSTCODE = r"(?i),?\s*\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\s*$"
_IDENTIFIERS = ("dob", "ni_number", "nhs_number", "uprn", "sex", "ethnicity")


def phone_overrides(
    rng: np.random.Generator, records: pl.DataFrame, adults: pl.DataFrame, settings: GeneratorSettings
) -> pl.DataFrame | None:
    """Records in ``SHARED_PHONE_SOURCES`` whose phone is not their own.

    ``records`` holds source, true_person_id, source_person_id of the
    records in the extract; ``adults`` true_person_id, phone. Shared lines
    are given per person (a hostel resident gives the hostel's number in
    every call), a wrong number per record. Returns source,
    source_person_id, number (national digits), phone_kind
    (``shared_line`` or ``another_person``); ``None`` when both shares are 0.
    """
    if settings.shared_phone_share <= 0 and settings.wrong_phone_share <= 0:
        return None
    recs = records.filter(pl.col("source").is_in(SHARED_PHONE_SOURCES)).sort("source", "source_person_id")
    people = recs["true_person_id"].unique().sort().to_numpy()
    on_line = people[rng.random(len(people)) < settings.shared_phone_share]
    line_of = _shared_lines(rng, rng.permutation(on_line))
    shared = recs["true_person_id"].is_in(list(line_of)).to_numpy()
    wrong = ~shared & (rng.random(len(recs)) < settings.wrong_phone_share)
    owners = adults.filter(pl.col("phone").is_not_null()).sort("true_person_id")
    owner_id, owner_phone = owners["true_person_id"].to_numpy(), owners["phone"].to_numpy()
    pick = rng.integers(0, max(1, len(owner_id) - 1), len(recs))
    pid = recs["true_person_id"].to_numpy()
    # skip over the record's own entry, so the number is always someone else's
    own = np.searchsorted(owner_id, pid)
    pick = np.where(pick >= own, pick + 1, pick) % max(1, len(owner_id))
    numbers = np.where(
        shared, [line_of.get(int(p), "") for p in pid], owner_phone[pick] if len(owners) else ""
    )
    return (
        recs.with_columns(number=pl.Series(numbers, dtype=pl.String), shared=shared, wrong=wrong)
        .filter(pl.col("shared") | pl.col("wrong"))
        .select(
            "source",
            "source_person_id",
            "number",
            phone_kind=pl.when("shared").then(pl.lit("shared_line")).otherwise(pl.lit("another_person")),
        )
    )


def _shared_lines(rng: np.random.Generator, people: np.ndarray) -> dict[int, str]:
    """Group people onto landlines of 5-40 users each; {person: number}."""
    sizes: list[int] = []
    lo, hi = SHARED_LINE_USERS
    while sum(sizes) < len(people):
        sizes.append(int(rng.integers(lo, hi + 1)))
    if sizes:
        sizes[-1] -= sum(sizes) - len(people)
    if len(sizes) > 1 and sizes[-1] < lo:  # too few for the last line: they join lines with room
        spare = sizes.pop()
        for i in range(len(sizes)):
            room = min(spare, hi - sizes[i])
            sizes[i] += room
            spare -= room
        if spare:
            sizes.append(spare)
    landlines = [p for p in phone_prefixes() if p.startswith(("01", "02"))]  # geographic numbers
    codes: list[int] = rng.choice(len(landlines) * 1000, size=len(sizes), replace=False).tolist()
    numbers = [f"{landlines[c // 1000]}{c % 1000:03d}" for c in codes]
    line = np.repeat(np.arange(len(sizes)), sizes)
    return {int(p): numbers[int(i)] for p, i in zip(people.tolist(), line.tolist(), strict=True)}


def apply_world(
    rng: np.random.Generator,
    source: str,
    people: pl.DataFrame,
    overrides: pl.DataFrame | None,
    phone_style: int,
    settings: GeneratorSettings,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One source's people rows with this world's phone traps and sparse records.

    Returns the rows (same columns, same order) and, per record,
    source_person_id, sparse, phone_kind (``own``, ``shared_line``,
    ``another_person``, null when the record holds no phone) and richness.
    With default settings the rows are returned unchanged.
    """
    kind = pl.when(pl.col("phone").is_not_null()).then(pl.lit("own"))
    if overrides is not None:
        mine = overrides.filter(pl.col("source") == source).select(
            "source_person_id", "number", _kind="phone_kind"
        )
        people = people.join(mine, on="source_person_id", how="left", maintain_order="left")
        formatted = pl.col("number").map_elements(
            lambda n: format_phone(n, phone_style), return_dtype=pl.String
        )
        people = people.with_columns(
            phone=pl.coalesce(formatted, "phone"), _kind=pl.coalesce("_kind", kind)
        ).drop("number")
    else:
        people = people.with_columns(_kind=kind)
    share = settings.sparsity_of(source)
    sparse = np.zeros(len(people), dtype=bool)
    if share > 0:
        people, sparse = _sparsify(rng, people, share)
    people = people.with_columns(_kind=pl.when(pl.col("phone").is_not_null()).then("_kind"))
    info = people.select(
        "source_person_id",
        sparse=pl.Series(sparse),
        phone_kind="_kind",
        richness=richness_expr(),
    )
    return people.drop("_kind"), info


def _sparsify(
    rng: np.random.Generator, people: pl.DataFrame, share: float
) -> tuple[pl.DataFrame, np.ndarray]:
    """Turn ``share`` of the rows into CRM-style records (module docstring)."""
    n = len(people)
    sparse = rng.random(n) < share
    weights = np.array([w for _, _, w in _PATTERNS])
    pattern = rng.choice(len(_PATTERNS), size=n, p=weights / weights.sum())
    name_form = np.array([f for f, _, _ in _PATTERNS])[pattern]
    kept = np.array([c for _, c, _ in _PATTERNS])[pattern]
    held = np.stack(
        [
            people["phone"].is_not_null().to_numpy(),
            people["email"].is_not_null().to_numpy(),
            (people["address"].is_not_null() | people["postcode"].is_not_null()).to_numpy(),
        ],
        axis=1,
    )
    priority = np.where(held, rng.random((n, 3)), np.inf)
    rank = priority.argsort(axis=1).argsort(axis=1)
    keep = held & (rank < kept[:, None])
    name_form = np.where((name_form == 3) & ~keep.any(axis=1), 0, name_form)  # never a blank record
    street_only = rng.random(n) < 0.5
    keep_postcode = rng.random(n) < 0.5
    flags = pl.DataFrame(
        {
            "_s": sparse,
            "_form": name_form,
            "_phone": keep[:, 0],
            "_email": keep[:, 1],
            "_addr": keep[:, 2],
            "_street": street_only,
            "_pc": keep_postcode,
        }
    )
    s = pl.col("_s")
    frame = pl.concat([people, flags], how="horizontal").with_columns(
        first_name=pl.when(s & pl.col("_form").is_in([1]))
        .then(pl.col("first_name").str.slice(0, 1))
        .when(s & pl.col("_form").is_in([3]))
        .then(None)
        .otherwise("first_name"),
        last_name=pl.when(s & pl.col("_form").is_in([2, 3])).then(None).otherwise("last_name"),
        phone=pl.when(s & ~pl.col("_phone")).then(None).otherwise("phone"),
        email=pl.when(s & ~pl.col("_email")).then(None).otherwise("email"),
        address=pl.when(s & ~pl.col("_addr"))
        .then(None)
        .when(s & pl.col("_street"))
        .then(street_only_expr(pl.col("address")))
        .when(s)
        .then(pl.col("address").str.replace(_POSTCODE, ""))
        .otherwise("address"),
        postcode=pl.when(
            s & pl.col("_addr") & (pl.col("_street") & pl.col("_pc") | pl.col("address").is_null())
        )
        .then("postcode")
        .when(s)
        .then(None)
        .otherwise("postcode"),
        **{c: pl.when(s).then(None).otherwise(c) for c in _IDENTIFIERS},
    )
    return frame.drop(flags.columns), sparse


def street_only_expr(address: pl.Expr) -> pl.Expr:
    """An address line without flat, house number and postcode: the street
    (and town, if the system writes it), as a caller gives it."""
    return (
        address.str.replace_all(r"(?i)\bflat\s+\d+\b", "")
        .str.replace(r"^\s*\d+(/\d+)?\s+", "")
        .str.replace(_POSTCODE, "")
        .str.replace_all(r"\s+,", ",")
        .str.replace_all(r",\s*,", ",")
        .str.replace_all(r"\s{2,}", " ")
        .str.strip_chars(" ,")
    )


def richness_expr() -> pl.Expr:
    """The richness class of a people row (``RICHNESS``; module docstring)."""
    first = pl.col("first_name").fill_null("").str.strip_chars(" .")
    last = pl.col("last_name").fill_null("").str.strip_chars()
    has_first = first.str.len_chars() >= 2
    has_last = last.str.len_chars() >= 1
    strong = pl.any_horizontal(pl.col(c).is_not_null() for c in ("dob", "ni_number", "nhs_number"))
    contacts = (
        pl.col("phone").is_not_null().cast(pl.Int8)
        + pl.col("email").is_not_null().cast(pl.Int8)
        + (pl.col("address").is_not_null() | pl.col("postcode").is_not_null()).cast(pl.Int8)
    )
    return (
        pl.when(strong)
        .then(pl.lit("full"))
        .when(has_first & has_last & (contacts >= 2))
        .then(pl.lit("name_and_contacts"))
        .when(has_first & has_last & (contacts == 1))
        .then(pl.lit("name_plus_one_contact"))
        .when(has_first & has_last)
        .then(pl.lit("name_only"))
        .when(has_last & (contacts >= 1))
        .then(pl.lit("initial_plus_contact"))
        .when(has_first & (contacts >= 1))
        .then(pl.lit("first_name_plus_contact"))
        .when(contacts >= 1)
        .then(pl.lit("contact_only"))
        .otherwise(pl.lit("name_fragment"))
    )
