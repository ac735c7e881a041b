"""The per-locality stages, one partition at a time: plain functions the fan-out's tasks call.

A *partition* is a set of whole person-address components labelled with the
locality most of its people live in (:func:`features.graph.build.partitions`;
``partitions.parquet`` in the run folder, written by either runner).
Nothing the graph sees crosses a partition (a household, an address, a
family spread over addresses), and person features are per person, so
building each partition on its own and putting the parts together gives
exactly the files the sequential stages write. Scores are per person too,
and the sequential stage scores partition by partition as well (see
:func:`flows.stages.score_stage` for why). Ranking and each locality's
capacity are across the borough, so they happen once, in the route stage
(:func:`flows.route.choose_candidates`).

Files, under ``<home>/runs/<as_of>/parts/`` and rewritten each run:

- ``input/<key>/{persons,people,events}.parquet``: the partition's slice of
  the linkage output and canonical frames, written once so each task (on
  whatever machine) reads only its own people;
- ``graph/``, ``features/``, ``scores/``, ``drivers/``, ``case_files/``:
  ``<key>.parquet`` per partition (case files: per candidate locality).

The combine steps read the parts named in tonight's list (never a folder
listing, so a stale file cannot creep in), concatenate them in name order
and sort as the sequential stage does, then write the usual files through
the same functions (:mod:`flows.stages`). Like every stage they are keyed by
the night, so running one again replaces its output.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from early_warning.paths import write_frame
from flows import route, stages
from flows.stages import Night

_RECORD = ["source", "source_person_id"]


def parts_dir(night: Night) -> Path:
    return night.run.parts_dir


def partition_key(name: str) -> str:
    """A file name for a partition or locality: its name made safe, and a hash so two names never meet."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")[:40] or "partition"
    return f"{safe}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def part_file(night: Night, kind: str, name: str) -> Path:
    return parts_dir(night) / kind / f"{partition_key(name)}.parquet"


def _input(night: Night, partition: str, name: str) -> Path:
    return parts_dir(night) / "input" / partition_key(partition) / name


def _write(frame: pl.DataFrame, path: Path) -> None:
    write_frame(frame, path)


def _combined(night: Night, kind: str, names: Sequence[str]) -> pl.DataFrame:
    """The named parts as one frame sorted by ``person_id``, as the sequential stages sort."""
    return pl.concat([pl.read_parquet(part_file(night, kind, n)) for n in sorted(names)]).sort("person_id")


# --- partition -------------------------------------------------------------------


def partition_stage(night: Night) -> dict[str, Any]:
    """Split tonight's people into locality partitions and write each partition's inputs.

    One pass over the night's frames, so the per-partition tasks never scan the
    whole borough's events (on a cluster: never read them over the network).
    """
    from features.graph.addresses import person_addresses

    persons = pl.read_parquet(night.run.persons)
    people = pl.read_parquet(night.run.canonical_people)
    events = pl.read_parquet(night.run.canonical_events)
    shutil.rmtree(parts_dir(night), ignore_errors=True)
    from features.graph.best_record import source_reliability

    addresses = person_addresses(
        persons,
        people,
        events,
        pl.read_parquet(night.run.canonical_gazetteer),
        night.as_of,
        stages.GRAPH_WINDOW_DAYS,
        reliability=source_reliability(night.config),
    )
    parts = stages.write_partitions(night, persons, addresses)
    # Slices keep the night's row order, so nothing downstream can tell a slice from the whole.
    records = persons.join(parts, on="person_id", maintain_order="left")
    labels = records.select(*_RECORD, "partition")
    for name, frame in (
        ("persons", records),
        ("people", people.join(labels, on=_RECORD, maintain_order="left")),
        ("events", events.join(labels, on=_RECORD, maintain_order="left")),
    ):
        pieces = {str(key[0]): piece for key, piece in frame.partition_by("partition", as_dict=True).items()}
        for partition in parts["partition"].unique():  # every partition, even one with no events
            piece = pieces.get(partition, frame.clear())
            _write(piece.drop("partition"), _input(night, partition, f"{name}.parquet"))
    sizes = parts["partition"].value_counts().sort("partition")
    return {
        "partitions": sizes["partition"].to_list(),
        "persons": dict(sizes.iter_rows()),
    }


# --- graph and features ----------------------------------------------------------


def graph_part(night: Night, partition: str) -> dict[str, Any]:
    """The graph features of one partition's people."""
    from features.graph import build_graph_features
    from features.graph.best_record import source_reliability

    # Column names follow the borough's services, not the partition's.
    sources = pl.scan_parquet(night.run.canonical_people).select("source").unique().collect()
    graph = build_graph_features(
        pl.read_parquet(_input(night, partition, "persons.parquet")),
        pl.read_parquet(_input(night, partition, "people.parquet")),
        pl.read_parquet(_input(night, partition, "events.parquet")),
        pl.read_parquet(night.run.canonical_gazetteer),
        night.as_of,
        services=sorted(sources["source"].to_list()),
        window_days=stages.GRAPH_WINDOW_DAYS,
        reliability=source_reliability(night.config),
    )
    _write(graph, part_file(night, "graph", partition))
    return {"partition": partition, "persons": graph.height}


def combine_graph(night: Night, partitions: Sequence[str]) -> dict[str, Any]:
    """``graph_features.parquet`` and ``localities.parquet``, as the sequential stage writes them."""
    if not partitions:
        return stages.graph_stage(night)
    return stages.write_graph_outputs(night, _combined(night, "graph", partitions))


def features_part(night: Night, partition: str) -> dict[str, Any]:
    """The person features of one partition's people, with their graph features joined in."""
    from features.person_features import build_person_features

    table = build_person_features(
        pl.scan_parquet(_input(night, partition, "events.parquet")),
        pl.scan_parquet(_input(night, partition, "persons.parquet")),
        night.as_of,
        night.config,
        graph_features=pl.scan_parquet(part_file(night, "graph", partition)).drop("locality"),
    ).collect()
    _write(table, part_file(night, "features", partition))
    return {"partition": partition, "persons": table.height}


def combine_features(night: Night, partitions: Sequence[str]) -> dict[str, Any]:
    """``features.parquet``, as the sequential stage writes it."""
    if not partitions:
        return stages.features_stage(night)
    return stages.write_features(night, _combined(night, "features", partitions))


# --- score -----------------------------------------------------------------------


def score_plan(night: Night) -> dict[str, Any]:
    """What every partition's scoring shares: the champion, loaded once in the flow's
    process (so a promotion during the night cannot split the night between two models,
    and workers need no access to the registry), and, for a linear model, the whole
    cohort's typical person its drivers are measured from; and which partitions have
    anyone to score."""
    from models.scoring import linear_centre

    cohort = stages.night_cohort(night)
    model = stages.champion_model(night)
    centre = None
    if model is not None:
        centre = linear_centre(pl.read_parquet(night.run.features), cohort, model)
    return {
        "cohort": cohort.height,
        "partitions": stages.scoring_partitions(night, cohort),
        "model": model,
        "linear_centre": centre,
    }


def score_part(
    night: Night, partition: str, model: stages.RegisteredModel | None, centre: list[list[float]] | None
) -> dict[str, Any]:
    """Score one partition's cohort with the night's model (None: the rules score); write
    its scores and drivers."""
    from models.scoring import score_cohort

    cohort = stages.night_cohort(night, pl.scan_parquet(_input(night, partition, "persons.parquet")))
    scored = score_cohort(
        pl.read_parquet(part_file(night, "features", partition)),
        cohort,
        model,
        night.config,
        rules=stages.night_rules(night),
        linear_centre=centre,
    )
    _write(scored.scores, part_file(night, "scores", partition))
    _write(scored.drivers, part_file(night, "drivers", partition))
    return {
        "partition": partition,
        "scored": scored.scores.height,
        "model_name": scored.model_name,
        "model_version": scored.model_version,
        "model_description": scored.model_description,
        "drivers_source": scored.drivers_source,
        "drivers_description": scored.drivers_description,
        "scorer": scored.scorer,
    }


def combine_scores(night: Night, cohort_size: int, parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Scores and drivers of the whole cohort, ordered as ``score_cohort`` orders them; then
    ranking, capacity, reasons and candidates across the borough, as the sequential stage."""
    from models.scoring import ScoredCohort

    if not parts:  # nobody to score tonight: the sequential stage says so in the same words
        return stages.score_stage(night)
    scored = stages.merge_scored(
        [
            ScoredCohort(
                scores=pl.read_parquet(part_file(night, "scores", p["partition"])),
                drivers=pl.read_parquet(part_file(night, "drivers", p["partition"])),
                **{k: v for k, v in p.items() if k not in ("partition", "scored")},
            )
            for p in parts
        ]
    )
    return stages.write_scores(night, cohort_size, scored)


# --- route -----------------------------------------------------------------------


def choose_candidates(night: Night) -> dict[str, Any]:
    """Who is sent for review tonight, across the borough (:func:`flows.route.choose_candidates`)."""
    return route.choose_candidates(night)


def candidate_localities(night: Night) -> list[str]:
    """The localities of tonight's candidates, in name order: one case-file task each."""
    candidates = pl.read_parquet(night.run.candidates, columns=["locality"])
    return sorted(candidates["locality"].unique().to_list())


def case_files_part(night: Night, locality: str) -> dict[str, Any]:
    """The case files of one locality's candidates.

    They read the whole borough's frames (lazily, only the rows needed): a
    household is found by address and postcode, which may cross partitions.
    """
    candidates = pl.read_parquet(night.run.candidates, columns=["person_id", "locality"])
    ids = candidates.filter(pl.col("locality") == locality)["person_id"]
    files = route.case_files_for(night, ids)
    _write(files, part_file(night, "case_files", locality))
    return {"locality": locality, "case_files": files.height}


def route_combined(night: Night, model_version: str, localities: Sequence[str]) -> dict[str, Any]:
    """Write the queue in one transaction, with the case files built per locality."""
    case_files = _combined(night, "case_files", localities) if localities else None
    return route.route_stage(night, model_version, case_files=case_files, choose=False)
