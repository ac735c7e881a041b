"""Window counts: signals per service and per type, groups, channels, recency.

Each family is one filter + one ``group_by("person_id")`` with conditional
sums, which on two cores is many times faster than ``rolling`` or
``group_by_dynamic`` (NOTES.md). Every output column is a count (0, never
null, once joined onto the persons) except the ``days_since_*`` recency
columns, which are null when the person has no such event.
"""

from __future__ import annotations

import polars as pl

from early_warning.config import Config
from features.person_features import catalogue as cat
from features.person_features._events import AGE, within

COUNT = pl.Int32
_SIGNAL = pl.col("role") == "signal"
_N = "_n"
_BUCKET = "_window"


def _count(condition: pl.Expr, name: str) -> pl.Expr:
    """Events meeting ``condition``, summed over the pre-aggregated rows."""
    return pl.when(condition).then(pl.col(_N)).otherwise(0).sum().cast(COUNT).alias(name)


def _in_window(days: int) -> pl.Expr:
    return pl.col(_BUCKET) <= days


def _is_pair(members: frozenset[tuple[str, str]]) -> pl.Expr:
    """True where (source, event_type) is one of ``members``."""
    if not members:
        return pl.lit(False)
    by_source: dict[str, list[str]] = {}
    for source, event_type in sorted(members):
        by_source.setdefault(source, []).append(event_type)
    return pl.any_horizontal(
        [(pl.col("source") == s) & pl.col("event_type").is_in(types) for s, types in by_source.items()]
    )


def _smallest_window(windows: list[int]) -> pl.Expr:
    """The smallest window (days) an event falls in, from its ``age_days``."""
    age = pl.col(AGE)
    expr: pl.Expr = pl.lit(None, dtype=pl.Int16)
    for w in reversed(windows):
        expr = pl.when(age <= w).then(pl.lit(w, dtype=pl.Int16)).otherwise(expr)
    return expr


def window_counts(events: pl.LazyFrame, config: Config) -> pl.LazyFrame:
    """Counts in the 30/90/180/365-day windows, one row per person with any event in 365 days.

    Reads only events at most 365 days before the night, so the work is
    proportional to the last year's events. They are first counted per
    person, source, type, role, channel and smallest window, which shrinks
    the rows several-fold before the hundred or so conditional sums.
    """
    windows = sorted({*cat.WINDOWS, *cat.TYPE_WINDOWS, cat.CHANNEL_DAYS})
    signal_sources = cat.signal_sources(config)
    aggs: list[pl.Expr] = []
    for w in cat.WINDOWS:
        signal_in_window = _SIGNAL & _in_window(w)
        for s in signal_sources:
            aggs.append(_count(signal_in_window & (pl.col("source") == s), cat.signals_by_source(w, s)))
        aggs.append(_count(signal_in_window, cat.signals_total(w)))
    for w in cat.TYPE_WINDOWS:
        for s, t in cat.signal_types(config):
            condition = _SIGNAL & _in_window(w) & (pl.col("source") == s) & (pl.col("event_type") == t)
            aggs.append(_count(condition, cat.signals_by_type(w, s, t)))
    for group in cat.EVENT_GROUPS:
        members = group.present_in(config)
        if not members:
            continue
        for w in cat.WINDOWS:
            aggs.append(_count(_is_pair(members) & _in_window(w), cat.group_count(group, w)))
    with_channel = pl.col("channel").is_not_null() & _in_window(cat.CHANNEL_DAYS)
    aggs.append(_count(with_channel, cat.CONTACTS_WITH_CHANNEL))
    for c in config.channels:
        aggs.append(_count(with_channel & (pl.col("channel") == c), f"_channel_{c}"))
    distinct = [
        pl.sum_horizontal([pl.col(cat.signals_by_source(w, s)) > 0 for s in signal_sources] or [pl.lit(0)])
        .cast(COUNT)
        .alias(cat.distinct_services(w))
        for w in cat.WINDOWS
    ]
    return (
        events.filter(within(windows[-1]))
        .group_by(
            "person_id", "source", "event_type", "role", "channel", _smallest_window(windows).alias(_BUCKET)
        )
        .agg(pl.len().alias(_N))
        .group_by("person_id")
        .agg(aggs)
        .with_columns(distinct)
    )


def finish_window_counts(config: Config) -> list[pl.Expr]:
    """Features derived from the counts once they are joined and zero-filled: trend and channel shares."""
    recent = pl.col(cat.signals_total(cat.RECENT_DAYS)).cast(pl.Float64)
    earlier = pl.col(cat.signals_total(cat.RECENT_DAYS + cat.PRIOR_DAYS)).cast(pl.Float64) - recent
    # Add-one smoothing keeps the ratio finite and calls "nothing then, nothing now" steady (1.0).
    trend = (recent + 1.0) / (earlier * (cat.RECENT_DAYS / cat.PRIOR_DAYS) + 1.0)
    total = pl.col(cat.CONTACTS_WITH_CHANNEL)
    shares = [
        pl.when(total > 0)
        .then(pl.col(f"_channel_{c}") / total)
        .otherwise(0.0)
        .cast(pl.Float64)
        .alias(cat.channel_share(c))
        for c in config.channels
    ]
    return [trend.alias(cat.SIGNAL_TREND), *shares]


def channel_helper_columns(config: Config) -> list[str]:
    return [f"_channel_{c}" for c in config.channels]


def recency(events: pl.LazyFrame) -> pl.LazyFrame:
    """Days since the first and last event (any source) and since the last signal."""
    return events.group_by("person_id").agg(
        pl.col(AGE).max().alias(cat.DAYS_SINCE_FIRST_EVENT),
        pl.col(AGE).min().alias(cat.DAYS_SINCE_LAST_EVENT),
        pl.when(_SIGNAL).then(pl.col(AGE)).min().alias(cat.DAYS_SINCE_LAST_SIGNAL),
    )
