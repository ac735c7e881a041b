"""Vectorised checks and conversions for single values: blanks, dates, amounts.

Each returns a polars expression, so a whole column is checked at once (no
Python per row). Parsing is deliberately strict: polars' own date parser
accepts ``2024-1-5`` and leading spaces for ``%Y-%m-%d``, so every format is
first matched against an exact pattern, and only matching text is parsed.
"""

from __future__ import annotations

import re

import polars as pl

from early_warning.config import DATE_FORMAT_PATTERNS

ISO_FORMAT = "yyyy-mm-dd"
ISO_LABEL = "YYYY-MM-DD"
_ISO_SHAPE = r"^\d{4}-\d{2}-\d{2}$"
_AMOUNT_SHAPE = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$"


def blank(column: str) -> pl.Expr:
    """True when a required value is missing: null or only whitespace."""
    return pl.col(column).is_null() | (pl.col(column).str.strip_chars() == "")


def date_shape(date_format: str) -> str:
    """A regex for text written in a declared format; day and month may drop a leading zero."""
    pattern = re.escape(date_format)
    for token, shape in (("yyyy", r"\d{4}"), ("dd", r"\d{1,2}"), ("mm", r"\d{1,2}")):
        pattern = pattern.replace(token, shape)
    return f"^{pattern}$"


def expected_dates(date_format: str) -> str:
    """How to describe the accepted formats to a person, e.g. 'dd/mm/yyyy or YYYY-MM-DD'."""
    return ISO_LABEL if date_format == ISO_FORMAT else f"{date_format} or {ISO_LABEL}"


def iso_date(column: str) -> pl.Expr:
    text = pl.col(column)
    return pl.when(text.str.contains(_ISO_SHAPE)).then(text.str.to_date("%Y-%m-%d", strict=False))


def declared_date(column: str, date_format: str) -> pl.Expr:
    text = pl.col(column)
    pattern = DATE_FORMAT_PATTERNS[date_format]
    return pl.when(text.str.contains(date_shape(date_format))).then(text.str.to_date(pattern, strict=False))


def parse_date(column: str, date_format: str = ISO_FORMAT) -> pl.Expr:
    """ISO ``YYYY-MM-DD`` always, plus the source's declared format; null if neither fits."""
    if date_format == ISO_FORMAT:
        return iso_date(column)
    return pl.coalesce(iso_date(column), declared_date(column, date_format))


def date_format_counts(
    frame: pl.DataFrame, column: str, parsed: str, date_format: str = ISO_FORMAT
) -> dict[str, int]:
    """How many values of a date column were written in each accepted format, and how many in none.

    ``parsed`` names the column already holding :func:`parse_date` of ``column``.
    """
    iso = iso_date(column).is_not_null()
    exprs = [iso.sum().alias(ISO_LABEL)]
    if date_format != ISO_FORMAT:
        exprs.append((~iso & pl.col(parsed).is_not_null()).sum().alias(date_format))
    exprs.append((pl.col(column).is_not_null() & pl.col(parsed).is_null()).sum().alias("not a date"))
    counts = frame.select(exprs).row(0, named=True)
    return {name: int(value) for name, value in counts.items()}


def amount_ok(column: str) -> pl.Expr:
    """True for plain decimal text (``-12``, ``1234.56``); no currency signs, commas or exponents."""
    return pl.col(column).str.contains(_AMOUNT_SHAPE)


def parse_amount(column: str) -> pl.Expr:
    return pl.when(amount_ok(column)).then(pl.col(column).cast(pl.Float64, strict=False))
