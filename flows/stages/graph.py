"""The graph stage: persons, canonical frames and the gazetteer in; graph features,
each person's locality and the locality partitions out
(:func:`features.graph.incremental.graph_night`).

Whether an earlier night's graph may be built on is decided in
:func:`flows.reuse.graph_reuse`. The two writers are shared with the fan-out
(:mod:`flows.partitioned`), so both runners write the same files.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from early_warning.paths import write_frame
from flows.stages.night import Night

#: The graph's "in contact" and "recent" window (``build_graph_features``' default).
GRAPH_WINDOW_DAYS = 365


def graph_stage(night: Night) -> dict[str, Any]:
    """Build the person-household-service graph per locality; write graph features and
    localities, and the locality partitions that scoring works through.

    After a night with the same configuration and gazetteer, only the components
    touched by a change are rebuilt (:mod:`flows.reuse`)."""
    from features.graph.best_record import source_reliability
    from features.graph.features import feature_schema
    from features.graph.incremental import graph_night
    from features.incremental import record_fingerprints
    from flows.reuse import graph_reuse, record_reuse

    run = night.run
    persons = pl.read_parquet(run.persons)
    people, events, gazetteer = (
        pl.read_parquet(path)
        for path in (run.canonical_people, run.canonical_events, run.canonical_gazetteer)
    )
    fingerprints = record_fingerprints(people.lazy(), events.lazy())
    write_frame(fingerprints, run.fingerprints)
    services = sorted(people["source"].unique().to_list())
    earlier = graph_reuse(
        run,
        night.config,
        fingerprints=fingerprints,
        persons=persons,
        events=events,
        gazetteer=gazetteer,
        columns=list(feature_schema(services)),
        window_days=GRAPH_WINDOW_DAYS,
    )
    result = graph_night(
        persons,
        people,
        events,
        gazetteer,
        night.as_of,
        services=services,
        window_days=GRAPH_WINDOW_DAYS,
        previous=earlier.previous if earlier else None,
        previous_addresses=earlier.previous_addresses if earlier else None,
        changed_now=earlier.changes.now if earlier else None,
        changed_before=earlier.changes.before if earlier else None,
        reliability=source_reliability(night.config),
    )
    write_frame(result.addresses.select("person_id", "address_key"), run.graph_addresses)
    write_partitions(night, persons, result.addresses)
    reuse = {
        "from": earlier.before.as_of.isoformat() if earlier else None,
        "recomputed": result.recomputed,
        "reused": result.reused,
    }
    record_reuse(run, night.config, "graph", reuse)
    return write_graph_outputs(night, result.features) | {"reuse": reuse}


def write_partitions(night: Night, persons: pl.DataFrame, addresses: pl.DataFrame) -> pl.DataFrame:
    """``partitions.parquet``: each person's locality partition (whole person-address
    components, :func:`features.graph.build.partitions`), sorted by partition and person.
    ``addresses`` is :func:`features.graph.addresses.person_addresses` for the night."""
    from features.graph.build import partitions

    labels = partitions(persons["person_id"], addresses).sort("partition", "person_id")
    write_frame(labels, night.run.partitions)
    return labels


def write_graph_outputs(night: Night, graph: pl.DataFrame) -> dict[str, Any]:
    """Write the night's graph features and each person's locality (also used by the fan-out)."""
    from features.graph import write_graph_features

    write_graph_features(graph, night.run)
    write_frame(graph.select("person_id", "locality"), night.run.localities)
    return {"persons": graph.height, "localities": graph["locality"].n_unique()}
