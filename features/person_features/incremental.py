"""Tonight's person features from last night's, recomputing only the people who changed.

A person's features are a function of their events and the night's date
(:mod:`features.person_features._events` is the one place the date enters,
as ``age_days``). For someone whose records, events and grouping are
unchanged and none of whose events crossed a window's edge
(:func:`features.incremental` finds them), every count is the same and every
``days_since_*`` figure is larger by the days between the nights. Everyone
else is computed afresh with :func:`build_person_features`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from early_warning.config import Config
from features.incremental import RECORD_KEY
from features.person_features import catalogue as cat
from features.person_features.build import _numeric_graph_columns, build_person_features


@dataclass(frozen=True)
class IncrementalFeatures:
    """The table, and how many people were computed afresh and reused."""

    table: pl.DataFrame
    recomputed: int
    reused: int


def _fresh(
    events: pl.LazyFrame, persons: pl.DataFrame, people: pl.Series, as_of: date, config: Config
) -> pl.DataFrame:
    mine = persons.filter(pl.col("person_id").is_in(people.implode()))
    records = mine.select(RECORD_KEY).lazy()
    return build_person_features(
        events.join(records, on=RECORD_KEY, how="semi"), mine.lazy(), as_of, config
    ).collect()


def carry_forward(previous: pl.DataFrame, days: int) -> pl.DataFrame:
    """Last night's rows as tonight's, for people nothing happened to: only "days since" grows."""
    return previous.with_columns(pl.col(cat.DAYS_SINCE_FEATURES) + days)


def incremental_person_features(
    events: pl.LazyFrame,
    persons: pl.DataFrame,
    as_of: date,
    config: Config,
    *,
    previous: pl.DataFrame,
    previous_as_of: date,
    changed: pl.Series,
    graph_features: pl.LazyFrame | None = None,
) -> IncrementalFeatures:
    """The same table :func:`build_person_features` makes, reusing last night's rows where it may.

    Args:
        events, persons, as_of, config, graph_features: as for :func:`build_person_features`.
        previous: last night's features table (its graph columns are replaced by tonight's).
        previous_as_of: the night ``previous`` describes (before ``as_of``).
        changed: person ids that must be computed afresh (see :mod:`features.incremental`);
            anyone not in ``previous`` is computed afresh too.
    """
    own_columns = cat.feature_columns(config)
    everyone = persons["person_id"].unique()
    earlier = previous.select("person_id", *own_columns)
    reusable = everyone.filter(
        ~everyone.is_in(changed.implode()) & everyone.is_in(earlier["person_id"].implode())
    )
    fresh_people = everyone.filter(~everyone.is_in(reusable.implode()))
    fresh = _fresh(events, persons, fresh_people, as_of, config)
    reused = carry_forward(
        earlier.filter(pl.col("person_id").is_in(reusable.implode())), (as_of - previous_as_of).days
    )
    table = pl.concat([fresh.select(earlier.columns), reused.cast(fresh.select(earlier.columns).schema)])
    graph_columns: list[str] = []
    if graph_features is not None:
        graph_columns = _numeric_graph_columns(graph_features)
        table = table.join(
            graph_features.select("person_id", *graph_columns).collect(), on="person_id", how="left"
        )
    table = table.select("person_id", *cat.feature_columns(config, graph_columns)).sort("person_id")
    return IncrementalFeatures(table=table, recomputed=fresh_people.len(), reused=reusable.len())


def sample_matches(
    table: pl.DataFrame,
    events: pl.LazyFrame,
    persons: pl.DataFrame,
    as_of: date,
    config: Config,
    people: pl.Series,
) -> bool:
    """Whether ``table``'s own (non-graph) features for ``people`` equal a fresh computation."""
    if people.is_empty():
        return True
    fresh = _fresh(events, persons, people, as_of, config)
    mine = table.filter(pl.col("person_id").is_in(people.implode())).select(fresh.columns).sort("person_id")
    return mine.equals(fresh.sort("person_id"))
