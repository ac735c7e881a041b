"""Assemble one row of features per person, as of one night."""

from __future__ import annotations

from datetime import date

import polars as pl

from early_warning.config import Config
from features.person_features import catalogue as cat
from features.person_features._arrears import arrears, arrears_helper_columns, finish_arrears
from features.person_features._contacts import repeat_contacts
from features.person_features._counts import (
    channel_helper_columns,
    finish_window_counts,
    recency,
    window_counts,
)
from features.person_features._events import events_as_of, person_ids


def _numeric_graph_columns(graph_features: pl.LazyFrame) -> list[str]:
    schema = graph_features.collect_schema()
    if "person_id" not in schema:
        raise ValueError("graph features must have a person_id column")
    columns = [c for c in schema.names() if c != "person_id"]
    not_numeric = [c for c in columns if not schema[c].is_numeric()]
    if not_numeric:
        raise ValueError(
            "graph features must be numeric (the feature table holds no identifiers or text); "
            f"not numeric: {', '.join(not_numeric)}"
        )
    return columns


def build_person_features(
    events: pl.LazyFrame,
    persons: pl.LazyFrame,
    as_of: date,
    config: Config,
    graph_features: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """Point-in-time features for every person, using only events dated on or before ``as_of``.

    Args:
        events: canonical accepted events (``features.schema.EVENTS_SCHEMA``), any dates;
            events after ``as_of`` are ignored, so adding them changes nothing.
        persons: ``person_id, source, source_person_id`` from linkage; every
            person_id gets exactly one row, even with no events.
        as_of: the night the features describe.
        config: the configuration whose sources, signal types and channels name the features.
        graph_features: optional numeric household/address features keyed by ``person_id``,
            left-joined (null where a person has none).

    Returns:
        A lazy frame of ``person_id`` and the columns of :func:`feature_columns`, sorted by
        ``person_id``. Counts are 0, never null; ``days_since_*`` are null when there was no
        such event. No names, dates of birth, addresses or other identifiers.

    Example:
        >>> feats = build_person_features(events, persons, date(2025, 3, 31), load_config())  # doctest: +SKIP
        >>> feats.select("person_id", "distinct_services_90d").collect()  # doctest: +SKIP
    """
    ev = events_as_of(events, persons, as_of)
    counts = window_counts(ev, config)
    repeats = repeat_contacts(ev)
    count_columns = [
        c for frame in (counts, repeats) for c in frame.collect_schema().names() if c != "person_id"
    ]
    graph_columns = _numeric_graph_columns(graph_features) if graph_features is not None else []

    out = (
        person_ids(persons)
        .join(counts, on="person_id", how="left")
        .join(repeats, on="person_id", how="left")
        .join(recency(ev), on="person_id", how="left")
        .join(arrears(ev, config), on="person_id", how="left")
        .with_columns(pl.col(count_columns).fill_null(0))
        .with_columns(*finish_window_counts(config), *finish_arrears(config))
        .drop(channel_helper_columns(config) + arrears_helper_columns(config))
    )
    if graph_features is not None:
        out = out.join(graph_features.select("person_id", *graph_columns), on="person_id", how="left")
    return out.select("person_id", *cat.feature_columns(config, graph_columns)).sort("person_id")
