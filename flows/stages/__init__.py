"""The nightly stages as plain functions, one module per stage: each reads the night's
files, calls one ``features``/``models`` function and writes the night's files.

None of them opens the review queue: that is :mod:`flows.route`'s alone (the
route stage). Whether a stage may reuse an earlier night's work is decided in
:mod:`flows.reuse`, not here; every file is named in
:class:`early_warning.paths.RunPaths` and written atomically.

They take and return small things (a :class:`Night`, counts) so the Prefect
flow in :mod:`flows.nightly` can pass them between tasks cheaply, and they can
be called and tested without Prefect. Every write is keyed by the night
(``<home>/runs/<as_of>/``), so running a stage again replaces its output.

Example:
    >>> night = Night.load(home, date(2026, 11, 22), config_dir)  # doctest: +SKIP
    >>> ingest_stage(night, extracts); link_stage(night); graph_stage(night)  # doctest: +SKIP
    >>> features_stage(night); thresholds_stage(night); score_stage(night)  # doctest: +SKIP
"""

from flows.stages.graph import GRAPH_WINDOW_DAYS, graph_stage, write_graph_outputs, write_partitions
from flows.stages.ingest import ingest_stage
from flows.stages.link import link_stage
from flows.stages.night import Night
from flows.stages.person_features import features_stage, write_features
from flows.stages.score import (
    RegisteredModel,
    champion_model,
    merge_scored,
    night_cohort,
    night_rules,
    score_stage,
    scoring_partitions,
    write_scores,
)
from flows.stages.thresholds import thresholds_stage

__all__ = [
    "GRAPH_WINDOW_DAYS",
    "Night",
    "RegisteredModel",
    "champion_model",
    "features_stage",
    "graph_stage",
    "ingest_stage",
    "link_stage",
    "merge_scored",
    "night_cohort",
    "night_rules",
    "score_stage",
    "scoring_partitions",
    "thresholds_stage",
    "write_features",
    "write_graph_outputs",
    "write_partitions",
    "write_scores",
]
