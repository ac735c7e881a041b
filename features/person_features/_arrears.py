"""Arrears level, change and peak for each source that holds arrears.

A source's ``amount`` is the arrears balance after the event. A person's
balance in a source on a day is the amount of their latest amount-bearing
event from that source on or before that day (latest by date, then by the
row in the source file, which ingest numbers uniquely). Across several
records of one person in one source the latest event wins: the one rule of
``features.balances``, which the service thresholds and reasons use too. A person with no balance recorded
has arrears of 0.

Arrears are money owed, so a balance in credit (a negative amount, which
extracts may carry) counts as arrears of 0 in every feature here: someone
going from £200 in credit to £0 owes nothing and their arrears have not
risen; from £200 in credit to £150 owed, they rose by £150 (the rise a
caseworker reads in ``models._reason_sentences``).
"""

from __future__ import annotations

import polars as pl

from early_warning.config import Config
from features.balances import balance_order
from features.person_features import catalogue as cat
from features.person_features._events import AGE

_ORDER = "_order"


def _balance_where(condition: pl.Expr) -> pl.Expr:
    """The balance of the latest amount-bearing event meeting ``condition`` (null if none)."""
    return pl.col("amount").max_by(pl.when(condition).then(pl.col(_ORDER)))


def arrears(events: pl.LazyFrame, config: Config) -> pl.LazyFrame:
    """One row per person with any balance recorded; columns are null where none is known yet."""
    sources = cat.arrears_sources(config)
    aggs: list[pl.Expr] = []
    for s in sources:
        p = cat.arrears_prefix(s)
        in_source = pl.col("source") == s
        aggs.append(_balance_where(in_source).alias(f"{p}_now"))
        for d in cat.ARREARS_CHANGE_DAYS:
            aggs.append(_balance_where(in_source & (pl.col(AGE) >= d)).alias(f"_{p}_{d}d_ago"))
        aggs.append(
            pl.max_horizontal(
                # the balance carried into the window, and every balance set inside it
                _balance_where(in_source & (pl.col(AGE) > cat.ARREARS_MAX_DAYS)),
                pl.when(in_source & (pl.col(AGE) <= cat.ARREARS_MAX_DAYS)).then(pl.col("amount")).max(),
            ).alias(f"{p}_max_{cat.ARREARS_MAX_DAYS}d")
        )
    return (
        events.filter(pl.col("source").is_in(sources) & pl.col("amount").is_not_null())
        .with_columns(balance_order().alias(_ORDER))
        .group_by("person_id")
        .agg(aggs)
    )


def owed(balance: pl.Expr) -> pl.Expr:
    """Arrears from a balance: what is owed, 0 when nothing is known or the account is in credit."""
    return balance.fill_null(0.0).clip(lower_bound=0.0)


def finish_arrears(config: Config) -> list[pl.Expr]:
    """Zero-filled levels and changes of what is owed, once joined onto every person."""
    out: list[pl.Expr] = []
    for s in cat.arrears_sources(config):
        p = cat.arrears_prefix(s)
        now = owed(pl.col(f"{p}_now"))
        out.append(now.alias(f"{p}_now"))
        for d in cat.ARREARS_CHANGE_DAYS:
            out.append((now - owed(pl.col(f"_{p}_{d}d_ago"))).alias(f"{p}_change_{d}d"))
        max_name = f"{p}_max_{cat.ARREARS_MAX_DAYS}d"
        out.append(owed(pl.col(max_name)).alias(max_name))
    return out


def arrears_helper_columns(config: Config) -> list[str]:
    return [
        f"_{cat.arrears_prefix(s)}_{d}d_ago"
        for s in cat.arrears_sources(config)
        for d in cat.ARREARS_CHANGE_DAYS
    ]
