"""UK dates and money, written one way wherever a caseworker reads them.

A reason on the list, a case file's timeline and the review app's pages all
say "2 March 2026" and "£1,234.50"; before this module each wrote its own
(the app with two decimal places always, reasons without pence when there
were none). The rule is GOV.UK's style: no leading zero and the month in full
for dates; a pound sign, commas between thousands, and pence only when there
are some for money ("£75", "£75.50", never "£75.00").

Each rule comes twice, for a Python value and as a polars expression, so that
scoring code can format a column without a Python loop; the tests check the
two agree.

Example:
    >>> from datetime import date
    >>> uk_date(date(2026, 3, 2))
    '2 March 2026'
    >>> uk_month(date(2026, 3, 2)), short_month(date(2026, 3, 2))
    ('March 2026', 'Mar')
    >>> money(1234.5), money(75.0), money(-20)
    ('£1,234.50', '£75', '-£20')
"""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

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


def uk_date(value: date | datetime | str | None) -> str:
    """``2 March 2026``; an ISO date (or date-time) string is read first; nothing is ``""``."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def uk_month(value: date) -> str:
    """``March 2026``: a month as a heading or a chart's caption names it."""
    return f"{MONTHS[value.month - 1]} {value.year}"


def short_month(value: date) -> str:
    """``Mar``: a month under a chart's bar, where the full name does not fit."""
    return MONTHS[value.month - 1][:3]


def uk_date_time(value: datetime | None) -> str:
    """``2 March 2026 at 14:05 UTC`` (the app stores times in UTC and says so)."""
    if value is None:
        return ""
    return f"{uk_date(value)} at {value:%H:%M} UTC"


def uk_date_expr(column: str | pl.Expr) -> pl.Expr:
    """A ``pl.Date`` column as ``2 March 2026``, as :func:`uk_date` writes it."""
    expr = pl.col(column) if isinstance(column, str) else column
    month = (
        expr.dt.month()
        .cast(pl.Int64)
        .replace_strict(list(range(1, 13)), list(MONTHS), return_dtype=pl.String)
    )
    return pl.concat_str(
        [expr.dt.day().cast(pl.String), month, expr.dt.year().cast(pl.String)], separator=" "
    )


def money(value: float | None) -> str:
    """Pounds as ``£1,234``, ``£1,234.50`` or ``-£20`` (pence only when there are some)."""
    if value is None:
        return ""
    pence = round(abs(value) * 100)
    pounds, rest = divmod(pence, 100)
    sign = "-" if value < 0 and pence else ""
    return f"{sign}£{pounds:,}" + (f".{rest:02d}" if rest else "")


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
    """A column of pounds written as :func:`money` writes one value."""
    pence = (amount.abs() * 100).round(0).cast(pl.Int64)
    pounds, rest = pence // 100, pence % 100
    return pl.concat_str(
        [
            pl.when((amount < 0) & (pence > 0)).then(pl.lit("-")).otherwise(pl.lit("")),
            pl.lit("£"),
            _thousands(pounds),
            pl.when(rest != 0).then(pl.lit(".") + rest.cast(pl.String).str.zfill(2)).otherwise(pl.lit("")),
        ]
    )
