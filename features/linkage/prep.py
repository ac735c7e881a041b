"""Normalise canonical person records into the columns linkage compares.

The canonical frame keeps text exactly as each system held it (see
``features.schema``); deciding that "12 High St, SW1A1AA" and "12 High Street
SW1A 1AA" are the same address is linkage's business, so it happens here.
Every output column is derived only from the row itself, so preparing a
night's records is a pure, row-wise, deterministic transform.

Prepared columns (empty values become null, so they never "match" as equal):

- ``first_name_std``/``last_name_std``: lower case letters; first name is the
  first given name without a title, surname has no spaces or punctuation.
- ``first_name_canon``: the first name through the nickname table.
- ``first_initial``/``last_initial``: first letters, for blocking.
- ``dob`` (date) and ``dob_y``/``dob_m``/``dob_d`` for the date comparison.
- ``postcode_std`` ("SW1A 1AA"), ``postcode_sector`` ("SW1A 1"),
  ``postcode_district`` ("SW1A"); a non-UK code is kept compact, with no
  sector or district.
- ``uprn_std``; ``addr_tokens`` (sorted distinct address words with common
  abbreviations expanded and the postcode removed) and ``addr_numbers``
  (the numbers in the address, e.g. flat and house number, sorted), which
  makes "Flat 3, 12 High St" and "12 High Street Flat 3" equal.
- ``street_std``: the street's name alone ("high street"), without flat or
  house number, postcode or town, so a caller's "High St" can be compared
  with "Flat 3, 12 High Street, Kingsmere" (see :func:`street_expr`).
- ``phone_std`` (UK national form, see :func:`phone_expr`), ``email_std``,
  ``ni_std``, ``nhs_std``.

Example:
    >>> import polars as pl
    >>> from features.schema import PEOPLE_SCHEMA
    >>> row = {c: None for c in PEOPLE_SCHEMA} | {"address": "Flat 3, 12 High St", "postcode": "sw1a1aa"}
    >>> out = prepare_people(pl.DataFrame([row], schema=PEOPLE_SCHEMA))
    >>> out.select("postcode_std", "addr_numbers").row(0)
    ('SW1A 1AA', '12 3')
"""

from __future__ import annotations

import polars as pl

from features.linkage.nicknames import NICKNAMES

#: Street and address words written in full, so abbreviations compare equal.
ADDRESS_ABBREVIATIONS: dict[str, str] = {
    "rd": "road",
    "st": "street",
    "str": "street",
    "ave": "avenue",
    "av": "avenue",
    "ln": "lane",
    "cl": "close",
    "ct": "court",
    "crt": "court",
    "cres": "crescent",
    "cresc": "crescent",
    "dr": "drive",
    "gdns": "gardens",
    "gdn": "garden",
    "gr": "grove",
    "gro": "grove",
    "pl": "place",
    "sq": "square",
    "ter": "terrace",
    "terr": "terrace",
    "tce": "terrace",
    "pde": "parade",
    "hse": "house",
    "ho": "house",
    "apt": "flat",
    "apartment": "flat",
    "fl": "flat",
    "mt": "mount",
    "pk": "park",
    "wy": "way",
    "est": "estate",
    "nth": "north",
    "sth": "south",
    "cir": "circuit",
    "cct": "circuit",
}

_TITLES = ["mr", "mrs", "ms", "miss", "mx", "dr", "prof", "rev", "sir"]
_UK_POSTCODE = r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$"
_UK_POSTCODE_IN_TEXT = r"(?i)\b[a-z]{1,2}[0-9][a-z0-9]?\s*[0-9][a-z]{2}\b"

#: Columns :func:`prepare_people` adds (besides ``unique_id``).
PREPARED_COLUMNS: tuple[str, ...] = (
    "first_name_std",
    "last_name_std",
    "first_name_canon",
    "first_initial",
    "last_initial",
    "dob",
    "dob_y",
    "dob_m",
    "dob_d",
    "postcode_std",
    "postcode_sector",
    "postcode_district",
    "uprn_std",
    "addr_tokens",
    "addr_numbers",
    "street_std",
    "phone_std",
    "email_std",
    "ni_std",
    "nhs_std",
)


def _null_if_empty(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.str.len_chars() > 0).then(expr).otherwise(None)


def _letters(column: str) -> pl.Expr:
    """Lower case, hyphens and full stops as spaces, anything but letters and spaces dropped."""
    return (
        pl.col(column)
        .str.to_lowercase()
        .str.replace_all(r"[-.,_/]", " ")
        .str.replace_all(r"[^a-z ]", "")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def first_name_expr(column: str = "first_name") -> pl.Expr:
    """First given name, without a leading title ("Mr John Paul" -> "john")."""
    tokens = _letters(column).str.split(" ").list.eval(pl.element().filter(~pl.element().is_in(_TITLES)))
    return _null_if_empty(tokens.list.first().fill_null(""))


def last_name_expr(column: str = "last_name") -> pl.Expr:
    """Surname as one run of letters ("O'Brien" -> "obrien", "Smith-Jones" -> "smithjones")."""
    return _null_if_empty(_letters(column).str.replace_all(" ", ""))


def postcode_expr(column: str = "postcode") -> pl.Expr:
    """UK postcodes as "OUT IN"; anything else upper case without spaces."""
    compact = pl.col(column).str.to_uppercase().str.replace_all(r"[^A-Z0-9]", "")
    uk = compact.str.replace(_UK_POSTCODE, "$1 $2")
    return _null_if_empty(uk)


def address_tokens_expr(column: str = "address") -> pl.Expr:
    """Sorted distinct words of an address, abbreviations expanded, postcode removed."""
    cleaned = (
        pl.col(column)
        .str.replace_all(_UK_POSTCODE_IN_TEXT, " ")
        .str.to_lowercase()
        .str.replace_all(r"[^a-z0-9 ]", " ")
        .str.strip_chars()
    )
    words = cleaned.str.split(" ").list.eval(
        pl.element().filter(pl.element().str.len_chars() > 0).replace(ADDRESS_ABBREVIATIONS)
    )
    tokens = words.list.unique().list.sort()
    return pl.when(tokens.list.len() > 0).then(tokens).otherwise(None)


#: Words that end a street's name ("road", "street"...), as :data:`ADDRESS_ABBREVIATIONS` writes them.
_STREET_KINDS = sorted(
    {v for v in ADDRESS_ABBREVIATIONS.values() if v not in ("flat", "house", "estate", "north", "south")}
    | {"walk", "row", "hill", "rise", "green", "mews", "view", "wharf", "yard"}
)
#: Words that name a flat or unit, with the number that follows them.
_UNIT = r"\b(flat|apartment|apt|unit|room|fl)\s*[0-9]+[a-z]?\b"


def street_expr(column: str = "address") -> pl.Expr:
    """The street's name: the part of the address line that carries the house number.

    An address line is split at commas, the postcode and any "Flat 3" are
    dropped, and the first part that starts with a number ("12 High St") is
    the street; in a line with no such part (a caller's "High Street",
    "Rose Cottage, Mill Lane"), the first part that names a kind of street
    ("lane"), else the first part. Numbers are then
    dropped and abbreviations written in full: "Flat 3, 12 High St,
    Kingsmere", "3/12 High Street" and "high st" all give "high street".
    The town, which some systems append, is a later part and is left out.
    """
    parts = (
        pl.col(column)
        .str.replace_all(_UK_POSTCODE_IN_TEXT, " ")
        .str.to_lowercase()
        .str.replace_all(_UNIT, " ")
        .str.split(",")
        .list.eval(pl.element().str.replace_all(r"[^a-z0-9/ ]", " ").str.strip_chars())
    )
    has_words = pl.element().str.contains(r"[a-z]{2}")
    kind = r"\b(" + "|".join([*_STREET_KINDS, *ADDRESS_ABBREVIATIONS]) + r")\b"
    numbered = parts.list.eval(pl.element().filter(has_words & pl.element().str.contains(r"^[0-9]")))
    named = parts.list.eval(pl.element().filter(pl.element().str.contains(kind)))
    first = parts.list.eval(pl.element().filter(has_words))
    chosen = pl.coalesce(numbered.list.first(), named.list.first(), first.list.first())
    words = chosen.str.split(" ").list.eval(
        pl.element().filter(pl.element().str.contains(r"^[a-z]+$")).replace(ADDRESS_ABBREVIATIONS)
    )
    # A town written without a comma ("12 High Street London") ends after
    # the last word that names a kind of street.
    last_kind = words.list.eval(pl.int_range(pl.len()).filter(pl.element().is_in(_STREET_KINDS)).last())
    street = (
        pl.when(last_kind.list.first().is_not_null())
        .then(words.list.head(last_kind.list.first() + 1))
        .otherwise(words)
    )
    return _null_if_empty(street.list.join(" ").fill_null(""))


def address_numbers_expr(tokens: pl.Expr) -> pl.Expr:
    """The tokens that start with a digit ("3", "12", "12a"), as one sorted string."""
    numbers = tokens.list.eval(pl.element().filter(pl.element().str.contains(r"^[0-9]")))
    return _null_if_empty(numbers.list.sort().list.join(" ").fill_null(""))


def phone_expr(column: str = "phone") -> pl.Expr:
    """A UK phone number in national form: digits only, starting with 0.

    Systems write one number many ways: "07700 900123", "+44 7700 900123",
    "+44 (0)7700 900123", "0044 7700 900123", and a spreadsheet that stored
    it as a number drops the leading 0 ("7700900123"). All become
    "07700900123", so an exact comparison sees one number. (The
    ``phonenumbers`` package would do this and more, but it is not a
    dependency; UK national numbers are all this product meets.) Fewer than
    7 digits is not a number anyone can be reached on: null.
    """
    digits = pl.col(column).str.replace_all(r"[^0-9]", "")
    international = digits.str.replace(r"^00", "")
    n = international.str.len_chars()
    national = (
        pl.when(international.str.starts_with("440") & (n == 13))
        .then(international.str.slice(2))  # +44 (0)...
        .when(international.str.starts_with("44") & (n == 12))
        .then(pl.lit("0") + international.str.slice(2))
        .when(~digits.str.starts_with("0") & (digits.str.len_chars() == 10))
        .then(pl.lit("0") + digits)  # the leading 0 lost
        .otherwise(digits)
    )
    return pl.when(national.str.len_chars() >= 7).then(national).otherwise(None)


def _email_expr() -> pl.Expr:
    email = pl.col("email").str.to_lowercase().str.strip_chars()
    return pl.when(email.str.contains("@")).then(email).otherwise(None)


def _code_expr(column: str, pattern: str, min_len: int) -> pl.Expr:
    code = pl.col(column).str.to_uppercase().str.replace_all(pattern, "")
    return pl.when(code.str.len_chars() >= min_len).then(code).otherwise(None)


def prepare_people(people: pl.DataFrame) -> pl.DataFrame:
    """Add ``unique_id`` (row position, Int64) and the prepared columns.

    Args:
        people: the canonical people frame (``features.schema.PEOPLE_SCHEMA``).

    Returns:
        ``source``, ``source_person_id``, ``unique_id`` and :data:`PREPARED_COLUMNS`,
        in the input's row order. Raw names and addresses are not carried over.
    """
    first = first_name_expr()
    postcode = postcode_expr()
    is_uk = postcode.str.contains(" ")
    out = people.lazy().select(
        pl.col("source"),
        pl.col("source_person_id"),
        pl.int_range(pl.len(), dtype=pl.Int64).alias("unique_id"),
        first.alias("first_name_std"),
        last_name_expr().alias("last_name_std"),
        first.replace(NICKNAMES).alias("first_name_canon"),
        first.str.slice(0, 1).alias("first_initial"),
        last_name_expr().str.slice(0, 1).alias("last_initial"),
        pl.col("dob"),
        pl.col("dob").dt.year().alias("dob_y"),
        pl.col("dob").dt.month().alias("dob_m"),
        pl.col("dob").dt.day().alias("dob_d"),
        postcode.alias("postcode_std"),
        pl.when(is_uk).then(postcode.str.slice(0, postcode.str.len_chars() - 2)).alias("postcode_sector"),
        pl.when(is_uk).then(postcode.str.split(" ").list.first()).alias("postcode_district"),
        _code_expr("uprn", r"[^0-9]", 1).str.strip_chars_start("0").alias("uprn_std"),
        address_tokens_expr().alias("addr_tokens"),
        street_expr().alias("street_std"),
        phone_expr().alias("phone_std"),
        _email_expr().alias("email_std"),
        _code_expr("ni_number", r"[^A-Z0-9]", 5).alias("ni_std"),
        _code_expr("nhs_number", r"[^0-9]", 6).alias("nhs_std"),
    )
    return out.with_columns(address_numbers_expr(pl.col("addr_tokens")).alias("addr_numbers")).collect()
