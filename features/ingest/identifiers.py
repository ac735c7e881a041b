"""Is an optional identifier or contact detail well formed? One polars expression per field.

These decide which optional values ingest blanks (DATA_CONTRACT.md section 4:
a bad optional field costs the field, not the row). Blanking loses evidence
that linkage would otherwise weigh, so every check is deliberately
conservative: it accepts every way a good value is commonly typed and refuses
only text that cannot be the thing it claims to be. Nothing here changes a
value: a value is either kept exactly as held (linkage normalises it later) or
blanked and listed, with the original, in the source's field-quarantine file.

What "malformed" means, per field (case, surrounding whitespace and the
separators people type are ignored everywhere):

- ``ni_number``: not two prefix letters, six digits and an optional suffix
  A-D, ignoring case, spaces and hyphens. The prefix follows HMRC's rules:
  neither letter D, F, I, Q, U or V; the second not O; not BG, GB, KN, NK,
  NT, TN or ZZ (TN marks a temporary reference, shared by people with the
  same birthday, so it would link strangers). A missing suffix is accepted:
  older systems drop it and the prefix and digits identify the person.
- ``nhs_number``: not ten digits (spaces and hyphens ignored), or the
  modulus-11 check digit fails (it catches every single mistyped digit and
  every swap of two neighbouring digits).
- ``postcode``: not the shape of a full UK postcode (outward code, inward
  code of a digit and two letters), or ``GIR 0AA``, ignoring case, spaces
  and hyphens. Only the shape is checked, not that the postcode exists.
- ``phone``: after dropping spaces, hyphens, dots, slashes, brackets and a
  ``(0)`` after the country code, not one of: a UK national number (0 then
  9 or 10 digits, the second digit not 0); +44, 0044 or 44 then 9 or 10
  digits, the first not 0; another country's number written with + or 00
  (7 to 15 digits, the E.164 limit). Letters (``ext 12``, ``mobile``) make
  it malformed. Only the shape is checked: Google's libphonenumber (the
  ``phonenumbers`` package) knows every country's ranges, but it is not a
  dependency of the project (not in ``uv.lock``).
- ``email``: not exactly one ``@`` with something before it and a domain of
  dot-separated parts after it, with no spaces inside.
- ``uprn``: not 1 to 12 digits (a UPRN is a number of at most 12 digits;
  leading zeros are allowed).

Each ``*_ok`` function returns True for a well-formed value and null for a
null one; the caller decides what a blank means. Codes are checked in their
:func:`compact` form and phones as :func:`phone_digits`, which a caller
computes once per column.
"""

from __future__ import annotations

import polars as pl

#: Separators ignored in codes (NI, NHS, postcode): any whitespace and hyphens.
_CODE_SEPARATORS = r"[\s\-]"
_NI = r"^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]?$"
_NI_UNUSED_PREFIXES = ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ")
_POSTCODE = r"^(?:[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}|GIR0AA)$"
_PHONE_SEPARATORS = r"[\s\-./]"
_PHONE_TRUNK_ZERO = r"^((?:\+|00)[0-9]{1,3})\(0\)"
_PHONE_UK_NATIONAL = r"^0[1-9][0-9]{8,9}$"
_PHONE_UK_INTERNATIONAL_PREFIX = r"^(?:\+|00)?44"
_PHONE_UK_INTERNATIONAL = r"^(?:\+|00)?44[1-9][0-9]{8,9}$"
_PHONE_OTHER_INTERNATIONAL = r"^(?:\+|00)[1-9][0-9]{6,14}$"
_EMAIL = r"^[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+$"
_UPRN = r"^[0-9]{1,12}$"


def compact(column: str) -> pl.Expr:
    """A code as compared: upper case, whitespace and hyphens removed (NI, NHS, postcode)."""
    return pl.col(column).str.replace_all(_CODE_SEPARATORS, "").str.to_uppercase()


def phone_digits(column: str = "phone") -> pl.Expr:
    """A phone number without the separators people type, and without a "(0)" after the country code."""
    compacted = pl.col(column).str.replace_all(_PHONE_SEPARATORS, "")
    return compacted.str.replace(_PHONE_TRUNK_ZERO, "${1}").str.replace_all(r"[()]", "")


# The checks take an expression rather than a column name, so that a caller checking a
# whole frame computes each compact form once (as a column) and every rule reads it.


def ni_number_ok(code: pl.Expr) -> pl.Expr:
    """For :func:`compact` text."""
    return code.str.contains(_NI) & ~code.str.slice(0, 2).is_in(list(_NI_UNUSED_PREFIXES))


def nhs_number_shape_ok(code: pl.Expr) -> pl.Expr:
    """Ten digits (for :func:`compact` text)."""
    return code.str.contains(r"^[0-9]{10}$")


def nhs_check_digit_ok(code: pl.Expr) -> pl.Expr:
    """The modulus-11 check digit matches (for :func:`compact` text; null unless ten digits).

    The NHS rule: weight the first nine digits 10 down to 2; the check digit
    is ``11 - sum % 11`` (11 means 0, and 10 means no valid number has these
    nine digits). Equivalently, in one sum over all ten digits: weighted 10
    down to 1 they add up to a multiple of 11 (a tenth digit cannot be 10, so
    the "no valid number" case never passes).
    """
    weighted = pl.sum_horizontal(
        code.str.slice(i, 1).cast(pl.Int64, strict=False) * (10 - i) for i in range(10)
    )
    return pl.when(nhs_number_shape_ok(code)).then(weighted % 11 == 0)


def postcode_ok(code: pl.Expr) -> pl.Expr:
    """For :func:`compact` text."""
    return code.str.contains(_POSTCODE)


def phone_ok(digits: pl.Expr) -> pl.Expr:
    """For :func:`phone_digits` text."""
    uk_international = digits.str.contains(_PHONE_UK_INTERNATIONAL_PREFIX)
    return (
        digits.str.contains(_PHONE_UK_NATIONAL)
        | (uk_international & digits.str.contains(_PHONE_UK_INTERNATIONAL))
        | (~uk_international & digits.str.contains(_PHONE_OTHER_INTERNATIONAL))
    )


def email_ok(text: pl.Expr) -> pl.Expr:
    return text.str.strip_chars().str.contains(_EMAIL)


def uprn_ok(text: pl.Expr) -> pl.Expr:
    return text.str.strip_chars().str.contains(_UPRN)
