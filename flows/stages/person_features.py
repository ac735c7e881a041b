"""The features stage: canonical events, persons and graph features in; one row of
point-in-time features per person out (:func:`features.person_features.build_person_features`).

Whether an earlier night's features may be reused is decided, and checked,
in :func:`flows.reuse.reused_person_features`.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from early_warning.paths import write_frame
from flows.stages.night import Night


def features_stage(night: Night) -> dict[str, Any]:
    """Point-in-time features per person, with the graph's numeric features joined in.

    After a night with the same configuration, only people whose records, grouping or
    windows changed are recomputed; a sample of the rest is checked against a fresh
    computation, and any difference means everyone is recomputed (:mod:`flows.reuse`)."""
    from features.person_features import build_person_features
    from flows.reuse import record_reuse, reused_person_features

    run = night.run
    graph = pl.scan_parquet(run.graph_features).drop("locality")
    events = pl.scan_parquet(run.canonical_events)
    persons = pl.read_parquet(run.persons)
    table, reuse = reused_person_features(run, night.config, events=events, persons=persons, graph=graph)
    if table is None:
        table = build_person_features(
            events, persons.lazy(), night.as_of, night.config, graph_features=graph
        ).collect()
    record_reuse(run, night.config, "features", reuse)
    return write_features(night, table) | {"reuse": reuse}


def write_features(night: Night, table: pl.DataFrame) -> dict[str, Any]:
    """Write the night's person feature table (also used by the fan-out)."""
    write_frame(table, night.run.features)
    return {"persons": table.height, "features": table.width - 1}
