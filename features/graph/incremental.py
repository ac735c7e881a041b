"""Tonight's graph features from last night's, rebuilding only the components that changed.

A person's graph features depend only on their person-address component
(their household, its members' contacts, the addresses they hold) and on
which events fall in the window. So a component is rebuilt when any person
in it changed (:mod:`features.incremental`), or when it holds an address a
changed person held last night (someone moving out changes the household
they left), and every other person keeps last night's row. The rebuilt
components are whole, so their features are exactly a full build's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from features.graph.addresses import person_addresses
from features.graph.build import partitions, person_components, person_contacts
from features.graph.features import features_of_partitions


def graph_window_cut(window_days: int) -> int:
    """The graph's one window as an ``age_days <= cut`` comparison: "after as_of - window"."""
    return window_days - 1


@dataclass(frozen=True)
class GraphNight:
    """Graph features, the addresses they were read from (:func:`person_addresses`), and how
    many people were rebuilt."""

    features: pl.DataFrame
    addresses: pl.DataFrame
    recomputed: int
    reused: int


def graph_night(
    persons: pl.DataFrame,
    people: pl.DataFrame,
    events: pl.DataFrame,
    gazetteer: pl.DataFrame,
    as_of: date,
    *,
    services: Sequence[str],
    window_days: int = 365,
    previous: pl.DataFrame | None = None,
    previous_addresses: pl.DataFrame | None = None,
    changed_now: pl.Series | None = None,
    changed_before: pl.Series | None = None,
    reliability: Mapping[str, int] | None = None,
) -> GraphNight:
    """Graph features for every person: all built afresh, or, given last night's
    features and addresses and the people who changed, only the affected components.

    Args:
        changed_now: tonight's person ids whose records, grouping or window changed.
        changed_before: last night's person ids that held any changed record.
        reliability: each source's reliability rank (:func:`person_addresses`).
    """
    addresses = person_addresses(
        persons, people, events, gazetteer, as_of, window_days, reliability=reliability
    )
    contacts = person_contacts(persons, events, as_of, window_days)
    person_ids = persons["person_id"].unique()
    if previous is None or previous_addresses is None or changed_now is None or changed_before is None:
        parts = partitions(person_ids, addresses)
        features = features_of_partitions(parts, addresses, contacts, services)
        return GraphNight(features, addresses, recomputed=person_ids.len(), reused=0)

    left_behind = previous_addresses.filter(pl.col("person_id").is_in(changed_before.implode()))[
        "address_key"
    ]
    touched = addresses.filter(
        pl.col("person_id").is_in(changed_now.implode()) | pl.col("address_key").is_in(left_behind.implode())
    )["person_id"]
    components = person_components(person_ids, addresses)
    new_people = person_ids.filter(~person_ids.is_in(previous["person_id"].implode()))
    dirty = pl.concat([touched, changed_now, new_people]).unique()
    rebuild = components.filter(
        pl.col("component").is_in(
            components.filter(pl.col("person_id").is_in(dirty.implode()))["component"].implode()
        )
    )["person_id"]
    parts = partitions(rebuild, addresses.filter(pl.col("person_id").is_in(rebuild.implode())))
    fresh = features_of_partitions(parts, addresses, contacts, services)
    reused = previous.filter(
        pl.col("person_id").is_in(person_ids.implode()) & ~pl.col("person_id").is_in(rebuild.implode())
    )
    features = pl.concat([fresh, reused.select(fresh.columns).cast(fresh.schema)]).sort("person_id")
    return GraphNight(features, addresses, recomputed=rebuild.len(), reused=reused.height)
