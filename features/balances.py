"""The one rule for a person's "latest balance" in a source, used everywhere a balance is read.

A source's ``amount`` is the arrears balance after the event. A person's
balance on a day is the amount of their latest amount-bearing event on or
before that day: **latest by date, then by row in the source file** (ingest
numbers rows uniquely, so two events on one day are ordered as the service
recorded them). The person features (``features.person_features``), the
services' own thresholds (``models.thresholds``) and the reasons a
caseworker reads (``models._reason_sentences``) all order balances by
:func:`balance_order`, so "£640 owed" means the same balance in a feature, a
threshold and a sentence.

Example:
    >>> import polars as pl
    >>> from datetime import date
    >>> ev = pl.DataFrame({"event_date": [date(2026, 3, 1), date(2026, 3, 1)], "row_number": [7, 3],
    ...                    "amount": [250.0, 900.0]})
    >>> ev.select(latest_balance()).item()
    250.0
"""

from __future__ import annotations

import polars as pl


def balance_order() -> pl.Expr:
    """A sortable key: the event's date, then its row in the source file."""
    return pl.col("event_date").cast(pl.Int64) * (1 << 32) + pl.col("row_number").fill_null(0).cast(pl.Int64)


def latest_balance(column: str = "amount", where: pl.Expr | None = None) -> pl.Expr:
    """The ``column`` of the latest event (by :func:`balance_order`), among those meeting ``where``.

    An aggregation: use it in ``agg`` or ``select``; null when no event meets ``where``.
    """
    order = balance_order() if where is None else pl.when(where).then(balance_order())
    return pl.col(column).max_by(order)
