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
- ``phone_std`` (digits, +44 written as 0), ``email_std``, ``ni_std``, ``nhs_std``.

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


def address_numbers_expr(tokens: pl.Expr) -> pl.Expr:
    """The tokens that start with a digit ("3", "12", "12a"), as one sorted string."""
    numbers = tokens.list.eval(pl.element().filter(pl.element().str.contains(r"^[0-9]")))
    return _null_if_empty(numbers.list.sort().list.join(" ").fill_null(""))


def _phone_expr() -> pl.Expr:
    digits = pl.col("phone").str.replace_all(r"[^0-9]", "")
    national = (
        pl.when(digits.str.starts_with("44") & (digits.str.len_chars() == 12))
        .then(pl.lit("0") + digits.str.slice(2))
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
        _phone_expr().alias("phone_std"),
        _email_expr().alias("email_std"),
        _code_expr("ni_number", r"[^A-Z0-9]", 5).alias("ni_std"),
        _code_expr("nhs_number", r"[^0-9]", 6).alias("nhs_std"),
    )
    return out.with_columns(address_numbers_expr(pl.col("addr_tokens")).alias("addr_numbers")).collect()
